"""What one task's run produced: its status, its result, and the record of a failure.

Plain values that can cross a process boundary. Imports nothing from the package.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime  # noqa: TC003 (a dataclass field's type)
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping


class TaskStatus(enum.Enum):
    """Where a task stands in a run."""

    PENDING = "pending"
    SUCCESS = "success"
    ERRORED = "errored"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class ErrorData:
    """Everything known about a task's failure, captured where it happened.

    ``exception`` is the message alone, ``str(exc)`` as v7 gave it (``"bad row"``),
    ``exception_type`` the qualified class name (``headline`` shows both:
    ``"ValueError: bad row"``), ``downstream_impact`` the names of the tasks skipped
    because of it, and ``traced_vars`` the ``repr`` of the locals of one frame, already
    redacted.
    """

    task_name: str
    function: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    downstream_impact: list[str]
    exception: str
    traceback_str: str
    traced_vars: dict[str, str]
    traced_vars_location: str
    exception_type: str = ""
    # The exception object itself, when it exists in this interpreter: kept so that
    # ``raise_for_errors()`` can chain to it. Not compared, not serialised.
    cause: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def headline(self) -> str:
        """The failure as every view shows it: ``"ValueError: bad row"``; the class alone
        when the message is empty."""
        return failure_headline(self.exception_type, self.exception)


def shown_type(exception_type: str) -> str:
    """A qualified class name as a traceback's last line shows it: without ``builtins.``
    or ``__main__.``."""
    for prefix in ("builtins.", "__main__."):
        if exception_type.startswith(prefix):
            return exception_type[len(prefix) :]
    return exception_type


def failure_headline(exception_type: str, message: str) -> str:
    """``"Type: message"``, the class alone when the message is empty (as a traceback's
    last line reads); the message alone when the class is not known."""
    shown = shown_type(exception_type)
    if not shown:
        return message
    return f"{shown}: {message}" if message else shown


def message_of(headline: str, exception_type: str) -> str:
    """The message inside ``headline`` (``failure_headline``'s form): what follows the
    class name; ``headline`` itself when it does not start with the class."""
    shown = shown_type(exception_type)
    if not shown or headline == shown:
        return "" if shown else headline
    short = shown.rpartition(".")[2]  # a stand-in may name the class without its module
    for prefix in (f"{shown}: ", f"{short}: "):
        if headline.startswith(prefix):
            return headline[len(prefix) :]
    return "" if headline == short else headline


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


class SkipReason(enum.Enum):
    """Why a SKIPPED task never ran."""

    UPSTREAM_FAILED = "upstream_failed"  # an upstream task errored or was skipped
    CONDITION_NOT_MET = "condition_not_met"  # ``run_when="any_failed"`` and nothing failed
    FAIL_FAST = "fail_fast"  # ``run(fail_fast=True)`` stopped new starts
    DEADLINE = "deadline"  # ``run(deadline=...)`` passed before it could start
    INTERRUPTED = "interrupted"  # Ctrl-C stopped the run
    TERMINATED = "terminated"  # SIGTERM stopped the run
    CRASHED = "crashed"  # the run's process died (SIGKILL, out of memory, a reboot)


#: Why a task was skipped, in English; ``{cause}`` is the failed upstream task's name.
#: ``raise_for_errors()`` words its message with these, and the English locale shows them.
ENGLISH_SKIP_REASONS: Mapping[SkipReason, str] = MappingProxyType(
    {
        SkipReason.UPSTREAM_FAILED: "upstream {cause} failed",
        SkipReason.CONDITION_NOT_MET: "nothing upstream failed",
        SkipReason.FAIL_FAST: "fail-fast",
        SkipReason.DEADLINE: "deadline",
        SkipReason.INTERRUPTED: "interrupted",
        SkipReason.TERMINATED: "terminated (SIGTERM)",
        SkipReason.CRASHED: "the run's process died",
    }
)


class StopReason(enum.Enum):
    """Why a run stopped starting tasks before the graph was done; None when it was not."""

    FAIL_FAST = "fail_fast"
    DEADLINE = "deadline"
    INTERRUPTED = "interrupted"
    TERMINATED = "terminated"
    #: The run's process died without a word (SIGKILL, the out-of-memory killer, a
    #: reboot): found in the history by a later reader, never by the run itself (§13).
    CRASHED = "crashed"


@dataclass(frozen=True, slots=True)
class CrashedRun:
    """An earlier run of the same process that died, closed by this run (SPEC §13).

    ``tasks_finished`` of its ``tasks_total`` tasks had finished when it died, and
    ``running`` were running (the tasks it died "during").
    """

    run_id: str
    started_at: datetime | None
    tasks_finished: int
    tasks_total: int
    running: tuple[str, ...] = ()


class TaskChange(enum.Enum):
    """How a task's outcome changed since the previous recorded run of the same process."""

    NEW_FAILURE = "new_failure"  # errored now, did not error in the previous run
    STILL_FAILING = "still_failing"  # errored in the previous run too
    RECOVERED = "recovered"  # errored in the previous run, succeeded now


@dataclass(frozen=True, slots=True)
class FailureStreak:
    """How long a task has errored: ``runs`` recorded runs in a row, the first at ``since``.

    ``since`` is that first failing run's start, timezone-aware UTC.
    """

    runs: int
    since: datetime
