"""The ledger of a run: what each task's life is and what comes next, decided, never run.

As graphlib's ``TopologicalSorter`` tracks readiness and runs nothing, the ledger knows
which tasks are ready, which retries are due, what the gates say, whether the run is
stopping, and every entry of the report; it owns no thread, signal or clock. The
drivers (``sequential``, ``pooled``) run the attempts and tell it what happened, with
the time on their own clock where a retry is due; it reads the wall clock only to stamp
entries. Every edge is touched once, when its upstream task finishes; nothing rescans
the task list. Imports the tasks, the graph, attempts' values, logging and the report.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from processes.capture import stand_in_failure
from processes.errors import RunTerminated
from processes.events import EventKind, TaskEvent
from processes.execution.agenda import Agenda
from processes.execution.entries import Entries, Recorder
from processes.execution.gates import MAPPED, REUSED, SKIPPED_BY, UPSTREAM_FAILED, Gates
from processes.execution.inputs import Inputs
from processes.execution.items import ItemGroup, Items, ItemsError
from processes.life import TaskLife
from processes.outcome import SkipReason, StopReason, TaskStatus
from processes.redaction import read_environment
from processes.report import new_run_id
from processes.run_so_far import RunSoFar
from processes.task import Task, error_data, utcnow
from processes.termination import Terminating

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from processes.attempt import AttemptOutcome
    from processes.capture import Failure, Stack
    from processes.events import Listener
    from processes.graph import TaskGraph
    from processes.outcome import ErrorData
    from processes.report import ProcessExecutionReport, TaskReportEntry
    from processes.resume import Resumption
    from processes.tasklog import LogFiles

_now = datetime.now  # _now(UTC): the wall clock of entries, without a call in between


class Ledger:
    """Each task's life during one run, and the report it adds up to.

    The drivers' interface: ``next_start``/``put_back``/``next_retry`` (what to run
    next), ``start`` and ``settle`` (one attempt), ``give_up_retries``/``too_late``/
    ``unstart``/``began_late`` (what a stop or a queue changes), ``stop``/
    ``halt_if_signalled``/``stopping``/``stopped_by`` (stops), ``defer_entries``/
    ``write_deferred``, and ``report``/``halted``. ``results`` holds each task's result
    for the history.
    """

    def __init__(
        self,
        tasks: list[Task],
        graph: TaskGraph,
        logs: LogFiles,
        process_name: str,
        *,
        fail_fast: bool = False,
        on_event: Listener | None = None,
        resume: Resumption | None = None,
        run_id: str | None = None,
        recorder: Recorder | None = None,
        on_items: Callable[[int], object] | None = None,
    ) -> None:
        # Grows as mapped tasks spawn their items (SPEC §15): an item runs as its mapped
        # task, at a position after the declared tasks'; every per-position list grows
        # with it.
        self.tasks = tasks = list(tasks)
        self.declared = len(tasks)
        self.graph = graph
        self.logs = logs
        self.process_name = process_name
        self.fail_fast = fail_fast
        self.on_event = on_event
        self.run_id = run_id or new_run_id()  # fixed when the run starts (§13)
        self.on_items = on_items  # told how many items a mapped task spawned (progress)
        # Upstream tasks not finished yet, counted on the graph the process validated.
        self._waiting = list(map(len, graph.upstreams))
        self.gates = Gates(tasks, graph)
        self.lives: list[TaskLife | None] = [None] * len(tasks)  # from start to entry
        self.results: list[Any] = [None] * len(tasks)
        # Set once nothing new may start (for tasks with a rule, under fail-fast, only
        # what their rule says); ``stopped_by`` says why. The drivers read both; only
        # ``stop`` writes them.
        self.stopping = False
        self.stopped_by: StopReason | None = None
        self._agenda = Agenda([i for i, waiting in enumerate(self._waiting) if not waiting])
        # The next task to start: a retry due at ``now``, else a ready task; -1 if none.
        self.next_start: Callable[[float], int] = self._agenda.next  # a call less per task
        self.has_log_files = any(task.log_path is not None for task in tasks)
        # Read from the lists the process checked against the graph when the run began,
        # once: a list changed in place during the run is never read again by it (and
        # only as far as the graph goes), and the change counts from the next run.
        self.inputs = Inputs(tasks, graph)
        self.items = Items(len(tasks), self.inputs.for_each)
        for mapped in self.inputs.for_each:
            self.gates.blocked[mapped] |= MAPPED
        self._entries = Entries(tasks, graph, self.inputs, self.items)
        self.entries = self._entries.by_position  # read by the gates and the inputs
        self._started: list[int] | None = None  # a recorded run's ``RunSoFar.started``
        if recorder is not None:
            so_far = RunSoFar(self.entries, self.results)
            self._started, self._entries.written = so_far.started, so_far.finished
            recorder.follow(so_far)
        # Read once per run, not per attempt: whether nothing watches a task's attempts
        # (no timeout, log file or handler).
        self.unwatched = bytearray(map(Task.is_unwatched, tasks))
        # Successes whose entry is written later (``defer_entries``).
        self._deferring = False
        self._unwritten: list[int] = []
        # Resuming: the result and earlier entry of each task not to run again, and why
        # the other successes of that run run again.
        self.reused: dict[int, tuple[Any, TaskReportEntry]] = {}
        self.rerun_reasons: dict[int, str] = {}
        # A mapped task -> its items that succeeded in the resumed run, by key (§15).
        self.reused_items: dict[int, dict[str, tuple[Any, TaskReportEntry]]] = {}
        if resume is not None:
            _take_over(self, resume)
        read_environment()  # its secret values, for every task's failures, args and results

    # -- what runs next -------------------------------------------------------------------

    def put_back(self, i: int) -> None:
        """Task ``i``, just returned by ``next_start``, waits for a worker after all."""
        if self.lives[i] is None:
            self._agenda.add_ready(i)
        else:
            self._agenda.retry_first(i)

    def next_retry(self, now: float) -> tuple[int, float]:
        """The retry due first, whenever that is, and the seconds from ``now`` until
        then: nothing else is left to run."""
        return self._agenda.first_retry(now)

    def next_retry_at(self) -> float:
        """When the first waiting retry is due on the driver's clock (inf if none)."""
        return self._agenda.first_retry_at()

    def has_retries(self) -> bool:
        return self._agenda.has_retries()

    def is_unwatched(self, i: int) -> bool:
        """Whether nothing watches task ``i``'s attempts (no timeout, log file or handler)."""
        return bool(self.unwatched[i])

    def may_queue_ahead(self) -> bool:
        """Whether nothing depends on when an unwatched attempt begins: no listener, and
        no fail-fast (whose first error stops every start after it)."""
        return not self.fail_fast and self.on_event is None

    # -- one attempt ----------------------------------------------------------------------

    def start(self, i: int) -> TaskLife | None:
        """Task ``i``'s next attempt begins: what it is called with, and its log file; or
        None when its gate keeps it from starting (its entry says why).

        A first attempt begins the task: its inputs are gathered from the upstream
        results and its log is opened. Only a task with a flag, or any task once the run
        is stopping, is looked at by its gate first.
        """
        life = self.lives[i]
        if life is None:
            if self.gates.blocked[i] or self.stopping:
                if i in self.items.early:  # its items run, item by item, and sum it up
                    return None
                if not self._gate(i):
                    return None
                if self.gates.blocked[i] & MAPPED:  # its items run, not itself
                    _spawn(self, i)
                    return None
            task = self.tasks[i]
            if i < self.declared:
                args, kwargs = self.inputs.gather(i, self.results)
            else:
                group = self.items.group(i)
                args, kwargs = self.inputs.gather_item(
                    group.mapped, self.results, self.items.value(i)
                )
            life = self.lives[i] = TaskLife(task, args, kwargs, _now(UTC), time.perf_counter())
            if not self.unwatched[i] and task.has_log_output():
                life.open_log(self._entries.name(i), task.logger, self.logs, task.log_path)
            if self._started is not None and i < self.declared:
                self._started.append(i)
        if self.on_event is not None:
            self._emit(EventKind.STARTED, i, life.attempts + 1)
        return life

    def settle(self, i: int, outcome: AttemptOutcome, now: float) -> None:
        """Record an attempt that ended at ``now``: the task is done, or a retry is due."""
        life = self.lives[i]
        assert life is not None, "a task has a life from its start on"
        failure = outcome.failure
        if failure is None:
            self.results[i] = outcome.value
            life.attempts += 1
            if self._deferring and self.unwatched[i]:
                # Nobody watches it: release its dependants now, write its entry before
                # the driver next waits (``write_deferred``).
                self._unwritten.append(i)
                self._release(i, False, None)
                return
            self._finish(i, life, TaskStatus.SUCCESS, outcome.value)
            return
        if self.inputs.secret_results:
            masked = self.inputs.masked_failure(self._base(i), failure, self.results)
            outcome = outcome._replace(failure=masked)
        may_retry = not self.stopping or self.gates.keeps_retries(i, self.stopped_by)
        delay = life.settle(outcome, self.tasks[i].retry_policy, may_retry)
        failure = life.failure
        assert failure is not None
        if delay is None:
            self._fail(i, failure)
            return
        if self.on_event is not None:
            self._emit(
                EventKind.RETRYING, i, life.attempts, delay_seconds=delay, error=failure.exception
            )
        self._agenda.add_retry(i, now, delay)

    def defer_entries(self) -> None:
        """Successes nobody watches are released at once, their entries written when the
        driver calls ``write_deferred``: their dependants start while a worker wakes up."""
        self._deferring = self.on_event is None

    def write_deferred(self) -> None:
        for i in self._unwritten:
            if self.entries[i] is None:  # (twice only after an interruption)
                self._finish(i, self._life(i), TaskStatus.SUCCESS, self.results[i], release=False)
        self._unwritten.clear()

    def began_late(self, i: int, began: float) -> None:
        """Task ``i``'s first attempt waited in a pool's queue: it started at ``began``."""
        life = self._life(i)
        if life.attempts == 0 and began > life.started_perf:
            assert life.started_at is not None
            life.started_at += timedelta(seconds=began - life.started_perf)
            life.started_perf = began

    def unstart(self, i: int) -> None:
        """Task ``i``'s attempt never began: as if it had not been started."""
        if self._life(i).attempts == 0:  # the gate decides again (the run stops)
            self.lives[i] = None
            self._agenda.add_ready(i)
        else:  # its retry waits again (and is given up, as the run stops)
            self._agenda.retry_first(i)

    # -- stops ----------------------------------------------------------------------------

    def stop(self, reason: StopReason) -> None:
        """Start nothing new from now on. The first reason is kept, but Ctrl-C and SIGTERM
        outrank fail-fast and the deadline: the run ends with their exception."""
        if self.stopped_by is None or reason in (StopReason.INTERRUPTED, StopReason.TERMINATED):
            self.stopped_by = reason
        self.stopping = True

    def halt_if_signalled(self) -> None:
        """Stop here if SIGTERM or Ctrl-C came while the books were being kept."""
        if self.stopped_by is StopReason.TERMINATED:
            raise Terminating
        if self.stopped_by is StopReason.INTERRUPTED:
            raise KeyboardInterrupt

    def give_up(self, i: int) -> None:
        """Task ``i``'s retry never comes (the run stopped): it ends with its last failure."""
        failure = self._life(i).failure
        assert failure is not None, "a task waits for a retry only after a failure"
        self._fail(i, failure)

    def give_up_retries(self) -> None:
        """The run stopped: retries that were waiting end with their last failure (under
        fail-fast, those of tasks with a rule go on)."""
        if not self._agenda.has_retries():
            return
        stopped_by = self.stopped_by
        for i in self._agenda.drop_retries(lambda i: self.gates.keeps_retries(i, stopped_by)):
            self.give_up(i)

    def too_late(self, i: int) -> None:
        """Task ``i`` was to start (or retry) after the run's deadline: it never does (a
        task the resumed run holds is still reused: its gate decides)."""
        self.stop(StopReason.DEADLINE)
        if self.lives[i] is None:
            self._gate(i)  # never lets it start now: the run is stopped by its deadline
        else:
            self.give_up(i)

    # -- one task's life ------------------------------------------------------------------

    def _life(self, i: int) -> TaskLife:
        life = self.lives[i]
        assert life is not None, "a task has a life from its start on"
        return life

    def _base(self, i: int) -> int:
        """The declared task ``i`` is, or is an item of."""
        return i if i < self.declared else self.items.group(i).mapped

    def _fail(self, i: int, failure: Failure) -> None:
        task = self.tasks[i]
        life = self._life(i)
        if i < self.declared:
            shown = self.inputs.shown(i, life.args, life.kwargs, self.entries)
            impact = [self.tasks[j].name for j in self.gates.impact(i)]
        else:  # an item: what it skips is its mapped task's summary to say
            item = (self.items.value(i),)
            shown = self.inputs.shown(self._base(i), life.args, life.kwargs, self.entries, item)
            impact = []
        life.args, life.kwargs = failure.hide_arguments(*shown)
        error = error_data(task, life.args, life.kwargs, impact, failure)
        if i >= self.declared:
            error = replace(error, task_name=self._entries.name(i))
        life.log_failure(error, impact, failure)
        self._finish(i, life, TaskStatus.ERRORED, None, error)
        if self.fail_fast:
            self.stop(StopReason.FAIL_FAST)

    def _finish(
        self,
        i: int,
        life: TaskLife,
        status: TaskStatus,
        result: Any,
        error: ErrorData | None = None,
        *,
        release: bool = True,
    ) -> None:
        task = self.tasks[i]
        if life.logger is not None:
            name = self._entries.name(i)
            life.close_log(name, self.logs, task.log_path, status is TaskStatus.SUCCESS)
        self._entries.finished(i, life, status, result, error)
        if self.on_event is not None:
            self._emit(
                EventKind.FINISHED,
                i,
                life.attempts,
                status=status,
                error=error.exception if error is not None else None,
            )
        self.lives[i] = None  # finished: what the run needed of it is in its entry now
        if release:
            self._release(i, status is not TaskStatus.SUCCESS, i)

    def _skip(self, i: int, reason: SkipReason, cause: int | None = None) -> None:
        """Record that task ``i`` never runs, why, and the errored task at the root of it."""
        self._entries.skipped(i, reason, cause)
        if self.on_event is not None:
            self._emit(EventKind.FINISHED, i, 0, status=TaskStatus.SKIPPED)
        self._release(i, True, cause)

    def _reuse(self, i: int) -> None:
        """Finish task ``i`` with its result from the resumed run, as if it had just run.

        The entry shows the arguments as that run showed them and the result as this
        run shows results; it has no times, since it did not run in this one. Listeners
        get a FINISHED event with attempt 0.
        """
        value, earlier = self.reused[i]
        self.results[i] = value
        self._entries.reused(i, value, earlier)
        if self.on_event is not None:
            self._emit(EventKind.FINISHED, i, 0, status=TaskStatus.SUCCESS)
        self._release(i, False, None)

    def _release(self, i: int, blocked: bool, cause: int | None) -> None:
        """Tell the dependants of task ``i`` that it is done; queue those now ready.

        With ``blocked`` (it errored or was skipped), ``cause`` is the errored task at the
        root of it, if any: ``i`` itself when it errored.
        """
        if i >= self.declared:  # an item: its mapped task sums them up once all ended
            _item_ended(self, i, blocked, cause)
            return
        waiting, early = self._waiting, self.items.early
        for child in self.graph.dependants[i]:
            if blocked:
                self.gates.block(child, cause)
            waiting[child] -= 1
            if waiting[child] == 0:
                self._agenda.add_ready(child)
            if early and child in early:
                _upstream_ended(self, i, early[child], blocked, cause)

    def report_results(self) -> list[Any]:
        """Each entry's result, in the order of the report's entries (for the history)."""
        return self._entries.in_report_order(self.results)

    def _gate(self, i: int) -> bool:
        """Whether task ``i`` starts; if not, record its skip. Asked only when an upstream
        task did not succeed, the task has a rule, or the run is stopping."""
        self.halt_if_signalled()
        if self.gates.is_reused(i, self.entries):
            self._reuse(i)
            return False
        why = self.gates.why_not(i, self.stopped_by, self.entries)
        if why is None:
            if self.gates.blocked[i] & REUSED:  # only a task with a rule starts after all
                self.rerun_reasons[i] = self.gates.why_runs_again(i, self.entries)
            return True
        self._skip(i, *why)
        return False

    def _emit(self, kind: EventKind, i: int, attempt: int, **details: Any) -> None:
        assert self.on_event is not None
        task = self.tasks[i]
        max_attempts = task.retry_policy.max_attempts
        name = self._entries.name(i)
        self.on_event(TaskEvent(kind, name, utcnow(), attempt, max_attempts, **details))

    # -- the report -----------------------------------------------------------------------

    def report(self, started_at: datetime) -> ProcessExecutionReport:
        """The report of the run so far: a task never reached is SKIPPED (or reused).

        Items first: the last of a mapped task's items to end sums it up."""
        for i in itertools.chain(range(self.declared, len(self.entries)), range(self.declared)):
            if self.entries[i] is None:  # never reached: only after Ctrl-C or SIGTERM
                stopped = self.stopped_by or StopReason.INTERRUPTED
                if self.gates.is_reused(i, self.entries):
                    self._reuse(i)
                else:
                    why = self.gates.why_not(i, self.stopped_by, self.entries)
                    self._skip(i, *(why or (SKIPPED_BY[stopped], None)))
        return self._entries.report(
            self.process_name, self.run_id, started_at, self.stopped_by, self.rerun_reasons
        )

    def halted(
        self, halt: BaseException, started_at: datetime, running: Mapping[int, Stack | None]
    ) -> BaseException:
        """The exception that ends a run Ctrl-C (``KeyboardInterrupt``) or SIGTERM
        (``RunTerminated``) stopped, carrying its partial report as ``.report``.
        ``running``: the tasks cut off while running, each with where its code was then."""
        if isinstance(halt, KeyboardInterrupt):
            error = KeyboardInterrupt(*halt.args)
            report = _cut_short(self, StopReason.INTERRUPTED, started_at, running)
            error.report = report  # type: ignore[attr-defined]
            return error
        return RunTerminated(_cut_short(self, StopReason.TERMINATED, started_at, running))


