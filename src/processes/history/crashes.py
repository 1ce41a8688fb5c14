"""Runs that have not ended: still running, or crashed (SPEC §13), and their reports as far
as they got.

A run is in the file from its start; until it ends its ``report`` holds only its task
names, and what it did is in its checkpoints. Reading never writes: a crashed run is shown
as crashed, and closed (its end written, once) by the next run of its process. Imports
the report, the package's stored format and the process vitals; never a writer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from processes.history.schema import ids_of
from processes.history.stored import decode_report, item_of, parse_time, unpacked_fingerprints
from processes.history.vitals import has_died
from processes.outcome import CrashedRun, ErrorData, SkipReason, StopReason, TaskStatus
from processes.report import ProcessExecutionReport, TaskReportEntry

if TYPE_CHECKING:
    import sqlite3

#: A running task's error in the report of a run whose process died.
DIED_WHILE_RUNNING = (
    "the run's process died while this task ran (killed, out of memory or a reboot)"
)
_LIVE_COLUMNS = (
    "id, run_id, process_name, started_at, host, pid, process_start, heartbeat_at, running, report"
)


@dataclass(frozen=True, slots=True)
class LiveRow:
    """The row of a run that has not ended."""

    id: int
    run_id: str
    process_name: str
    started_at: datetime | None
    host: str
    pid: int | None
    process_start: int | None
    heartbeat_at: datetime | None
    running: tuple[str, ...]
    names: tuple[str, ...]
    fingerprints: tuple[str, ...]

    def has_crashed(self, stale_seconds: float, now: datetime | None = None) -> bool:
        """Whether the process recording it is gone (``vitals.has_died``)."""
        return has_died(
            self.host,
            self.pid,
            self.process_start,
            self.heartbeat_at,
            now or datetime.now(UTC),
            stale_seconds,
        )


def is_live(report_text: str) -> bool:
    """Whether a ``runs.report`` is that of a run that has not ended (cheap: a prefix)."""
    return report_text.startswith('{"format":"live"')


def live_row(row: tuple[Any, ...]) -> LiveRow:
    run, run_id, process_name, started_at, host, pid, start, heartbeat, running, text = row
    live = json.loads(text)
    return LiveRow(
        run,
        run_id,
        process_name,
        parse_time(started_at),
        host,
        pid,
        start,
        parse_time(heartbeat),
        tuple(json.loads(running or "[]")),
        tuple(live["names"]),
        tuple(unpacked_fingerprints(live)),
    )


def live_rows(connection: sqlite3.Connection, process_name: str) -> list[LiveRow]:
    """The runs of ``process_name`` that have not ended, oldest first."""
    return [
        live_row(row)
        for row in connection.execute(
            f"SELECT {_LIVE_COLUMNS} FROM runs WHERE process_name = ? AND finished_at IS NULL"
            " ORDER BY id",
            (process_name,),
        )
    ]


def live_row_of(connection: sqlite3.Connection, run: int) -> LiveRow:
    row = connection.execute(f"SELECT {_LIVE_COLUMNS} FROM runs WHERE id = ?", (run,)).fetchone()
    return live_row(row)


def live_report(
    connection: sqlite3.Connection, row: LiveRow, crashed: bool
) -> ProcessExecutionReport:
    """The report of a run that has not ended, as far as its checkpoints go.

    Still running: the tasks not finished yet are PENDING. Crashed: a task that was
    running is ERRORED (its process died while it ran), the others never started are
    SKIPPED with ``SkipReason.CRASHED``; the run ended at its last sign of life.
    """
    tasks = {
        name: (status, attempts, elapsed)
        for name, status, attempts, elapsed in connection.execute(
            "SELECT name, status, attempts, elapsed_seconds FROM tasks WHERE id >= ? AND id < ?",
            ids_of(row.id),
        )
    }
    finished: dict[str, TaskReportEntry] = {}
    for (text,) in connection.execute(
        "SELECT report FROM checkpoints WHERE run = ? ORDER BY batch", (row.id,)
    ):
        finished.update(decode_report(text, tasks).entries)
    running = set(row.running)
    items = _items_by_task(finished, row.names)
    entries: dict[str, TaskReportEntry] = {}
    for name in row.names:
        entries[name] = finished.get(name) or _unfinished(name, crashed, name in running)
        for item in items.get(name, ()):
            entries[item.name] = item
    return ProcessExecutionReport(
        entries,
        row.process_name,
        row.started_at,
        row.heartbeat_at if crashed else None,
        run_id=row.run_id,
        host=row.host,
        stopped_by=StopReason.CRASHED if crashed else None,
    )


def _items_by_task(
    finished: dict[str, TaskReportEntry], names: tuple[str, ...]
) -> dict[str, list[TaskReportEntry]]:
    """The items (§15) the checkpoints wrote, by mapped task, in the order they ended:
    the entries named ``<task>[<key>]`` after a task of the run."""
    declared = set(names)
    items: dict[str, list[TaskReportEntry]] = {}
    for name, entry in finished.items():
        if (found := item_of(name, declared)) is not None:
            mapped, key = found
            items.setdefault(mapped, []).append(replace(entry, mapped_task=mapped, item_key=key))
    return items


def _unfinished(name: str, crashed: bool, running: bool) -> TaskReportEntry:
    if not crashed:
        return TaskReportEntry(name, "", (), {}, TaskStatus.PENDING, 0.0, 0)
    if not running:
        return TaskReportEntry(
            name, "", (), {}, TaskStatus.SKIPPED, 0.0, 0, skip_reason=SkipReason.CRASHED
        )
    error = ErrorData(
        task_name=name,
        function="",
        args=(),
        kwargs={},
        downstream_impact=[],
        exception=DIED_WHILE_RUNNING,
        traceback_str=DIED_WHILE_RUNNING + "\n",
        traced_vars={},
        traced_vars_location="",
    )
    return TaskReportEntry(name, "", (), {}, TaskStatus.ERRORED, 0.0, 1, error=error)


def crash_of(row: LiveRow, report: ProcessExecutionReport) -> CrashedRun:
    """What the next run says of a crashed run: how far it got, and during which tasks."""
    running = tuple(name for name in row.names if name in set(row.running))
    cut_off = sum(
        entry.skip_reason is SkipReason.CRASHED
        or (entry.error is not None and entry.error.exception == DIED_WHILE_RUNNING)
        for entry in report.entries.values()
    )
    return CrashedRun(row.run_id, row.started_at, len(row.names) - cut_off, len(row.names), running)
