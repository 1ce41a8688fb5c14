"""The run's deadline, on the ``perf_counter`` clock from the run's start.

Both drivers read it; the ledger never does (it owns no clock). Imports ``attempt`` and
``capture`` only.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from processes.attempt import AttemptOutcome
from processes.capture import stand_in_failure

if TYPE_CHECKING:
    from processes.capture import Stack

NEVER = float("inf")


class Deadline:
    """``run(deadline=seconds)``: when it passes, nothing new starts."""

    __slots__ = ("at", "seconds", "started")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.started = 0.0
        self.at = NEVER

    def start(self) -> None:
        """The run starts now: the deadline counts from here."""
        self.started = time.perf_counter()
        if self.seconds is not None:
            self.at = self.started + self.seconds

    @property
    def is_set(self) -> bool:
        return self.at < NEVER

    def has_passed(self) -> bool:
        return self.at < NEVER and time.perf_counter() >= self.at

    def seconds_left(self) -> float:
        """Seconds until the deadline (0 once passed; inf without one)."""
        if self.at == NEVER:
            return NEVER
        return max(self.at - time.perf_counter(), 0.0)

    def outcome(
        self, attempt_seconds: float, fate: str = "abandoned", stack: Stack | None = None
    ) -> AttemptOutcome:
        """The outcome of an attempt abandoned (or stopped) because the deadline passed;
        ``stack`` is where its code was then."""
        run_seconds = time.perf_counter() - self.started
        message = (
            f"the run's deadline passed after {run_seconds:.2f} s "
            f"(deadline={self.seconds:g} s); this attempt was {fate} after "
            f"{attempt_seconds:.2f} s"
        )
        failure = stand_in_failure(TimeoutError, message, stack=stack)
        return AttemptOutcome(None, failure, False, attempt_seconds)