def _cut_off_failure(reason: StopReason, stack: Stack | None) -> Failure:
    """The failure of an attempt that Ctrl-C or SIGTERM cut off, with where its code was."""
    if reason is StopReason.TERMINATED:
        return stand_in_failure(
            RunTerminated,
            "the run was stopped by SIGTERM while this task ran; the attempt was abandoned",
            traceback_str="RunTerminated\n",
            chained=False,
            stack=stack,
        )
    return stand_in_failure(
        KeyboardInterrupt,
        "the run was interrupted while this task ran",
        traceback_str="KeyboardInterrupt\n",
        chained=False,
        stack=stack,
    )


# What the ledger does at the edges of a run, kept out of the class (which the house
# rules keep under 400 lines): each takes the ledger as ``self``.


def _take_over(self: Ledger, resume: Resumption) -> None:
    for_each = self.inputs.for_each
    for i, task in enumerate(self.tasks):
        taken = resume.reused.get(task.name)
        if i in for_each:  # never reused whole: its items are, one by one (§15)
            items = resume.items.get(task.name)
            if task.reuse:
                self.reused_items[i] = items or {}
                if reason := resume.reasons.get(task.name):
                    self.rerun_reasons[i] = reason
            elif items or taken is not None:
                self.rerun_reasons[i] = "it has reuse=False: it runs on every run"
            continue
        if taken is not None and not task.reuse:
            self.rerun_reasons[i] = "it has reuse=False: it runs on every run"
        elif taken is not None:
            self.reused[i] = taken
            self.gates.blocked[i] |= REUSED
        elif reason := resume.reasons.get(task.name):
            self.rerun_reasons[i] = reason


