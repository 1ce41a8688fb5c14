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
from processes.report import ProcessExecutionReport, new_entry
from processes.task import utcnow

if TYPE_CHECKING:
    from collections.abc import Mapping

    from processes.execution.inputs import Inputs
    from processes.graph import TaskGraph
    from processes.life import TaskLife
    from processes.outcome import ErrorData, SkipReason, StopReason
    from processes.report import TaskReportEntry
    from processes.task import Task

_now = datetime.now  # _now(UTC): the wall clock of entries, without a call in between
_HOST = socket.gethostname()  # read once: a report names the machine it ran on


class Recorder(Protocol):
    """What records a run as it goes (a history's ``LiveRun``): told of each task's start
    and of each entry as it is written, from the run's thread."""

    def task_started(self, position: int, name: str) -> None: ...

    def task_finished(self, position: int, entry: TaskReportEntry, result: Any) -> None: ...


class Entries:
    """``by_position[i]``: task ``i``'s entry once it is known, else None; each is handed
    to ``recorder`` as it is written, with the task's result."""

    __slots__ = ("by_position", "graph", "inputs", "recorder", "tasks")

    def __init__(
        self, tasks: list[Task], graph: TaskGraph, inputs: Inputs, recorder: Recorder | None
    ) -> None:
        self.tasks = tasks
        self.graph = graph
        self.inputs = inputs
        self.recorder = recorder
        self.by_position: list[TaskReportEntry | None] = [None] * len(tasks)

    def finished(
        self, i: int, life: TaskLife, status: TaskStatus, result: Any, error: ErrorData | None
    ) -> None:
        """Task ``i`` ran: its entry from its life, ending now."""
        inputs = self.inputs
        if error is None:
            args, kwargs = inputs.shown(i, life.args, life.kwargs, self.by_position)
            shown_result = inputs.shown_result(i, result)
        else:  # its life holds its inputs as its failure shows them already
            args, kwargs, shown_result = life.args, life.kwargs, None
        task = self.tasks[i]
        entry = self.by_position[i] = new_entry(
            task.name,
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
            self.graph.upstream_names[i],
            life.attempt_errors,
        )
        if self.recorder is not None:
            self.recorder.task_finished(i, entry, result)

    def skipped(self, i: int, reason: SkipReason, cause: int | None) -> None:
        """Task ``i`` never runs: why, and the errored task at the root of it."""
        task = self.tasks[i]
        self._record(
            i,
            TaskStatus.SKIPPED,
            (task.hide_secret_args(task.args), task.redactor.scrub_kwargs(task.kwargs)),
            skip_reason=reason,
            skip_cause="" if cause is None else self.tasks[cause].name,
        )
        if self.recorder is not None:
            self.recorder.task_finished(i, self.by_position[i], None)  # type: ignore[arg-type]

    def reused(self, i: int, value: Any, earlier: TaskReportEntry) -> None:
        """Task ``i`` takes its result from the resumed run: the arguments as that run
        showed them, the result as this run shows results, and no times."""
        self._record(
            i,
            TaskStatus.SUCCESS,
            (earlier.args, earlier.kwargs),
            result=self.inputs.shown_result(i, value),
            reused=True,
        )
        if self.recorder is not None:
            self.recorder.task_finished(i, self.by_position[i], value)  # type: ignore[arg-type]

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
        assert None not in by_position, "every task has its entry by the end of a run"
        entries: dict[str, TaskReportEntry] = dict(
            zip(self.graph.order, by_position, strict=True)  # type: ignore[arg-type]
        )
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

    def _record(  # the entry of a task that did not run in this run
        self,
        i: int,
        status: TaskStatus,
        shown_inputs: tuple[tuple[Any, ...], dict[str, Any]],
        elapsed_seconds: float = 0.0,
        attempts: int = 0,
        result: Any = None,
        error: ErrorData | None = None,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
        attempt_errors: tuple[str, ...] = (),
        reused: bool = False,
        skip_reason: SkipReason | None = None,
        skip_cause: str = "",
    ) -> None:
        task = self.tasks[i]
        self.by_position[i] = new_entry(
            task.name,
            task.function_label,
            *shown_inputs,
            status,
            elapsed_seconds,
            attempts,
            result,
            error,
            started_at,
            finished_at,
            self.graph.upstream_names[i],
            attempt_errors,
            reused,
            "",
            skip_reason,
            skip_cause,
        )
