"""The run loop: start what is ready, collect what finished, skip what cannot run.

A ready queue over the graph: every edge is touched once, when its upstream task
finishes; nothing rescans the task list. Attempts go to any
``concurrent.futures.Executor`` as small picklable ``run_attempt`` calls; retries wait
on a timer without holding a worker, and attempts past their timeout are abandoned.
Imports the tasks, the graph, attempts and the report; never ``process`` or a channel.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import queue
import socket
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from processes.attempt import (
    WAKE_UP_SECONDS,
    AttemptOutcome,
    abandon_after,
    await_result,
    failed_attempt,
    interruptible_sleep,
    run_attempt,
    run_guarded_attempt,
    run_within_timeout,
    timed_out,
    wait_for_thread,
)
from processes.capture import Failure, capture_failure, qualified_name, secret_positions
from processes.errors import RunTerminated
from processes.events import EventKind, TaskEvent
from processes.outcome import SkipReason, StopReason, TaskStatus
from processes.redaction import REDACTED, read_environment, remember_secret
from processes.report import ProcessExecutionReport, TaskReportEntry, new_entry
from processes.task import (
    ALL_SUCCEEDED,
    ANY_FAILED,
    Task,
    error_data,
    rules_given,
    utcnow,
)
from processes.tasklog import (
    LOG_FINISHED,
    LOG_RETRYING,
    LOG_STARTING,
    failure_message,
    routing_task_records,
    task_context,
)
from processes.termination import (
    HALTS,
    DeadlinePassed,
    Guard,
    Terminating,
    alarm_after,
    handling_ctrl_c,
    handling_sigterm,
)
from processes.workers import DaemonThreadPool, Result

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Collection, Iterator
    from types import FrameType

    from processes.events import Listener
    from processes.graph import TaskGraph
    from processes.outcome import ErrorData
    from processes.resume import Resumption
    from processes.tasklog import LogFiles

_NEVER = float("inf")
_now = datetime.now  # _now(UTC): the wall clock of entries, without a call in between
_HOST = socket.gethostname()  # read once: a report names the machine it ran on
_ANY_NUMBER_OF_ARGUMENTS = 256  # more than any function has positional parameters
#: How many attempts our pool may hold per worker, begun or queued (see ``_loop``).
_QUEUED_PER_WORKER = 16
_RUN_DEADLINE = -1  # the token of the run's deadline among the attempts' deadlines
_SHORTEST_ALARM_SECONDS = 1e-6  # setitimer(0) would cancel the alarm, not ring it now
_UPSTREAM_FAILED = 1  # a flag in Run.blocked: an upstream task errored or was skipped
# A flag in Run.blocked: the resumed run holds the task's result. It goes down the
# path of tasks that are not started, which reuses it if its rule lets it start.
_REUSED = 2
_HAS_RULE = 4  # a flag in Run.blocked: the task's run_when is not "all_succeeded"
_SKIPPED_BY = {
    StopReason.FAIL_FAST: SkipReason.FAIL_FAST,
    StopReason.DEADLINE: SkipReason.DEADLINE,
    StopReason.INTERRUPTED: SkipReason.INTERRUPTED,
    StopReason.TERMINATED: SkipReason.TERMINATED,
}


class _TaskState:
    """What the loop knows of one task during a run."""

    __slots__ = (
        "args",
        "attempt_errors",
        "attempts",
        "failure",
        "handler",
        "kwargs",
        "logger",
        "started_at",
        "started_perf",
    )

    def __init__(self) -> None:
        self.attempts = 0
        self.attempt_errors: tuple[str, ...] = ()  # grows only on failures
        self.args: tuple[Any, ...] = ()
        self.kwargs: dict[str, Any] = {}
        self.logger: logging.Logger | None = None
        self.handler: logging.Handler | None = None  # the task's log file, while it runs
        self.failure: Failure | None = None  # the last failed attempt's record
        self.started_at: datetime | None = None
        self.started_perf = 0.0


class Run:
    """One execution of a process's tasks; ``execute_*()`` returns its report."""

    def __init__(
        self,
        tasks: list[Task],
        graph: TaskGraph,
        logs: LogFiles,
        process_name: str,
        *,
        fail_fast: bool = False,
        on_event: Listener | None = None,
        sleep: Callable[[float], None] = interruptible_sleep,
        resume: Resumption | None = None,
        deadline: float | None = None,
    ) -> None:
        self.tasks = tasks
        self.graph = graph
        self.logs = logs
        self.process_name = process_name
        self.fail_fast = fail_fast
        self.on_event = on_event
        self.sleep = sleep
        self.deadline_seconds = deadline
        self.deadline_at = _NEVER  # on the perf_counter clock, from the run's start
        self.started_perf = 0.0
        # Upstream tasks not finished yet, counted on the graph the process validated.
        self.waiting = [len(upstreams) for upstreams in graph.upstreams]
        # Flags: _UPSTREAM_FAILED, _REUSED, _HAS_RULE. A task with a flag set is looked at
        # before it starts (``_gate``); the others start as soon as they are ready.
        self.blocked = bytearray(len(tasks))
        # The tasks whose run_when is not the default, with theirs: looked for only once
        # some task was given one.
        self.rules: dict[int, str] = {}
        if rules_given():
            for i, task in enumerate(tasks):
                if task.run_when is not ALL_SUCCEEDED:
                    self.rules[i] = task.run_when
                    self.blocked[i] |= _HAS_RULE
        # For a task an upstream failure reached: the errored task at its root, the
        # earliest in topological order when several are (filled only on failures).
        self.causes: dict[int, int] = {}
        # A task's state from its start until its entry is written.
        self.states: list[_TaskState | None] = [None] * len(tasks)
        self.results: list[Any] = [None] * len(tasks)
        self.entries: list[TaskReportEntry | None] = [None] * len(tasks)
        # Set once nothing new may start (for tasks with a rule, under fail-fast, only
        # what their rule says); ``stopped_by`` says why.
        self.stopping = False
        # A parallel run on our own pool: the pool, the tokens of attempts queued in it
        # (submitted while every worker had one), and those SIGTERM took back.
        self.pool: DaemonThreadPool | None = None
        self.queued: set[int] = set()
        self.taken_back: set[int] = set()
        self.stopped_by: StopReason | None = None
        # Open while a task's code runs in a sequential run's thread: only there may a
        # signal raise (``execute_sequentially``).
        self.guard = Guard()
        # A sequential run's deadline is enforced by SIGALRM in the calling thread, where
        # the platform and the script let it be (``alarm_after``); else by helper threads.
        self.alarmed = False
        # Tasks whose upstream tasks all finished, by topological position: a heap.
        self.ready = [i for i, waiting in enumerate(self.waiting) if waiting == 0]
        self.has_log_files = any(task.log_path is not None for task in tasks)
        # Read from the lists the process checked against the graph when the run began,
        # once: a list changed in place during the run is never read again by it (and
        # only as far as the graph goes), and the change counts from the next run.
        self.inputs = _Inputs(tasks, graph)
        self.secret_results = self.inputs.secret_results
        # Tasks whose entry shows a result other than the object itself (scrubbed or
        # hidden): their dependants' inputs are shown as those entries show them.
        self.shown_otherwise: set[int] = set()
        # Read once per run, not per attempt: whether nothing watches a task's attempts
        # (no timeout, log file or handler).
        self.unwatched = bytearray(map(Task.is_unwatched, tasks))
        # Resuming: the result and earlier entry of each task not to run again, and why
        # the other successes of that run run again.
        self.reused: dict[int, tuple[Any, TaskReportEntry]] = {}
        self.rerun_reasons: dict[int, str] = {}
        if resume is not None:
            self._take_over(resume)
        read_environment()  # its secret values, for every task's failures, args and results

    # -- the two loops --------------------------------------------------------------------

    def execute_sequentially(self) -> ProcessExecutionReport:
        """Run one attempt at a time, in topological order, in the calling thread.

        A retry waits on a timer while the tasks that are ready run, as in a parallel run.
        The loop keeps time by what it did (attempts and sleeps), so a retry waits what
        is left of its delay after the attempts that ran meanwhile, and exactly its delay
        when none did.
        """
        started_at = utcnow()
        self._start_clock()
        # With a deadline the attempts run in this thread, stopped by SIGALRM when it
        # passes, or where that cannot be (not the main thread, not POSIX, SIGALRM the
        # script's) each in a helper thread that can be abandoned (``_attempt_here``).
        quiet = self.on_event is None and self.deadline_seconds is None
        ready = self.ready
        retries: list[tuple[float, int, int, float, float]] = []  # due, seq, i, delay, since
        clock = 0.0  # seconds spent in attempts and sleeps
        sequence = itertools.count()
        attempting: tuple[int, ...] = ()  # the task whose attempt runs, for Ctrl-C
        sleeping = False  # waiting for a retry
        guard = self.guard

        # Ctrl-C and SIGTERM stop a task's code (its attempt runs in this thread, or this
        # thread waits for it) or a wait for a retry there and then. A task that swallows
        # the exception ends anyway. Elsewhere the loop is keeping its books: they are
        # left whole, and the loop stops at its next step (``_gate``), or a task about to
        # begin stops there (``Guard``).
        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            self._stop(StopReason.TERMINATED)
            if sleeping:
                raise Terminating
            guard.halt(Terminating)

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            self._stop(StopReason.INTERRUPTED)
            if sleeping:
                raise KeyboardInterrupt
            guard.halt(KeyboardInterrupt)

        def on_sigalrm(signum: int, frame: FrameType | None) -> None:
            # The deadline stops the task's code it lands in; anywhere else the loop
            # finds it has passed before the next attempt (``_attempt_here``).
            guard.halt(DeadlinePassed)

        with (
            self._routing(in_this_process=True),
            handling_sigterm(on_sigterm),
            handling_ctrl_c(on_sigint),
            self._deadline_alarm(on_sigalrm),
        ):
            try:
                while ready or retries:
                    if ready and not (retries and retries[0][0] <= clock):
                        i = heapq.heappop(ready)
                        if (self.blocked[i] or self.stopping) and not self._gate(i):
                            continue
                        task = self.tasks[i]
                        began = time.perf_counter()
                        attempting = (i,)
                        if quiet and self.unwatched[i]:
                            delay = self._run_quietly(i, task)
                        else:
                            delay = self._attempt_here(i)
                    else:
                        _, _, i, delay, since = heapq.heappop(retries)
                        if self.stopping and not self._retries_while_stopping(i):
                            self._halt_if_signalled()
                            self._fail(i, self._last_failure(i))  # the retry is given up
                            continue
                        left = delay - (clock - since)
                        if left > 0:
                            wait = min(left, self._seconds_to_deadline())
                            sleeping = True
                            self._halt_if_signalled()  # it came just before: no wait
                            self.sleep(wait)
                            sleeping = False
                            clock += wait
                            if wait < left:  # the run's deadline passed first
                                self._stop(StopReason.DEADLINE)
                                self._fail(i, self._last_failure(i))
                                continue
                        began = time.perf_counter()
                        attempting = (i,)
                        delay = self._attempt_here(i)
                    attempting = ()
                    clock += time.perf_counter() - began
                    if delay is not None:
                        heapq.heappush(retries, (clock + delay, next(sequence), i, delay, clock))
            except HALTS as halt:
                cut_off, attempting, sleeping = attempting, (), False  # a second signal waits
                guard.is_open = False
                if isinstance(halt, KeyboardInterrupt):
                    raise self._interrupted(halt, started_at, cut_off) from None
                raise self._terminated(started_at, cut_off) from None
        # The signal came after the last start, while the loop kept its books.
        if self.stopped_by is StopReason.TERMINATED:
            raise self._terminated(started_at, ())
        if self.stopped_by is StopReason.INTERRUPTED:
            raise self._interrupted(KeyboardInterrupt(), started_at, ())
        return self._report(started_at)

    def _attempt_here(self, i: int) -> float | None:
        """One attempt in this thread; return the retry delay, or None when the task is done."""
        task = self.tasks[i]
        if self.deadline_at < _NEVER and time.perf_counter() >= self.deadline_at:
            self._too_late(i)
            return None
        state = self.states[i] or self._begin(i)
        self._attempt_started(i)
        if self.deadline_at < _NEVER and not self.alarmed:
            return self._settle(i, self._run_before_deadline(task, state))
        guard = self.guard
        guard.raised = None
        began = time.perf_counter()
        outcome: AttemptOutcome | None = None
        with contextlib.suppress(DeadlinePassed):
            outcome = run_within_timeout(
                task.func, state.args, state.kwargs, task.capture_settings, state.handler, guard
            )
        if outcome is None or guard.raised is DeadlinePassed:  # even if the task swallowed it
            self._stop(StopReason.DEADLINE)
            # Raised in its code in this thread, or in the wait for its helper thread.
            fate = "stopped" if task.capture_settings.timeout_seconds is None else "abandoned"
            outcome = self._past_deadline(time.perf_counter() - began, fate)
        return self._settle(i, outcome)

    @contextlib.contextmanager
    def _deadline_alarm(self, on_alarm: Callable[[int, FrameType | None], None]) -> Iterator[None]:
        """SIGALRM at the run's deadline while the block runs, where it can be set."""
        if self.deadline_at == _NEVER:
            yield
            return
        seconds = max(self.deadline_at - time.perf_counter(), _SHORTEST_ALARM_SECONDS)
        with alarm_after(seconds, on_alarm) as self.alarmed:
            yield

    def _run_before_deadline(self, task: Task, state: _TaskState) -> AttemptOutcome:
        """One attempt in a helper thread, abandoned at its timeout or at the run's
        deadline, whichever comes first (``run_within_timeout`` with two limits)."""
        settings = task.capture_settings
        box: list[AttemptOutcome] = []
        started = time.perf_counter()
        worker = threading.Thread(
            target=lambda: box.append(
                run_attempt(task.func, state.args, state.kwargs, settings, state.handler)
            ),
            name=f"processes-attempt-{task.name}",
            daemon=True,
        )
        worker.start()
        left = self.deadline_at - started
        timeout = settings.timeout_seconds
        limit = left if timeout is None else min(left, abandon_after(task.func, timeout))
        try:  # waiting for the task's code: a signal stops the wait, the thread is abandoned
            self.guard.enter()
            wait_for_thread(worker, limit)
        finally:
            self.guard.is_open = False
        if box:
            return box[0]
        elapsed = time.perf_counter() - started
        if limit < left:
            return timed_out(settings, elapsed)
        self._stop(StopReason.DEADLINE)
        return self._past_deadline(elapsed)

    def _too_late(self, i: int) -> None:
        """Task ``i`` was to start (or retry) after the run's deadline: it never does."""
        self._stop(StopReason.DEADLINE)
        if self.states[i] is None:
            self._skip(i, *(self._why_not(i) or (SkipReason.DEADLINE, None)))
        else:
            self._fail(i, self._last_failure(i))

    def _seconds_to_deadline(self) -> float:
        if self.deadline_at == _NEVER:
            return _NEVER
        return max(self.deadline_at - time.perf_counter(), 0.0)

    def execute_in_parallel(
        self, workers: int, executor: Executor | None = None
    ) -> ProcessExecutionReport:
        """Run up to ``workers`` attempts at once on ``executor`` (a pool of ours if None)."""
        started_at = utcnow()
        self._start_clock()
        finished: queue.SimpleQueue[Result] = queue.SimpleQueue()
        own = self.pool = DaemonThreadPool(workers, finished) if executor is None else None
        in_this_process = executor is None or isinstance(executor, ThreadPoolExecutor)
        try:
            with self._routing(in_this_process), handling_sigterm(self._on_sigterm):
                report = self._loop(own, executor, finished, workers, started_at, in_this_process)
        finally:
            if own is not None:
                own.shutdown()
        if self.stopped_by is StopReason.TERMINATED:  # it came as the last tasks finished
            raise self._terminated(started_at, ())
        return report

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        # This thread only waits and keeps the books here: the loop sees the flag when it
        # next wakes (within WAKE_UP_SECONDS) and stops itself. The calls queued in our
        # pool are taken back now, so that none begins meanwhile.
        self._stop(StopReason.TERMINATED)
        pool = self.pool
        if pool is not None:
            for token in list(self.queued):
                if pool.cancel(token):
                    self.taken_back.add(token)

    def _loop(
        self,
        own: DaemonThreadPool | None,
        executor: Executor | None,
        finished: queue.SimpleQueue[Result],
        workers: int,
        started_at: datetime,
        in_this_process: bool,
    ) -> ProcessExecutionReport:
        running: dict[int, tuple[int, float]] = {}  # attempt token -> task, start time
        futures: dict[int, Future[AttemptOutcome]] = {}  # a foreign executor's, by token
        # (deadline, token): our pool's attempts' timeouts, and the run's own deadline
        deadlines: list[tuple[float, int]] = []
        if self.deadline_at < _NEVER:
            deadlines.append((self.deadline_at, _RUN_DEADLINE))
        retry_timers: list[tuple[float, int, int]] = []
        retry_ready: deque[int] = deque()
        ready = self.ready
        tokens = itertools.count()
        route = self.has_log_files and in_this_process
        # Our pool may hold more attempts than it has workers, queued, where nothing
        # depends on when they begin: attempts of tasks nobody watches (no timeout, log
        # output or listener), in runs without fail-fast (whose first error stops every
        # start after it). A worker then takes the next one as soon as it is free, without
        # waiting for this thread; where an attempt begins, its start is recorded.
        queueing = own is not None and not self.fail_fast and self.on_event is None
        room = workers * _QUEUED_PER_WORKER if queueing else workers
        queued = self.queued  # tokens submitted while every worker had one

        def start(i: int) -> None:
            task = self.tasks[i]
            state = self._state(i)
            self._attempt_started(i)
            handler = state.handler if route else None
            token = next(tokens)
            now = time.perf_counter()
            if len(running) >= workers:
                queued.add(token)
            running[token] = (i, now)  # before submitting: the result may come at once
            try:
                if own is not None:
                    own.submit(
                        token,
                        run_attempt,
                        task.func,
                        state.args,
                        state.kwargs,
                        task.capture_settings,
                        handler,
                    )
                else:
                    assert executor is not None
                    future = executor.submit(
                        run_guarded_attempt,
                        task.func,
                        state.args,
                        state.kwargs,
                        task.capture_settings,
                        uuid.uuid4().hex,
                        in_this_process,
                        handler,
                    )
                    futures[token] = future
                    future.add_done_callback(functools.partial(_deliver, finished, token))
            except Exception as exc:  # e.g. a foreign executor that was shut down
                del running[token]
                settle(i, _executor_failure(task, exc, 0.0))
                return
            if own is not None and task.timeout is not None:
                # Our pool starts an attempt as soon as it is submitted (never more
                # attempts than workers), so its deadline counts from now. Foreign
                # executors may queue it: the attempt keeps its own time there.
                deadline = now + abandon_after(task.func, task.timeout)
                heapq.heappush(deadlines, (deadline, token))

        def settle(i: int, outcome: AttemptOutcome) -> None:
            delay = self._settle(i, outcome)
            if delay is None:
                return
            if delay > 0:
                heapq.heappush(retry_timers, (time.perf_counter() + delay, next(tokens), i))
            else:
                retry_ready.append(i)

        def abandon(token: int) -> None:
            if own is not None:
                own.abandon(token)
            else:  # a foreign executor's worker cannot be reclaimed; stop waiting for it
                futures.pop(token).cancel()

        def take_back() -> None:
            """The run stops: the attempts no worker has begun never will, and their
            tasks are as if never started. Done before any worker is abandoned: the
            worker replacing it would take the next queued attempt at once."""
            for token, (i, _) in list(running.items()):
                if token in self.taken_back or (own is not None and own.cancel(token)):
                    del running[token]
                    queued.discard(token)
                    unstart(i)

        # A success nobody watches is released at once, so that its dependants are
        # submitted before its entry is written: the entry is written while a worker
        # wakes up for them, before this thread waits again (``write_entries``).
        deferring = self.on_event is None
        unwritten: list[int] = []

        def write_entries() -> None:
            for i in unwritten:
                if self.entries[i] is None:  # (twice only after an interruption)
                    self._write_success(i)
            unwritten.clear()

        def unstart(i: int) -> None:
            """Task ``i``'s attempt never began: as if it had not been started."""
            if self._state(i).attempts == 0:  # the gate decides again (the run stops)
                self.states[i] = None
                heapq.heappush(ready, i)
            else:  # its retry waits again (and is given up, as the run stops)
                retry_ready.appendleft(i)

        try:
            while True:
                while retry_ready or ready:
                    i = retry_ready[0] if retry_ready else ready[0]
                    if len(running) >= workers and not (
                        len(running) < room and self.unwatched[i] and not self.stopping
                    ):
                        break
                    if retry_ready:
                        retry_ready.popleft()
                    else:
                        heapq.heappop(ready)
                    if self.states[i] is None:
                        if (self.blocked[i] or self.stopping) and not self._gate(i):
                            continue
                        self._begin(i)
                    start(i)
                if unwritten:
                    write_entries()
                if not running and not retry_timers:
                    break
                # Never wait long: Ctrl-C delivered to another thread waits for this one.
                timeout = WAKE_UP_SECONDS
                if deadlines or retry_timers:
                    wake = min(
                        deadlines[0][0] if deadlines else _NEVER,
                        retry_timers[0][0] if retry_timers else _NEVER,
                    )
                    timeout = min(max(wake - time.perf_counter(), 0.0), WAKE_UP_SECONDS)
                try:
                    arrived = [finished.get(timeout=timeout)]
                except queue.Empty:
                    arrived = []
                # Everything that finished before the deadlines are looked at: an attempt
                # done in time must not lose to its own deadline while it waits in the queue.
                while arrived:
                    token, payload, began = arrived.pop()
                    if token in running:
                        i, begun = running.pop(token)
                        if futures:
                            futures.pop(token, None)
                        if queued and token in queued:
                            queued.discard(token)
                            self._began_late(i, began)
                        if type(payload) is not AttemptOutcome:
                            payload = _outcome_of(self.tasks[i], payload, begun)
                        if deferring and payload.failure is None and self.unwatched[i]:
                            self._succeeded(i, payload.value)
                            unwritten.append(i)
                        else:
                            settle(i, payload)
                    if not finished.empty():
                        arrived.append(finished.get_nowait())
                now = time.perf_counter()
                while deadlines and deadlines[0][0] <= now:
                    token = heapq.heappop(deadlines)[1]
                    if token in running:
                        i, begun = running.pop(token)
                        abandon(token)
                        settle(i, timed_out(self.tasks[i].capture_settings, now - begun))
                    elif token == _RUN_DEADLINE:  # nothing new starts; the running end now
                        self._stop(StopReason.DEADLINE)
                        take_back()
                        for cut, (i, begun) in list(running.items()):
                            del running[cut]
                            abandon(cut)
                            settle(i, self._past_deadline(now - begun))
                while retry_timers and retry_timers[0][0] <= now:
                    retry_ready.append(heapq.heappop(retry_timers)[2])
                if self.stopping:
                    self._halt_if_signalled()
                    if retry_ready or retry_timers:
                        self._give_up_retries(retry_ready, retry_timers)
        except HALTS as halt:
            write_entries()
            take_back()
            for token in list(running):
                abandon(token)
            cut_off = {i for i, _ in running.values()}
            if isinstance(halt, KeyboardInterrupt):
                raise self._interrupted(halt, started_at, cut_off) from None
            raise self._terminated(started_at, cut_off) from None
        return self._report(started_at)

    def _succeeded(self, i: int, value: Any) -> None:
        """Task ``i``, which nobody watches, succeeded: release its dependants now; its
        entry is written by ``_write_success`` before the loop next waits."""
        self._state(i).attempts += 1
        self.results[i] = value
        self._release(i, blocked=False)

    def _write_success(self, i: int) -> None:
        state = self._state(i)
        self.entries[i] = self._entry(
            i,
            TaskStatus.SUCCESS,
            self._shown_inputs(i, state.args, state.kwargs),
            time.perf_counter() - state.started_perf,
            state.attempts,
            self.results[i],
            None,
            state.started_at,
            state.attempt_errors,
        )
        self.states[i] = None

    def _began_late(self, i: int, began: float) -> None:
        """Task ``i``'s first attempt waited in our pool's queue: it started at ``began``."""
        state = self._state(i)
        if state.attempts == 0 and began > state.started_perf:
            assert state.started_at is not None
            state.started_at += timedelta(seconds=began - state.started_perf)
            state.started_perf = began

    def _give_up_retries(self, ready: deque[int], timers: list[tuple[float, int, int]]) -> None:
        """The run stopped: retries that were waiting end with their last failure (under
        fail-fast, those of tasks with a rule go on)."""
        keeps = self._retries_while_stopping
        given_up = [i for i in ready if not keeps(i)]
        given_up += [timer[2] for timer in timers if not keeps(timer[2])]
        if not given_up:
            return
        kept = [i for i in ready if keeps(i)]
        ready.clear()
        ready.extend(kept)
        timers[:] = [timer for timer in timers if keeps(timer[2])]
        heapq.heapify(timers)
        for i in given_up:
            self._fail(i, self._last_failure(i))

    # -- one task's life ------------------------------------------------------------------

    def _state(self, i: int) -> _TaskState:
        state = self.states[i]
        assert state is not None, "a task has a state from its start on"
        return state

    def _inputs(self, i: int, task: Task) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The task's own arguments, plus the upstream results it asked for."""
        args = task.args
        kwargs = task.kwargs
        results = self.results
        if positional := self.inputs.by_position[i]:
            if len(positional) == 1:
                args = (*args, results[positional[0]])
            else:
                args = (*args, *[results[up] for up in positional])
        if named := self.inputs.by_name.get(i):
            kwargs = dict(kwargs)
            for name, up in named:
                kwargs[name] = results[up]
        return args, kwargs

    def _entry(
        self,
        i: int,
        status: TaskStatus,
        shown_inputs: tuple[tuple[Any, ...], dict[str, Any]],
        elapsed_seconds: float,
        attempts: int,
        result: Any,
        error: ErrorData | None,
        started_at: datetime | None,
        attempt_errors: tuple[str, ...],
    ) -> TaskReportEntry:
        """Task ``i``'s report entry, with its inputs as ``_shown_inputs`` shows them."""
        task = self.tasks[i]
        if i in self.secret_results:
            shown = REDACTED
        else:
            shown = task.capture_settings.redactor.scrub(result, [])
        if shown is not result:
            self.shown_otherwise.add(i)
        return new_entry(
            task.name,
            task.function_label,
            *shown_inputs,
            status,
            elapsed_seconds,
            attempts,
            shown,
            error,
            started_at,
            _now(UTC),
            self.graph.upstream_names[i],
            attempt_errors,
        )

    def _shown_inputs(
        self, i: int, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Task ``i``'s arguments as reports show them, given those it was called with.

        Its own arguments scrubbed; each upstream result as that task's entry shows it
        (scrubbed once there, or hidden); what secret-named parameters received, hidden.
        Most often that is exactly what it was called with, and those are returned.
        """
        if not args and not kwargs:  # nothing to show, or to hide
            return args, kwargs
        task = self.tasks[i]
        if not self.graph.upstreams[i]:
            return task.hide_secret_args(task.args), task.redactor.scrub_kwargs(task.kwargs)
        redactor = task.capture_settings.redactor
        own_args, own_kwargs = task.args, task.kwargs
        if (
            i not in self.inputs.hiding
            and not (
                self.shown_otherwise
                and not self.shown_otherwise.isdisjoint(self.graph.upstreams[i])
            )
            and (not own_args or redactor.scrub_args(own_args) is own_args)
            and (not own_kwargs or redactor.scrub_kwargs(own_kwargs) is own_kwargs)
        ):
            return args, kwargs
        shown_args = list(redactor.scrub_args(own_args)) if own_args else []
        shown_kwargs = redactor.scrub_kwargs(own_kwargs) if own_kwargs else own_kwargs
        entries = self.entries

        def shown(up: int) -> Any:
            upstream = entries[up]
            return REDACTED if upstream is None else upstream.result

        shown_args.extend(shown(up) for up in self.inputs.by_position[i])
        if named := self.inputs.by_name.get(i):
            shown_kwargs = dict(shown_kwargs)
            for name, up in named:
                shown_kwargs[name] = REDACTED if redactor.is_secret(name) else shown(up)
        for position in self.inputs.secret_parameters.get(i, ()):
            if position < len(shown_args):
                shown_args[position] = REDACTED
        return tuple(shown_args), shown_kwargs

    def _run_quietly(self, i: int, task: Task) -> float | None:
        """Run a first attempt with nobody watching: no timeout, log output or listener.

        The common case of a sequential run, kept to the few steps it needs; a failure
        continues on the general path (the returned retry delay, or None when done).
        """
        args, kwargs = self._inputs(i, task)
        started_at = _now(UTC)
        began = time.perf_counter()
        guard = self.guard  # open exactly while the task's code runs (see run_attempt)
        try:
            guard.enter()
            value = task.func(*args, **kwargs)
            if hasattr(type(value), "__await__"):
                value = await_result(value, None)
            guard.is_open = False
        except BaseException as exc:
            guard.is_open = False
            state = self.states[i] = _TaskState()
            state.args, state.kwargs = args, kwargs
            state.started_at, state.started_perf = started_at, began
            if isinstance(exc, HALTS):
                raise
            elapsed = time.perf_counter() - began
            outcome = failed_attempt(exc, task.capture_settings, elapsed, task.func, args, kwargs)
            return self._settle(i, outcome)
        self.results[i] = value
        self.entries[i] = self._entry(
            i,
            TaskStatus.SUCCESS,
            self._shown_inputs(i, args, kwargs),
            time.perf_counter() - began,
            1,
            value,
            None,
            started_at,
            (),
        )
        self._release(i, blocked=False)
        return None

    def _begin(self, i: int) -> _TaskState:
        """Resolve the task's inputs from its upstream results and log its start."""
        task = self.tasks[i]
        state = self.states[i] = _TaskState()
        state.args, state.kwargs = self._inputs(i, task)
        state.started_at = _now(UTC)
        state.started_perf = time.perf_counter()
        if not self.unwatched[i] and task.has_log_output():
            logger = state.logger = task.logger
            if task.log_path is not None:
                state.handler = self.logs.acquire(task.log_path)
                logger.addHandler(state.handler)
            logger.info(LOG_STARTING, task.name)
        return state

    def _attempt_started(self, i: int) -> None:
        if self.on_event is not None:
            self._emit(EventKind.STARTED, i, self._state(i).attempts + 1)

    def _settle(self, i: int, outcome: AttemptOutcome) -> float | None:
        """Record an attempt; return the delay before a retry, or None when the task is done."""
        state = self._state(i)
        state.attempts += 1
        failure = outcome.failure
        if failure is not None and self.secret_results:
            failure = self._without_secrets_received(i, failure)
        if failure is None:
            self.results[i] = outcome.value
            self._finish(i, TaskStatus.SUCCESS, outcome.value)
            return None
        state.attempt_errors += (failure.exception,)
        state.failure = failure
        policy = self.tasks[i].retry_policy
        if (
            outcome.retryable
            and state.attempts < policy.max_attempts
            and (not self.stopping or self._retries_while_stopping(i))
        ):
            delay = policy.delay_before(state.attempts)
            if state.logger is not None:
                state.logger.warning(
                    LOG_RETRYING,
                    state.attempts,
                    policy.max_attempts,
                    failure.exception,
                )
            if self.on_event is not None:
                self._emit(
                    EventKind.RETRYING,
                    i,
                    state.attempts,
                    delay_seconds=delay,
                    error=failure.exception,
                )
            return delay
        self._fail(i, failure)
        return None

    def _without_secrets_received(self, i: int, failure: Failure) -> Failure:
        """Mask out of task ``i``'s failure the upstream results it received that are
        secrets (another dependant takes them under a secret name)."""
        secrets: list[str] = []
        for up in self.graph.upstreams[i]:
            if up in self.secret_results:
                remember_secret(self.results[up], secrets)
        return failure.masked(secrets) if secrets else failure

    def _last_failure(self, i: int) -> Failure:
        failure = self._state(i).failure
        assert failure is not None, "a task waits for a retry only after a failure"
        return failure

    def _fail(self, i: int, failure: Failure) -> None:
        task = self.tasks[i]
        state = self._state(i)
        state.args, state.kwargs = failure.hide_arguments(
            *self._shown_inputs(i, state.args, state.kwargs)
        )
        impact = [self.tasks[j].name for j in self._impact(i)]
        error = error_data(task, state.args, state.kwargs, impact, failure)
        if state.logger is not None:
            message = failure_message(
                task.name, error.function, error.args, error.kwargs, impact, failure
            )
            state.logger.error(message, extra={"task_context": task_context(error)})
        self._finish(i, TaskStatus.ERRORED, None, error)
        if self.fail_fast:
            self._stop(StopReason.FAIL_FAST)

    def _impact(self, i: int) -> list[int]:
        """The tasks skipped because task ``i`` errored, in topological order.

        Every task downstream through tasks that wait for success: a task with a rule
        (``all_done``, ``any_failed``) runs after a failure, so neither it nor what
        follows it is skipped because of this one. Linear in the tasks and edges reached.
        """
        rules = self.rules
        if not rules:
            return self.graph.all_dependants(i)
        dependants = self.graph.dependants
        seen: set[int] = set()
        stack = [child for child in dependants[i] if child not in rules]
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(child for child in dependants[node] if child not in rules)
        return sorted(seen)

    def _finish(
        self, i: int, status: TaskStatus, result: Any, error: ErrorData | None = None
    ) -> None:
        task = self.tasks[i]
        state = self._state(i)
        if state.logger is not None:
            if status is TaskStatus.SUCCESS:
                state.logger.info(LOG_FINISHED, task.name)
            if state.handler is not None and task.log_path is not None:
                state.logger.removeHandler(state.handler)
                self.logs.release(task.log_path)
                state.handler = None
            state.logger = None
        shown_inputs = (
            self._shown_inputs(i, state.args, state.kwargs)
            if error is None
            else (state.args, state.kwargs)
        )
        self.entries[i] = self._entry(
            i,
            status,
            shown_inputs,
            time.perf_counter() - state.started_perf,
            state.attempts,
            result,
            error,
            state.started_at,
            state.attempt_errors,
        )
        if self.on_event is not None:
            self._emit(
                EventKind.FINISHED,
                i,
                state.attempts,
                status=status,
                error=error.exception if error is not None else None,
            )
        self.states[i] = None  # finished: what the run needed of it is in its entry now
        self._release(i, blocked=status is not TaskStatus.SUCCESS, cause=i)

    def _skip(self, i: int, reason: SkipReason, cause: int | None = None) -> None:
        """Record that task ``i`` never runs, why, and the errored task at the root of it."""
        task = self.tasks[i]
        self.entries[i] = new_entry(
            task.name,
            task.function_label,
            task.hide_secret_args(task.args),
            task.redactor.scrub_kwargs(task.kwargs),
            TaskStatus.SKIPPED,
            0.0,
            0,
            dependencies=self.graph.upstream_names[i],
            skip_reason=reason,
            skip_cause="" if cause is None else self.tasks[cause].name,
        )
        if self.on_event is not None:
            self._emit(EventKind.FINISHED, i, 0, status=TaskStatus.SKIPPED)
        self._release(i, blocked=True, cause=cause)

    def _take_over(self, resume: Resumption) -> None:
        for i, task in enumerate(self.tasks):
            taken = resume.reused.get(task.name)
            if taken is not None:
                self.reused[i] = taken
                self.blocked[i] |= _REUSED
            elif reason := resume.reasons.get(task.name):
                self.rerun_reasons[i] = reason

    def _reuse(self, i: int) -> None:
        """Finish task ``i`` with its result from the resumed run, as if it had just run.

        The entry shows the arguments as that run showed them and the result as this
        run shows results; it has no times, since it did not run in this one. Listeners
        get a FINISHED event with attempt 0.
        """
        value, earlier = self.reused[i]
        self.results[i] = value
        task = self.tasks[i]
        if i in self.secret_results:
            shown = REDACTED
        else:  # as this run's redaction shows it: a report built by hand holds anything
            shown = task.capture_settings.redactor.scrub(value, [])
        if shown is not value:
            self.shown_otherwise.add(i)
        self.entries[i] = TaskReportEntry(
            task.name,
            task.function_label,
            earlier.args,
            earlier.kwargs,
            TaskStatus.SUCCESS,
            0.0,
            0,
            shown,
            dependencies=self.graph.upstream_names[i],
            reused=True,
        )
        if self.on_event is not None:
            self._emit(EventKind.FINISHED, i, 0, status=TaskStatus.SUCCESS)
        self._release(i, blocked=False)

    def _release(self, i: int, *, blocked: bool, cause: int | None = None) -> None:
        """Tell the dependants of task ``i`` that it is done; queue those now ready.

        With ``blocked`` (it errored or was skipped), ``cause`` is the errored task at the
        root of it, if any: ``i`` itself when it errored.
        """
        waiting = self.waiting
        ready = self.ready
        for child in self.graph.dependants[i]:
            if blocked:
                self.blocked[child] |= _UPSTREAM_FAILED
                if cause is not None:
                    known = self.causes.get(child)
                    if known is None or cause < known:
                        self.causes[child] = cause
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)

    # -- when a task may start, and how a run stops ---------------------------------------

    def _gate(self, i: int) -> bool:
        """Whether task ``i`` starts; if not, record its skip. Asked only when an upstream
        task did not succeed, the task has a rule, or the run is stopping."""
        self._halt_if_signalled()
        if self._is_reused(i):
            self._reuse(i)
            return False
        why = self._why_not(i)
        if why is None:
            if self.blocked[i] & _REUSED:  # only a task with a rule starts after all
                self._say_why_it_runs_again(i)
            return True
        self._skip(i, *why)
        return False

    def _is_reused(self, i: int) -> bool:
        """Whether task ``i`` takes its result from the resumed run, which holds one
        (whether or not this run is stopping).

        A task with a rule (a cleanup, a compensation) is reused only when all its
        upstream tasks are: one that runs again must be cleaned up after again. Any other
        task is reused unless an upstream task fails now.
        """
        flags = self.blocked[i]
        if not flags & _REUSED:
            return False
        if flags & _HAS_RULE:
            return self._upstream_run_again(i) is None
        return not flags & _UPSTREAM_FAILED

    def _upstream_run_again(self, i: int) -> int | None:
        """The first upstream task of ``i`` not reused in this run, or None."""
        entries = self.entries
        for up in self.graph.upstreams[i]:
            entry = entries[up]
            if entry is None or not entry.reused:
                return up
        return None

    def _say_why_it_runs_again(self, i: int) -> None:
        """Task ``i`` with a rule succeeded in the resumed run yet starts now: say why."""
        up = self._upstream_run_again(i)
        assert up is not None  # else it would have been reused
        self.rerun_reasons[i] = (
            f"its upstream task {self.tasks[up].name!r} runs again, so this "
            f"run_when={self.rules[i]!r} task runs again after it"
        )

    def _why_not(self, i: int) -> tuple[SkipReason, int | None] | None:
        """Why task ``i`` may not start, and the root failure if one is why; None if it may.

        Under fail-fast a task with a rule still starts as its rule says (cleanup runs);
        after the deadline, Ctrl-C or SIGTERM nothing does.
        """
        rule = self.rules.get(i, ALL_SUCCEEDED) if self.rules else ALL_SUCCEEDED
        upstream_failed = self.blocked[i] & _UPSTREAM_FAILED
        if rule is ALL_SUCCEEDED and upstream_failed:
            cause = self.causes.get(i)
            if cause is not None:
                return SkipReason.UPSTREAM_FAILED, cause
            return self._inherited_reason(i), None
        if rule is ANY_FAILED and not upstream_failed:
            return SkipReason.CONDITION_NOT_MET, None
        stop = self.stopped_by
        if stop is not None and (stop is not StopReason.FAIL_FAST or rule is ALL_SUCCEEDED):
            return _SKIPPED_BY[stop], None
        return None

    def _inherited_reason(self, i: int) -> SkipReason:
        """An upstream task was skipped though nothing failed: its reason holds here too."""
        for up in self.graph.upstreams[i]:
            entry = self.entries[up]
            if entry is not None and entry.skip_reason is not None:
                return entry.skip_reason
        return SkipReason.UPSTREAM_FAILED

    def _retries_while_stopping(self, i: int) -> bool:
        """Under fail-fast a task with a rule (cleanup, compensation) keeps its retries."""
        return self.stopped_by is StopReason.FAIL_FAST and i in self.rules

    def _stop(self, reason: StopReason) -> None:
        """Start nothing new from now on. The first reason is kept, but Ctrl-C and SIGTERM
        outrank fail-fast and the deadline: the run ends with their exception."""
        if self.stopped_by is None or reason in (StopReason.INTERRUPTED, StopReason.TERMINATED):
            self.stopped_by = reason
        self.stopping = True

    def _halt_if_signalled(self) -> None:
        """Stop here if SIGTERM or Ctrl-C came while the loop kept its books."""
        if self.stopped_by is StopReason.TERMINATED:
            raise Terminating
        if self.stopped_by is StopReason.INTERRUPTED:
            raise KeyboardInterrupt

    def _start_clock(self) -> None:
        self.started_perf = time.perf_counter()
        if self.deadline_seconds is not None:
            self.deadline_at = self.started_perf + self.deadline_seconds

    def _past_deadline(self, attempt_seconds: float, fate: str = "abandoned") -> AttemptOutcome:
        """The outcome of an attempt abandoned (or stopped) because the run's deadline passed."""
        run_seconds = time.perf_counter() - self.started_perf
        message = (
            f"the run's deadline passed after {run_seconds:.2f} s "
            f"(deadline={self.deadline_seconds:g} s); this attempt was {fate} after "
            f"{attempt_seconds:.2f} s"
        )
        try:
            raise TimeoutError(message)
        except TimeoutError as exc:
            failure = Failure(
                exception=f"TimeoutError: {message}",
                exception_type="TimeoutError",
                traceback_str=f"TimeoutError: {message}\n",
                traced_vars={},
                traced_vars_location="",
                cause=exc,
            )
        return AttemptOutcome(None, failure, False, attempt_seconds)

    def _emit(self, kind: EventKind, i: int, attempt: int, **details: Any) -> None:
        assert self.on_event is not None
        task = self.tasks[i]
        max_attempts = task.retry_policy.max_attempts
        self.on_event(TaskEvent(kind, task.name, utcnow(), attempt, max_attempts, **details))

    @contextlib.contextmanager
    def _routing(self, in_this_process: bool) -> Iterator[None]:
        if self.has_log_files and in_this_process:
            with routing_task_records():
                yield
        else:
            yield

    # -- the report -----------------------------------------------------------------------

    def _report(self, started_at: datetime) -> ProcessExecutionReport:
        entries = {}
        for i, task in enumerate(self.tasks):
            entry = self.entries[i]
            if entry is None:  # never reached: only after Ctrl-C or SIGTERM
                stopped = self.stopped_by or StopReason.INTERRUPTED
                if self._is_reused(i):
                    self._reuse(i)
                else:
                    self._skip(i, *(self._why_not(i) or (_SKIPPED_BY[stopped], None)))
                entry = self.entries[i]
                assert entry is not None
            entries[task.name] = entry
        for i, reason in self.rerun_reasons.items():
            name = self.tasks[i].name
            entries[name] = replace(entries[name], rerun_reason=reason)
        return ProcessExecutionReport(
            entries,
            self.process_name,
            started_at,
            utcnow(),
            host=_HOST,
            stopped_by=self.stopped_by,
        )

    def _interrupted(
        self, interrupt: KeyboardInterrupt, started_at: datetime, running: Collection[int]
    ) -> KeyboardInterrupt:
        """A KeyboardInterrupt carrying the partial report."""
        error = KeyboardInterrupt(*interrupt.args)
        error.report = self._cut_short(  # type: ignore[attr-defined]
            StopReason.INTERRUPTED, started_at, running
        )
        return error

    def _terminated(self, started_at: datetime, running: Collection[int]) -> RunTerminated:
        """The RunTerminated carrying the partial report."""
        return RunTerminated(self._cut_short(StopReason.TERMINATED, started_at, running))

    def _cut_short(
        self, reason: StopReason, started_at: datetime, running: Collection[int]
    ) -> ProcessExecutionReport:
        """The report of a run stopped by Ctrl-C or SIGTERM.

        Tasks cut off while running are ERRORED, their attempt abandoned (it counts);
        tasks waiting to retry keep their last failure; those never started are SKIPPED.
        """
        self._stop(reason)
        for i in running:
            if self.entries[i] is None and self.states[i] is None:
                self.states[i] = _TaskState()  # cut off before its first attempt's state
        for i, entry in enumerate(self.entries):
            state = self.states[i]
            if entry is None and state is not None:
                if i in running or state.failure is None:
                    state.attempts += 1
                    self._fail(i, _cut_off_failure(reason))
                else:
                    self._fail(i, state.failure)
        return self._report(started_at)


