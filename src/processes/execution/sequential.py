"""The sequential driver: one attempt at a time, in the calling thread.

It owns what only the calling thread can: the SIGTERM and Ctrl-C handlers, which stop a
task's code or a wait for a retry but never the ledger's bookkeeping (``Guard``), and the
deadline's SIGALRM where it can be set (else each attempt runs in a helper thread that
is abandoned at the deadline). A retry waits while the tasks that are ready run, as in
a pooled run. Imports the ledger, ``attempt`` and the engine's signals.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from processes.attempt import interruptible_sleep, run_attempt, run_within_timeout
from processes.capture import halted_stack
from processes.execution.signals import alarm_after, handling_ctrl_c, handling_sigterm
from processes.outcome import StopReason
from processes.task import utcnow
from processes.tasklog import routing_task_records
from processes.termination import HALTS, DeadlinePassed, Guard, Terminating

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType

    from processes.attempt import AttemptOutcome
    from processes.capture import Stack
    from processes.execution.deadline import Deadline
    from processes.execution.ledger import Ledger
    from processes.life import TaskLife
    from processes.report import ProcessExecutionReport

_SHORTEST_ALARM_SECONDS = 1e-6  # setitimer(0) would cancel the alarm, not ring it now


class SequentialDriver:
    """Runs a ledger's tasks in the calling thread; ``run()`` returns the report.

    The driver keeps time by what it did (attempts and sleeps), so a retry waits what is
    left of its delay after the attempts that ran meanwhile, and exactly its delay when
    none did; ``sleep`` can be replaced (tests record the delays instead).
    """

    def __init__(
        self,
        ledger: Ledger,
        deadline: Deadline,
        sleep: Callable[[float], None] = interruptible_sleep,
    ) -> None:
        self.ledger = ledger
        self.deadline = deadline
        self.sleep = sleep
        # Open while a task's code runs in this thread: only there may a signal raise.
        self.guard = Guard()
        self.sleeping = False  # waiting for a retry: a signal may raise there too
        self.alarmed = False  # the deadline rings SIGALRM in this thread
        self.timed = deadline.seconds is not None

    def run(self) -> ProcessExecutionReport:
        ledger = self.ledger
        started_at = utcnow()
        self.deadline.start()
        attempting = -1  # the task whose attempt runs, for Ctrl-C and SIGTERM
        guard = self.guard
        # Without a deadline, an attempt without a timeout is called right here.
        quiet = not self.timed
        with (
            routing_task_records() if ledger.has_log_files else contextlib.nullcontext(),
            handling_sigterm(self._on_sigterm),
            handling_ctrl_c(self._on_sigint),
            self._deadline_alarm(),
        ):
            try:
                clock = 0.0  # seconds spent in attempts and sleeps
                while True:
                    if ledger.stopping:
                        ledger.halt_if_signalled()
                        ledger.give_up_retries()
                    i = ledger.next_start(clock)
                    if i < 0:
                        if not ledger.has_retries():
                            break
                        i, clock = self._wait_for_retry(clock)
                        if i < 0:
                            continue
                    if self.timed and self.deadline.has_passed():
                        ledger.too_late(i)
                        continue
                    life = ledger.start(i)
                    if life is None:
                        continue
                    attempting = i
                    settings = life.task.capture_settings
                    if quiet and settings.timeout_seconds is None:  # nothing to wait for
                        outcome = run_attempt(
                            life.task.func, life.args, life.kwargs, settings, life.handler, guard
                        )
                    else:
                        outcome = self._attempt(life)
                    attempting = -1
                    clock += outcome.elapsed_seconds
                    ledger.settle(i, outcome, clock)
            except HALTS as halt:
                cut_off, attempting, self.sleeping = attempting, -1, False  # a second one waits
                guard.is_open = False
                raise ledger.halted(halt, started_at, self._cut_off(cut_off, halt)) from None
        # The signal came after the last start, while the books were being kept.
        if ledger.stopped_by is StopReason.TERMINATED:
            raise ledger.halted(Terminating(), started_at, {})
        if ledger.stopped_by is StopReason.INTERRUPTED:
            raise ledger.halted(KeyboardInterrupt(), started_at, {})
        return ledger.report(started_at)

    def _wait_for_retry(self, clock: float) -> tuple[int, float]:
        """Nothing is ready: wait for the first retry; return it (-1 if the deadline
        passed first and gave it up) and the clock after the wait."""
        ledger = self.ledger
        i, left = ledger.next_retry(clock)
        if left <= 0:
            return i, clock
        wait = min(left, self.deadline.seconds_left())
        self.sleeping = True
        ledger.halt_if_signalled()  # it came just before: no wait
        self.sleep(wait)
        self.sleeping = False
        if wait < left:  # the run's deadline passed first
            ledger.stop(StopReason.DEADLINE)
            ledger.give_up(i)
            return -1, clock + wait
        return i, clock + wait

    def _attempt(self, life: TaskLife) -> AttemptOutcome:
        """One attempt in this thread, stopped or abandoned at the deadline if it passes."""
        task = life.task
        settings = task.capture_settings
        # Without SIGALRM, the deadline is kept by running the attempt in a helper thread,
        # abandoned when it passes.
        left = self.deadline.seconds_left() if self.timed and not self.alarmed else None
        guard = self.guard
        guard.raised = None
        began = time.perf_counter()
        outcome: AttemptOutcome | None
        stack: Stack | None  # set where the attempt ended at the deadline (outcome None)
        try:
            if left is None and settings.timeout_seconds is None:  # nothing to wait for
                outcome = run_attempt(
                    task.func, life.args, life.kwargs, settings, life.handler, guard
                )
            else:
                outcome = run_within_timeout(
                    task.func,
                    life.args,
                    life.kwargs,
                    settings,
                    life.handler,
                    guard,
                    deadline_seconds=left,
                )
        except DeadlinePassed as passed:
            outcome = None
            stack = halted_stack(passed, settings.redactor, settings.frame_filter)
        if outcome is None or guard.raised is DeadlinePassed:  # even if the task swallowed it
            self.ledger.stop(StopReason.DEADLINE)
            # Raised in its code in this thread, or in the wait for its helper thread.
            stopped = self.alarmed and settings.timeout_seconds is None
            outcome = self.deadline.outcome(
                time.perf_counter() - began,
                "stopped" if stopped else "abandoned",
                stack if outcome is None else None,
            )
        return outcome

    def _cut_off(self, i: int, halt: BaseException) -> dict[int, Stack | None]:
        """The task whose attempt ``halt`` cut off (none when ``i`` is -1), and where its
        code was then (in its cut-off failure)."""
        if i < 0:
            return {}
        settings = self.ledger.tasks[i].capture_settings
        return {i: halted_stack(halt, settings.redactor, settings.frame_filter)}

    # Ctrl-C and SIGTERM stop a task's code (its attempt runs in this thread, or this
    # thread waits for it) or a wait for a retry there and then. A task that swallows the
    # exception ends anyway. Elsewhere the ledger is keeping its books: they are left
    # whole, and the loop stops at its next step, or a task about to begin stops there.

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.ledger.stop(StopReason.TERMINATED)
        if self.sleeping:
            raise Terminating
        self.guard.halt(Terminating)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.ledger.stop(StopReason.INTERRUPTED)
        if self.sleeping:
            raise KeyboardInterrupt
        self.guard.halt(KeyboardInterrupt)

    def _on_sigalrm(self, signum: int, frame: FrameType | None) -> None:
        # The deadline stops the task's code it lands in; anywhere else the driver finds
        # it has passed before the next attempt.
        self.guard.halt(DeadlinePassed)

    @contextlib.contextmanager
    def _deadline_alarm(self) -> Iterator[None]:
        """SIGALRM at the run's deadline while the block runs, where it can be set."""
        if not self.deadline.is_set:
            yield
            return
        seconds = max(self.deadline.seconds_left(), _SHORTEST_ALARM_SECONDS)
        with alarm_after(seconds, self._on_sigalrm) as self.alarmed:
            yield
