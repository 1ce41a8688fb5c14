"""A run's report entries: the one place an entry is built, and the report they make.

Each entry shows a task's inputs and result as ``inputs`` says reports show them.
Imports the report's model and the engine's ``inputs``; decides nothing.
"""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from processes.outcome import TaskStatus
from processes.redaction import REDACTED
from processes.report import ProcessExecutionReport, new_entry
from processes.task import utcnow

if TYPE_CHECKING:
    from collections.abc import Mapping

    from processes.execution.inputs import Inputs
    from processes.execution.items import Items
    from processes.graph import TaskGraph
    from processes.life import TaskLife
    from processes.outcome import ErrorData, SkipReason, StopReason
    from processes.report import TaskReportEntry
    from processes.run_so_far import RunSoFar
    from processes.task import Task

_now = datetime.now  # _now(UTC): the wall clock of entries, without a call in between
_HOST = socket.gethostname()  # read once: a report names the machine it ran on


class Recorder(Protocol):
    """What records a run as it goes (a history's ``LiveRun``): handed the run as it goes
    when the run begins, it reads it from a thread of its own."""

    def follow(self, run: RunSoFar) -> None: ...


class Entries:
    """``by_position[i]``: task ``i``'s entry once it is known, else None; ``written``
    (when a run is recorded as it goes) has the positions in the order their entries
    were written.

    Positions from ``items.declared`` on are items of mapped tasks (SPEC §15): each
    entry is named ``<task>[<key>]``; ``written`` has their positions too, and the
    report puts them after their mapped task.
    """

    __slots__ = ("by_position", "graph", "inputs", "items", "items_of", "tasks", "written")

    def __init__(
        self,
        tasks: list[Task],
        graph: TaskGraph,
        inputs: Inputs,
        items: Items,
    ) -> None:
        self.tasks = tasks
        self.graph = graph
        self.inputs = inputs
        self.items = items
        self.items_of: dict[int, range] = {}  # a mapped task -> its items' positions
        self.by_position: list[TaskReportEntry | None] = [None] * len(tasks)
        self.written: list[int] | None = None  # a recorded run's ``RunSoFar.finished``

    def add_items(self, mapped: int, positions: range) -> None:
        self.items_of[mapped] = positions
        self.by_position.extend([None] * len(positions))

    def in_report_order(self, values: list[Any]) -> list[Any]:
        """``values`` by position, in the order of the report's entries: each mapped
        task's items after it."""
        items_of = self.items_of
        if not items_of:
            return values
        ordered: list[Any] = []
        for i in range(self.items.declared):
            ordered.append(values[i])
            if i in items_of:
                ordered.extend(values[item] for item in items_of[i])
        return ordered

    def name(self, i: int) -> str:
        """What task ``i``'s entry is called: an item ``<task>[<key>]``."""
        name = self.tasks[i].name
        if i < self.items.declared:
            return name
        return f"{name}[{self.items.key(i)}]"

    def finished(
        self, i: int, life: TaskLife, status: TaskStatus, result: Any, error: ErrorData | None
    ) -> None:
        """Task ``i`` ran: its entry from its life, ending now."""
        inputs = self.inputs
        items = self.items
        task = self.tasks[i]
        base, item, key = i, None, None
        if i >= items.declared:  # an item: shown as its mapped task shows its inputs
            base, item, key = items.group(i).mapped, (items.value(i),), items.key(i)
            items.forget_value(i)
        args, kwargs = life.args, life.kwargs
        if error is None:
            # (Without inputs, nothing to show or to hide.)
            if (args or kwargs) and (
                item is not None or not inputs.as_called[base] or inputs.shown_otherwise
            ):
                args, kwargs = inputs.shown(base, args, kwargs, self.by_position, item)
            if self.items_of and i in self.items_of:
                shown_result = self._summed_up(i, result)
            else:
                shown_result = inputs.shown_result(base, result)
        else:  # its life holds its inputs as its failure shows them already
            shown_result = None
        self.by_position[i] = new_entry(
            task.name if key is None else f"{task.name}[{key}]",
            task.function_label,
            args,
            kwargs,
            status,
            time.perf_counter() - life.started_perf,
            life.attempts,
            shown_result,
            error,
            life.started_at,
            _now(UTC),
            self.graph.upstream_names[base],
            life.attempt_errors,
            mapped_task="" if key is None else task.name,
            item_key=key,
        )
        if self.written is not None:
            self.written.append(i)

    def _summed_up(self, mapped: int, result: dict[str, Any]) -> Any:
        """A mapped task's result as its entry shows it: its items' results as their
        entries show them (scrubbed once there, not again), under their keys."""
        inputs = self.inputs
        if mapped in inputs.secret_results:
            return REDACTED
        if mapped not in inputs.shown_otherwise:  # no item's result is shown otherwise
            return result
        entries = (self.by_position[p] for p in self.items_of[mapped])
        shown = (e.result for e in entries if e is not None and e.status is TaskStatus.SUCCESS)
        return dict(zip(result, shown, strict=True))

    def skipped(self, i: int, reason: SkipReason, cause: int | None) -> None:
        """Task ``i`` never runs: why, and the errored task at the root of it."""
        task = self.tasks[i]
        self._record(
            i,
            TaskStatus.SKIPPED,
            (task.hide_secret_args(task.args), task.redactor.scrub_kwargs(task.kwargs)),
            skip_reason=reason,
            skip_cause="" if cause is None else self.name(cause),
        )
        if i >= self.items.declared:
            self.items.forget_value(i)

    def reused(self, i: int, value: Any, earlier: TaskReportEntry) -> None:
        """Task ``i`` takes its result from the resumed run: the arguments as that run
        showed them, the result as this run shows results, and no times."""
        base = i if i < self.items.declared else self.items.group(i).mapped
        self._record(
            i,
            TaskStatus.SUCCESS,
            (earlier.args, earlier.kwargs),
            result=self.inputs.shown_result(base, value),
            reused=True,
        )
        if i >= self.items.declared:
            self.items.forget_value(i)

    def report(
        self,
        process_name: str,
        run_id: str,
        started_at: datetime,
        stopped_by: StopReason | None,
        rerun_reasons: Mapping[int, str],
    ) -> ProcessExecutionReport:
        """The report of a run whose every entry is written."""
        by_position = self.by_position
        # all(): an entry is true, and None in the list would ask every entry's __eq__
        assert all(by_position), "every task has its entry by the end of a run"
        entries: dict[str, TaskReportEntry]
        if not self.items_of:
            entries = dict(zip(self.graph.order, by_position, strict=True))  # type: ignore[arg-type]
        else:  # each mapped task's items after it, in item order
            entries = {}
            for i, name in enumerate(self.graph.order):
                entries[name] = by_position[i]  # type: ignore[assignment]
                for item in self.items_of.get(i, ()):
                    entry = by_position[item]
                    assert entry is not None
                    entries[entry.name] = entry
        for i, reason in rerun_reasons.items():
            name = self.tasks[i].name
            entries[name] = replace(entries[name], rerun_reason=reason)
        return ProcessExecutionReport(
            entries,
            process_name,
            started_at,
            utcnow(),
            run_id=run_id,
            host=_HOST,
            stopped_by=stopped_by,
        )

    def _record(
        self,
        i: int,
        status: TaskStatus,
        shown_inputs: tuple[tuple[Any, ...], dict[str, Any]],
        result: Any = None,
        reused: bool = False,
        skip_reason: SkipReason | None = None,
        skip_cause: str = "",
    ) -> TaskReportEntry:
        """The entry of a task that did not run in this run (skipped, or reused): no
        attempts, no times, no error."""
        task = self.tasks[i]
        items = self.items
        mapped, key = (i, None) if i < items.declared else (items.group(i).mapped, items.key(i))
        entry = self.by_position[i] = new_entry(
            self.name(i),
            task.function_label,
            *shown_inputs,
            status,
            0.0,
            0,
            result,
            None,
            None,
            None,
            self.graph.upstream_names[mapped],
            (),
            reused,
            "",
            skip_reason,
            skip_cause,
            "" if key is None else task.name,
            key,
        )
        if self.written is not None:
            self.written.append(i)
        return entry