class _Inputs:
    """Where each task's upstream results go among its arguments, and which are secret.

    Worked out once per run from the dependency lists the run began with, so that an
    attempt gathers its inputs without looking at a ``TaskDependency``:

    - ``by_position[i]``: the upstream tasks whose results follow task ``i``'s own
      ``args``, in order (the graph's own tuple when every one does);
      ``by_name[i]``: ``(keyword, upstream task)`` pairs, for the tasks that have any;
    - ``secret_parameters[i]``: the positions of its secret-named parameters, for the
      tasks given upstream results or arguments of their own that have any;
    - ``secret_results``: the tasks whose result some dependant receives under a
      secret-looking parameter or keyword: every entry shows it as ``[redacted]``;
    - ``hiding``: the tasks whose entries hide some of their inputs for that reason.
    """

    __slots__ = ("by_name", "by_position", "hiding", "secret_parameters", "secret_results")

    def __init__(self, tasks: list[Task], graph: TaskGraph) -> None:
        self.by_position: list[tuple[int, ...]] = [()] * len(tasks)
        self.by_name: dict[int, tuple[tuple[str, int], ...]] = {}
        self.secret_parameters: dict[int, tuple[int, ...]] = {}
        self.secret_results: set[int] = set()
        self.hiding: set[int] = set()
        known: dict[tuple[int, int], tuple[int, ...]] = {}  # tasks share functions: ask once
        last: tuple[object, object, tuple[int, ...]] = (None, None, ())
        for i, task in enumerate(tasks):
            upstreams = graph.upstreams[i]
            if not upstreams:
                continue
            deps = task.dependencies
            positional: list[int] = []
            named: list[tuple[str, int]] = []
            for dep, up in zip(deps, upstreams, strict=False):
                if dep.use_result_as_additional_args:
                    positional.append(up)
                if dep.use_result_as_additional_kwargs:
                    named.append((dep.additional_kwarg_name, up))
            own = len(task.args)
            if positional:
                # the graph's tuple when every upstream result follows (the same order)
                same = len(positional) == len(upstreams)
                self.by_position[i] = upstreams if same else tuple(positional)
            redactor = task.capture_settings.redactor
            if named:
                self.by_name[i] = tuple(named)
                for name, up in named:
                    if redactor.is_secret(name):
                        self.secret_results.add(up)
                        self.hiding.add(i)
            if not (positional or own):
                continue
            func = task.func
            if func is last[0] and redactor is last[1]:
                secret = last[2]
            else:
                key = (id(func), id(redactor))
                found = known.get(key)
                if found is None:
                    found = known[key] = secret_positions(func, redactor, _ANY_NUMBER_OF_ARGUMENTS)
                secret = found
                last = (func, redactor, secret)
            if secret:
                self.secret_parameters[i] = secret
                self.hiding.add(i)
                for position, up in enumerate(positional, start=own):
                    if position in secret:
                        self.secret_results.add(up)


