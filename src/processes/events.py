"""What a run tells listeners while it goes: a small immutable event per start, retry
and finish, and the listener wrapper that keeps a raising listener from breaking the run.

Imports only ``outcome``.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from processes.outcome import TaskStatus


class EventKind(enum.Enum):
    """What happened to the task."""

    STARTED = "started"
    RETRYING = "retrying"
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """One moment in a task's run, in causal order per task.

    ``attempt`` counts from 1 (0 for a task skipped without running); ``status`` is set
    when the task finished; ``delay_seconds`` and ``error`` when an attempt will be retried.
    """

    kind: EventKind
    task_name: str
    timestamp: datetime
    attempt: int
    max_attempts: int
    status: TaskStatus | None = None
    delay_seconds: float | None = None
    error: str | None = None


Listener = Callable[[TaskEvent], object]


class SafeListener:
    """Call a listener; the first exception it raises becomes one warning, later ones none."""

    __slots__ = ("_listener", "_warned")

    def __init__(self, listener: Listener) -> None:
        self._listener = listener
        self._warned = False

    def __call__(self, event: TaskEvent) -> None:
        try:
            self._listener(event)
        except Exception as exc:
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"on_event listener raised {type(exc).__name__}: {exc}; "
                    "the run goes on and further errors from it are not reported",
                    RuntimeWarning,
                    stacklevel=2,
                )