def _spawn(self: Ledger, m: int) -> None:
    """Mapped task ``m`` passed its gate: its items go on the agenda, each a position
    of its own; it fails if they cannot be listed or named, and succeeds with ``{}``
    when there are none."""
    task = self.tasks[m]
    args, kwargs = self.inputs.gather(m, self.results)
    life = self.lives[m] = TaskLife(task, args, kwargs, _now(UTC), time.perf_counter())
    life.attempts = 1
    try:
        group = self.items.spawn(m, life, self.results, self.tasks)
    except ItemsError as error:
        self._fail(m, stand_in_failure(error.kind, error.message))
        return
    if group is None:
        self.results[m] = {}
        if self.reused_items.get(m):  # it had items in the resumed run
            _rerun_dependants(self, m)
        self._finish(m, life, TaskStatus.SUCCESS, {})
        return
    self.lives[m] = None  # until its items are summed up
    self._agenda.add_ready_last(_grow(self, group))


def _grow(self: Ledger, group: ItemGroup) -> range:
    """Every per-position list grows by the group's items; the tasks that map item by
    item over it get theirs too (waiting). Returns the group's positions."""
    m, count = group.mapped, group.count
    positions = range(group.first, group.first + count)
    self.tasks.extend([self.tasks[m]] * count)
    self.lives.extend([None] * count)
    self.results.extend([None] * count)
    self.unwatched.extend(self.unwatched[m : m + 1] * count)
    self.gates.add_items(m, count)
    self._entries.add_items(m, positions)
    if self.on_items is not None:  # first: items reused below count as done
        self.on_items(count)
    if m in self.reused_items:  # resumed: its items that succeeded then are reused
        _reuse_items(self, positions, self.reused_items[m])
    for chained in self.items.chained.get(m, ()):
        life = TaskLife(self.tasks[chained], started_at=_now(UTC), started_perf=time.perf_counter())
        life.attempts = 1
        follower = self.items.spawn_over(chained, group, life)
        follower.others_left = self._waiting[chained] - 1  # all but the task mapped over
        _grow(self, follower)
        if self.gates.blocked[chained] & UPSTREAM_FAILED:  # another upstream task failed
            cause = self.gates.causes.get(chained, m)
            for p in range(follower.first, follower.first + count):
                self.gates.block(p, cause)
    return positions


