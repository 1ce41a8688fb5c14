"""The pooled driver: up to ``workers`` attempts at once, on our pool or a caller's executor.

It starts what the ledger says is ready, waits for attempts to finish on one queue, and
abandons those past their timeout or the run's deadline; retries wait in the ledger
without holding a worker. The loop never blocks longer than ``WAKE_UP_SECONDS``, so
Ctrl-C delivered to another thread still stops it. Imports the ledger, the pools and
``attempt``.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import queue
import time
from typing import TYPE_CHECKING

from processes.attempt import WAKE_UP_SECONDS, abandon_after, timed_out
from processes.execution.deadline import NEVER
from processes.execution.pools import executor_failure
from processes.execution.signals import handling_sigterm
from processes.outcome import StopReason
from processes.task import utcnow
from processes.tasklog import routing_task_records
from processes.termination import HALTS, Terminating

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from types import FrameType

    from processes.execution.deadline import Deadline
    from processes.execution.ledger import Ledger
    from processes.execution.pools import Workers
    from processes.life import TaskLife
    from processes.report import ProcessExecutionReport
    from processes.task import Task
    from processes.workers import Result

#: How many attempts our pool may hold per worker, begun or queued (see ``__init__``).
_QUEUED_PER_WORKER = 16
_RUN_DEADLINE = -1  # the token of the run's deadline among the attempts' deadlines


class PooledDriver:
    """Runs a ledger's tasks on ``pool``; ``run()`` returns the report."""

    def __init__(
        self,
        ledger: Ledger,
        pool: Workers,
        finished: queue.SimpleQueue[Result],
        workers: int,
        deadline: Deadline,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.pool = pool
        self.finished = finished
        self.workers = workers
        self.deadline = deadline
        # A caller's sleep replaces the wait for a retry when nothing runs (tests record
        # the delays instead); the time it did not really take is added to the clock.
        self.sleep = sleep
        self.skipped_seconds = 0.0
        self.running: dict[int, tuple[int, float, Task]] = {}  # token -> task, start, task
        # (deadline, token): our pool's attempts' timeouts, and the run's own deadline
        self.deadlines: list[tuple[float, int]] = []
        self.tokens = itertools.count()
        # A pool that can queue may hold more attempts than it has workers, where nothing
        # depends on when they begin: attempts of tasks nobody watches (no timeout, log
        # output or listener), in runs without fail-fast (whose first error stops every
        # start after it). A worker then takes the next one as soon as it is free,
        # without waiting for this thread; where an attempt begins, its start is recorded.
        queueing = pool.can_queue and ledger.may_queue_ahead()
        self.room = workers * _QUEUED_PER_WORKER if queueing else workers
        ledger.defer_entries()

    def run(self) -> ProcessExecutionReport:
        ledger = self.ledger
        started_at = utcnow()
        self.deadline.start()
        if self.deadline.is_set:
            self.deadlines.append((self.deadline.at, _RUN_DEADLINE))
        routing = ledger.has_log_files and self.pool.in_this_process
        try:
            with (
                routing_task_records() if routing else contextlib.nullcontext(),
                handling_sigterm(self._on_sigterm),
            ):
                report = self._loop(started_at)
        finally:
            self.pool.close()
        if ledger.stopped_by is StopReason.TERMINATED:  # it came as the last tasks finished
            raise ledger.halted(Terminating(), started_at, {})
        return report

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        # This thread only waits and keeps the books here: the loop sees the stop when it
        # next wakes (within WAKE_UP_SECONDS) and stops itself. The attempts queued in our
        # pool are taken back now, so that none begins meanwhile.
        self.ledger.stop(StopReason.TERMINATED)
        self.pool.take_back_queued()

    def _loop(self, started_at: datetime) -> ProcessExecutionReport:
        ledger = self.ledger
        try:
            while True:
                self._start_what_is_ready()
                ledger.write_deferred()
                if not self.running and not ledger.has_retries():
                    break
                self._wait()
                self._abandon_what_is_late()
                if ledger.stopping:
                    ledger.halt_if_signalled()
                    ledger.give_up_retries()
        except HALTS as halt:
            ledger.write_deferred()
            self._take_back()
            cut_off = {  # each with where its code was when it was abandoned
                i: self.pool.abandon(token, task) for token, (i, _, task) in self.running.items()
            }
            raise ledger.halted(halt, started_at, cut_off) from None
        return ledger.report(started_at)

    def _clock(self) -> float:
        """The retries' clock: real time, plus what a caller's sleep skipped."""
        return time.perf_counter() + self.skipped_seconds

    def _start_what_is_ready(self) -> None:
        ledger = self.ledger
        running = self.running
        workers, room = self.workers, self.room
        now = self._clock()
        while (i := ledger.next_start(now)) >= 0:
            if len(running) >= workers and not (
                len(running) < room and ledger.is_unwatched(i) and not ledger.stopping
            ):
                ledger.put_back(i)
                return
            life = ledger.start(i)
            if life is not None:
                self._start(i, life)

    def _start(self, i: int, life: TaskLife) -> None:
        task = life.task
        token = next(self.tokens)
        now = time.perf_counter()
        queued = len(self.running) >= self.workers
        self.running[token] = (i, now, task)  # before submitting: the result may come at once
        try:
            self.pool.submit(token, life, queued)
        except Exception as exc:  # e.g. a caller's executor that was shut down
            del self.running[token]
            self.ledger.settle(i, executor_failure(task, exc, 0.0), self._clock())
            return
        if self.pool.starts_at_once and task.timeout is not None:
            # Our pool starts an attempt as soon as it is submitted (never more attempts
            # than workers), so its deadline counts from now. Other executors may queue
            # it: the attempt keeps its own time there.
            heapq.heappush(self.deadlines, (now + abandon_after(task.func, task.timeout), token))

    def _wait(self) -> None:
        """Wait for attempts to finish, a timeout or a retry, and settle what finished."""
        wake = min(self.deadlines[0][0] if self.deadlines else NEVER, self._next_retry_at())
        if self.sleep is not None and not self.running:
            self._sleep_until(wake)
            return
        # Never wait long: Ctrl-C delivered to another thread waits for this one.
        timeout = min(max(wake - time.perf_counter(), 0.0), WAKE_UP_SECONDS)
        try:
            arrived = [self.finished.get(timeout=timeout)]
        except queue.Empty:
            return
        # Everything that finished before the deadlines are looked at: an attempt done in
        # time must not lose to its own deadline while it waits in the queue.
        ledger, pool, running = self.ledger, self.pool, self.running
        while arrived:
            token, payload, began = arrived.pop()
            if token in running:
                i, begun, task = running.pop(token)
                outcome, waited = pool.received(token, payload, begun, task)
                if waited:
                    ledger.began_late(i, began)
                ledger.settle(i, outcome, self._clock())
            if not self.finished.empty():
                arrived.append(self.finished.get_nowait())

    def _next_retry_at(self) -> float:
        """When the first retry is due, on ``time.perf_counter()``'s clock."""
        return self.ledger.next_retry_at() - self.skipped_seconds

    def _sleep_until(self, wake: float) -> None:
        """Nothing runs and a retry waits: the caller's sleep takes the wait."""
        assert self.sleep is not None
        began = time.perf_counter()
        wait = max(wake - began, 0.0)
        self.sleep(wait)
        self.skipped_seconds += max(wait - (time.perf_counter() - began), 0.0)
        if self.deadline.is_set and began + wait >= self.deadline.at:
            self.ledger.stop(StopReason.DEADLINE)  # its retries are given up

    def _abandon_what_is_late(self) -> None:
        """Attempts past their timeout are abandoned; past the run's deadline, all are."""
        ledger, running, deadlines = self.ledger, self.running, self.deadlines
        now = time.perf_counter()
        while deadlines and deadlines[0][0] <= now:
            token = heapq.heappop(deadlines)[1]
            if token in running:
                i, begun, task = running.pop(token)
                stack = self.pool.abandon(token, task)
                outcome = timed_out(task.capture_settings, now - begun, stack)
                ledger.settle(i, outcome, self._clock())
            elif token == _RUN_DEADLINE:  # nothing new starts; the running end now
                ledger.stop(StopReason.DEADLINE)
                self._take_back()
                for cut, (i, begun, task) in list(running.items()):
                    del running[cut]
                    stack = self.pool.abandon(cut, task)
                    outcome = self.deadline.outcome(now - begun, stack=stack)
                    ledger.settle(i, outcome, self._clock())

    def _take_back(self) -> None:
        """The run stops: the attempts no worker has begun never will, and their tasks are
        as if never started. Done before any worker is abandoned: the worker replacing it
        would take the next queued attempt at once."""
        for token, (i, _, _) in list(self.running.items()):
            if self.pool.take_back(token):
                del self.running[token]
                self.ledger.unstart(i)
