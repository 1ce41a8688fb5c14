"""What one task's run produced: its status, its result, and the record of a failure.

Plain values that can cross a process boundary. Imports nothing from the package.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class TaskStatus(enum.Enum):
    """Where a task stands in a run."""

    PENDING = "pending"
    SUCCESS = "success"
    ERRORED = "errored"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class ErrorData:
    """Everything known about a task's failure, captured where it happened.

    ``exception`` is the last line of the traceback (``"ValueError: bad row"``),
    ``exception_type`` the qualified class name, and ``traced_vars`` the ``repr`` of the
    locals of one frame, already redacted.
    """

    task_name: str
    function: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    downstream_impact: tuple[str, ...]
    exception: str
    traceback_str: str
    traced_vars: dict[str, str]
    traced_vars_location: str
    exception_type: str = ""
    # The exception object itself, when it exists in this interpreter: kept so that
    # ``raise_for_errors()`` can chain to it. Not compared, not serialised.
    cause: BaseException | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class TaskResult:
    """The outcome of ``Task.run()``: it never raises for the task's own failure."""

    status: TaskStatus
    result: Any
    exception: BaseException | None
    error_data: ErrorData | None = None
    elapsed_seconds: float = 0.0
    attempts: int = 0

    @property
    def worked(self) -> bool:
        """True when the task succeeded, possibly after retries."""
        return self.status is TaskStatus.SUCCESS