def _reuse_items(
    self: Ledger, positions: range, taken: dict[str, tuple[Any, TaskReportEntry]]
) -> None:
    """The items at ``positions`` whose key succeeded in the resumed run take their result
    from it (as a task does: unless an upstream item or task fails now); the others, and
    the keys that are new, run."""
    keys, declared, blocked = self.items.keys, self.declared, self.gates.blocked
    for p in positions:
        earlier = taken.get(keys[p - declared])
        if earlier is not None:
            self.reused[p] = earlier
            blocked[p] |= REUSED


def _item_ended(self: Ledger, i: int, blocked: bool, cause: int | None) -> None:
    """Item ``i`` ended: the items mapped over it may start (or are skipped, if it did
    not succeed); its mapped task is summed up when it was the last."""
    group = self.items.group(i)
    k = i - group.first
    for follower in group.followers:
        follower.source_done[k] = 1
        if blocked:
            self.gates.block(follower.first + k, i if cause is None else cause)
        if follower.others_left == 0:
            _ready_item(self, follower, k)
    ended = self.items.ended(i, not blocked)
    if ended is not None:
        _sum_up(self, ended)


def _upstream_ended(
    self: Ledger, i: int, group: ItemGroup, blocked: bool, cause: int | None
) -> None:
    """Task ``i``, an upstream task of a mapped task whose items map item by item over
    another's, ended: once they all did, its items whose own item ended may start."""
    assert group.over is not None
    if i == group.over.mapped:  # its items wait item by item, whatever it sums up to
        return
    group.others_left -= 1
    if blocked:
        for p in range(group.first, group.first + group.count):
            self.gates.block(p, i if cause is None else cause)
    if group.others_left == 0:
        for k, done in enumerate(group.source_done):
            if done:
                _ready_item(self, group, k)


