"""A run as it goes, as the engine hands it to the recorder of a history (SPEC §13).

Imports nothing from the package but the report's types, for type checking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from processes.report import TaskReportEntry


@dataclass(frozen=True, slots=True)
class RunSoFar:
    """A run as its recorder reads it, from another thread, while the run's thread
    writes it: lists only appended to or filled in (each step atomic under the GIL),
    never rewritten. The recorder cuts ``started`` and ``finished`` as it reads them.

    Positions go in as plain appends, not calls: the two calls per task they replace
    were a fourteenth of what a history added to a run of 100,000 no-op tasks.
    """

    entries: list[TaskReportEntry | None]  # by position: None until written
    results: list[Any]  # by position: a task's result, once it succeeded
    started: list[int] = field(default_factory=list)  # declared tasks, at their start
    finished: list[int] = field(default_factory=list)  # as their entries are written