def _deliver(
    finished: queue.SimpleQueue[Result], token: int, future: Future[AttemptOutcome]
) -> None:
    finished.put((token, future, 0.0))


def _outcome_of(task: Task, payload: Any, begun: float) -> AttemptOutcome:
    """The outcome in what came back: itself, or a foreign executor's future."""
    if isinstance(payload, AttemptOutcome):
        return payload
    try:
        if isinstance(payload, Future):
            outcome: AttemptOutcome = payload.result()
            return _masked_here(task, outcome)
        raise payload  # our pool hands back what the call raised
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the executor failed to run the attempt at all
        return _executor_failure(task, exc, time.perf_counter() - begun)


def _masked_here(task: Task, outcome: AttemptOutcome) -> AttemptOutcome:
    """The outcome with this process's environment secrets masked out of its failure:
    a worker elsewhere knows only its own environment."""
    failure = outcome.failure
    known = task.redactor.known_values()
    if failure is None or not known:
        return outcome
    return outcome._replace(failure=failure.masked(list(known)))


def _executor_failure(task: Task, exc: BaseException, elapsed: float) -> AttemptOutcome:
    failure = capture_failure(exc, redactor=task.redactor)
    text = failure.exception
    if "pickl" in text.lower() or "serializ" in text.lower():
        text = (
            f"{text} (the function, its arguments and its result must be picklable to "
            "run on this executor: use a module-level function instead of a lambda or a "
            "nested function, or run on threads)"
        )
        failure = replace(failure, exception=text)
    return AttemptOutcome(None, failure, False, elapsed)


def _cut_off_failure(reason: StopReason) -> Failure:
    """The failure of an attempt that Ctrl-C or SIGTERM cut off."""
    if reason is StopReason.TERMINATED:
        kind = qualified_name(RunTerminated)
        text = (
            "RunTerminated: the run was stopped by SIGTERM while this task ran; "
            "the attempt was abandoned"
        )
        traceback = "RunTerminated\n"
    else:
        kind = "KeyboardInterrupt"
        text = "KeyboardInterrupt: the run was interrupted while this task ran"
        traceback = "KeyboardInterrupt\n"
    return Failure(
        exception=text,
        exception_type=kind,
        traceback_str=traceback,
        traced_vars={},
        traced_vars_location="",
    )