def _ready_item(self: Ledger, group: ItemGroup, k: int) -> None:
    """Item ``k`` of ``group`` may start: it receives item ``k``'s result of the group
    it maps over."""
    assert group.over is not None
    p = group.first + k
    self.items.values[p - self.declared] = self.results[group.over.first + k]
    self._agenda.add_ready(p)


def _sum_up(self: Ledger, group: ItemGroup) -> None:
    """Every item of a mapped task ended: its own entry sums them up (SPEC §15)."""
    m = group.mapped
    if self._unwritten:  # its entry shows its items' results as their entries do
        self.write_deferred()
    life = self.lives[m] = group.life
    if group.over is not None:  # what it was called with is known now
        life.args, life.kwargs = self.inputs.gather(m, self.results)
    result, failed = self.items.sum_up(group, self.tasks[m], self.results)
    if failed:
        self._fail(m, stand_in_failure(RuntimeError, failed))
        return
    self.results[m] = result
    if m in self.reused_items:
        reused = self.reused
        positions = range(group.first, group.first + group.count)
        if len(self.reused_items[m]) != group.count or not all(p in reused for p in positions):
            _rerun_dependants(self, m)
    self._finish(m, life, TaskStatus.SUCCESS, result)


def _rerun_dependants(self: Ledger, m: int) -> None:
    """A resumed mapped task whose items are not those of the resumed run, all reused,
    sums up to a new result: its dependants that the resumed run holds run again on it."""
    name = self.tasks[m].name
    for child in self.graph.dependants[m]:
        if self.gates.blocked[child] & REUSED and child not in self.inputs.for_each:
            self.gates.blocked[child] &= ~REUSED
            self.rerun_reasons[child] = (
                f"its upstream task {name!r} sums up other items than in the resumed run"
                " (some ran again, or its keys changed)"
            )


def _cut_short(
    self: Ledger, reason: StopReason, started_at: datetime, running: Mapping[int, Stack | None]
) -> ProcessExecutionReport:
    """The report of a run stopped by Ctrl-C or SIGTERM.

    Tasks cut off while running are ERRORED, their attempt abandoned (it counts);
    tasks waiting to retry keep their last failure; those never started are SKIPPED.
    """
    self.stop(reason)
    for i in running:
        if self.entries[i] is None and self.lives[i] is None:
            # cut off before its first attempt's life began
            self.lives[i] = TaskLife(self.tasks[i])
    for i, entry in enumerate(self.entries):
        life = self.lives[i]
        if entry is None and life is not None:
            if i in running or life.failure is None:
                life.attempts += 1
                self._fail(i, _cut_off_failure(reason, running.get(i)))
            else:
                self._fail(i, life.failure)
    return self.report(started_at)
