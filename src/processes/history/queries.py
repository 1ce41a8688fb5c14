"""The read queries of a history: its runs, a run's report and results as stored, a
task's record, the grids of its page. Each takes a connection inside the caller's read
transaction. Imports the package's schema, stored format, crashes and FindingKind; never writes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from processes.history.crashes import is_live, live_report, live_row_of
from processes.history.errors import MissingRows
from processes.history.schema import POSITION_BITS, ids_of
from processes.history.stored import (
    REPORT_FORMAT,
    decode_report,
    items_among,
    parse_time,
    results_in,
)
from processes.outcome import StopReason, TaskStatus, failure_headline
from processes.report.finding import FindingKind

if TYPE_CHECKING:
    import sqlite3

    from processes.report import ProcessExecutionReport, TaskReportEntry

_SUCCESS_VALUE, _SKIPPED_VALUE = TaskStatus.SUCCESS.value, TaskStatus.SKIPPED.value

_RUN_COLUMNS = (
    "run_id, process_name, started_at, finished_at, ok, succeeded, errored, skipped, "
    "host, pid, argv, stopped_by"
)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One recorded run, as ``RunHistory.runs()`` lists it (the report stays in the file)."""

    run_id: str
    process_name: str
    started_at: datetime | None
    finished_at: datetime | None
    ok: bool
    succeeded: int
    errored: int
    skipped: int
    host: str
    pid: int | None
    argv: tuple[str, ...]
    stopped_by: StopReason | None

    @property
    def elapsed_seconds(self) -> float:
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class TaskStats:
    """A task's record over the recorded runs of a process.

    ``runs`` counts the runs where it ran (``succeeded`` + ``failures``); the runs where
    it was ``skipped``, or ``reused`` from a resumed run (attempts 0, no time of its own),
    are counted apart, so they do not pull its durations down. ``flaky`` counts the runs
    where it succeeded after retries; the durations are over the runs where it ran, None
    when it never did.

    A mapped task (§15) also has, for each recorded run where it had items (oldest
    first), how many it had (``items_per_run``) and how many of them did not succeed,
    errored or skipped (``failed_items_per_run``); both None for any other task.
    """

    process_name: str
    task_name: str
    runs: int
    succeeded: int
    failures: int
    skipped: int
    flaky: int
    p50_seconds: float | None
    p95_seconds: float | None
    reused: int = 0
    items_per_run: tuple[int, ...] | None = None
    failed_items_per_run: tuple[int, ...] | None = None


def runs(
    connection: sqlite3.Connection, process_name: str | None, count: int, stale_seconds: float
) -> list[RunSummary]:
    """The newest ``count`` runs (all of them for -1), of ``process_name`` only if given;
    a run that has not ended as far as it got: running, or crashed (§13)."""
    if process_name is None:
        rows = connection.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?", (count,)
        ).fetchall()
    else:
        rows = connection.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE process_name = ? ORDER BY id DESC LIMIT ?",
            (process_name, count),
        ).fetchall()
    return [
        _summary(row) if row[3] is not None else _live_summary(connection, row, stale_seconds)
        for row in rows
    ]


def _live_summary(
    connection: sqlite3.Connection, row: tuple[Any, ...], stale_seconds: float
) -> RunSummary:
    """The summary of a run that has not ended, from its report as far as it got."""
    (run,) = connection.execute("SELECT id FROM runs WHERE run_id = ?", (row[0],)).fetchone()
    return _as_far_as_it_got(_summary(row), live_run_report(connection, run, stale_seconds))


def _as_far_as_it_got(summary: RunSummary, report: ProcessExecutionReport) -> RunSummary:
    """The summary of a run that has not ended, its counts from its report so far."""
    return replace(
        summary,
        finished_at=report.finished_at,
        ok=False,
        succeeded=len(report.successes),
        errored=len(report.errored),
        skipped=len(report.skipped),
        stopped_by=report.stopped_by,
    )


def live_run_report(
    connection: sqlite3.Connection, run: int, stale_seconds: float
) -> ProcessExecutionReport:
    """The report of run ``run``, which has not ended: running, or crashed."""
    row = live_row_of(connection, run)
    return live_report(connection, row, crashed=row.has_crashed(stale_seconds))


def run_row(
    connection: sqlite3.Connection, columns: str, run_id: str, path: str
) -> tuple[Any, ...]:
    """The ``columns`` of run ``run_id``; a LookupError naming it when it is not here."""
    row: tuple[Any, ...] | None = connection.execute(
        f"SELECT {columns} FROM runs WHERE run_id = ?", (run_id,)
    ).fetchone()
    if row is None:
        raise LookupError(f"no run {run_id!r} in the history {path}")
    return row


def last_run_row(connection: sqlite3.Connection, process_name: str) -> tuple[int, str] | None:
    """The id and stored report of the newest run of ``process_name``, or None."""
    row: tuple[int, str] | None = connection.execute(
        "SELECT id, report FROM runs WHERE process_name = ? ORDER BY id DESC LIMIT 1",
        (process_name,),
    ).fetchone()
    return row


def task_rows(connection: sqlite3.Connection, run: int) -> dict[str, tuple[str, int, float]]:
    """The status, attempts and elapsed time of run ``run``'s tasks, by name; a
    ``ValueError`` (a damaged file) for an elapsed time that is not a finite number."""
    rows = {
        name: (status, attempts, elapsed)
        for name, status, attempts, elapsed in connection.execute(
            "SELECT name, status, attempts, elapsed_seconds FROM tasks WHERE id >= ? AND id < ?",
            ids_of(run),
        )
    }
    for name, (_, _, elapsed) in rows.items():
        if not (isinstance(elapsed, int | float) and math.isfinite(elapsed)):
            raise ValueError(f"task {name!r} has an elapsed time of {elapsed!r}")
    return rows


def stored_results(
    connection: sqlite3.Connection,
    run: int,
    text: str,
    tasks: dict[str, tuple[str, int, float]],
) -> tuple[list[tuple[str, str, Any]], dict[str, tuple[str, Any, str]]]:
    """Run ``run``'s results as stored: each entry's name, status value and result in its
    stored report ``text`` (``tasks``: its ``tasks`` rows), and its ``results`` rows'
    kind, value and reason by name."""
    statuses = {name: status for name, (status, _, _) in tasks.items()}
    texts = [text]
    if is_live(text):  # what its checkpoints hold
        texts = [
            batch
            for (batch,) in connection.execute(
                "SELECT report FROM checkpoints WHERE run = ? ORDER BY batch", (run,)
            )
        ]
    kept = {
        name: (kind, value, reason)
        for name, kind, value, reason in connection.execute(
            "SELECT name, kind, value, reason FROM results WHERE run = ?", (run,)
        )
    }
    return [found for batch in texts for found in results_in(batch, statuses)], kept


def task_stats(connection: sqlite3.Connection, process_name: str, task_name: str) -> TaskStats:
    """How task ``task_name`` (lower-cased) fared over the recorded runs of ``process_name``."""
    name = task_name.lower()
    rows = connection.execute(
        "SELECT t.status, t.attempts, t.elapsed_seconds FROM runs r"
        f" JOIN tasks t ON t.id >= r.id << {POSITION_BITS}"
        f" AND t.id < (r.id + 1) << {POSITION_BITS} AND t.name = ?"
        " WHERE r.process_name = ?",
        (name, process_name),
    ).fetchall()
    success, errored = TaskStatus.SUCCESS.value, TaskStatus.ERRORED.value
    # A reused entry (resume) succeeded with no attempt of its own: not a run.
    ran = [row for row in rows if row[0] == errored or (row[0] == success and row[1] > 0)]
    durations = sorted(elapsed for _, _, elapsed in ran)
    succeeded = sum(status == success for status, _, _ in ran)
    return TaskStats(
        process_name=process_name,
        task_name=name,
        runs=len(ran),
        succeeded=succeeded,
        failures=len(ran) - succeeded,
        skipped=sum(status == TaskStatus.SKIPPED.value for status, _, _ in rows),
        flaky=sum(status == success and attempts > 1 for status, attempts, _ in ran),
        p50_seconds=_percentile(durations, 50),
        p95_seconds=_percentile(durations, 95),
        reused=sum(status == success and attempts == 0 for status, attempts, _ in rows),
        **_items_per_run(connection, process_name, name),
    )


def _items_per_run(
    connection: sqlite3.Connection, process_name: str, name: str
) -> dict[str, tuple[int, ...]]:
    """The items of task ``name`` and those that did not succeed, per run, oldest first:
    the rows named ``<name>[...]`` (a range of names: ``\\`` follows ``[``)."""
    rows = connection.execute(
        "SELECT count(*), sum(t.status != ?) FROM runs r"
        f" JOIN tasks t ON t.id >= r.id << {POSITION_BITS}"
        f" AND t.id < (r.id + 1) << {POSITION_BITS} AND t.name > ? AND t.name < ?"
        " WHERE r.process_name = ? GROUP BY r.id ORDER BY r.id",
        (TaskStatus.SUCCESS.value, name + "[", name + "\\", process_name),
    ).fetchall()
    if not rows:
        return {}
    return {
        "items_per_run": tuple(count for count, _ in rows),
        "failed_items_per_run": tuple(failed for _, failed in rows),
    }


def process_names(connection: sqlite3.Connection) -> list[str]:
    """The names of the processes that have recorded runs, sorted."""
    rows = connection.execute("SELECT DISTINCT process_name FROM runs").fetchall()
    return sorted(row[0] for row in rows)


def _summary(row: tuple[Any, ...]) -> RunSummary:
    run_id, name, started, finished, ok, succeeded, errored, skipped, host, pid, argv, stop = row
    try:
        arguments = tuple(str(a) for a in json.loads(argv))
    except (TypeError, ValueError):
        arguments = ()
    return RunSummary(
        run_id=run_id,
        process_name=name,
        started_at=parse_time(started),
        finished_at=parse_time(finished),
        ok=bool(ok),
        succeeded=succeeded,
        errored=errored,
        skipped=skipped,
        host=host,
        pid=pid,
        argv=arguments,
        stopped_by=StopReason(stop) if stop else None,
    )


def _percentile(ordered: list[float], percent: int) -> float | None:
    """The nearest-rank percentile of sorted values; None when there are none."""
    if not ordered:
        return None
    rank = max(math.ceil(percent / 100 * len(ordered)), 1)
    return ordered[rank - 1]


# -- the grid of runs by tasks (SPEC §16) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GridCell:
    """A task in one run, as the history's page shows it: its status (a ``TaskStatus``
    value), attempts, duration, whether it was reused from a resumed run, how it changed
    since the run before (a ``TaskChange`` value, or ""), and its failure's message."""

    status: str
    attempts: int
    elapsed_seconds: float
    reused: bool = False
    change: str = ""
    message: str = ""
    #: A mapped task (§15): its items in that run (None for any other task), how many of
    #: them did not succeed (errored or skipped), how many of those were skipped, and the
    #: first ``MAX_KEYS_NAMED`` of those by key, each with its message.
    items: int | None = None
    failed_items: int = 0
    skipped_items: int = 0
    failed_keys: tuple[tuple[str, str], ...] = ()


#: The most keys of failed items a mapped task's cell names (the others are counted).
MAX_KEYS_NAMED = 10


@dataclass(frozen=True, slots=True)
class MissedRun:
    """A run the watch found missing (§14, ``check()``): when it was due (the previous
    start + ``every``), when ``check()`` found it, and the run it followed ("" if none)."""

    due: datetime
    found_at: datetime | None
    after_run_id: str


@dataclass(frozen=True, slots=True)
class GridRun:
    """One run of a process, a column of its grid: the run, and its tasks' cells by name."""

    run: RunSummary
    cells: dict[str, GridCell]


@dataclass(frozen=True, slots=True)
class ProcessGrid:
    """A process's last runs (``runs``, oldest first) and its tasks (``task_names``: those
    of its newest run in their order, then those only older runs had)."""

    process_name: str
    runs: tuple[GridRun, ...]
    task_names: tuple[str, ...]
    #: The runs the watch found missing since the oldest run shown, oldest first.
    missed: tuple[MissedRun, ...] = ()


def grids(
    connection: sqlite3.Connection,
    process_name: str | None,
    limit: int,
    stale_seconds: float,
) -> list[ProcessGrid]:
    """The grid of every process (of ``process_name`` only, if given), sorted by name: its
    newest ``limit`` runs, each read once (linear in runs x tasks), and the runs the watch
    found missing among them; never written. A process the watch found missing that
    never ran has a grid of its missed runs alone."""
    missed = _missed_runs(connection, process_name)
    names = process_names(connection) if process_name is None else [process_name]
    if process_name is None:
        names = sorted({*names, *missed})
    found = [_grid(connection, name, limit, stale_seconds, missed.get(name, [])) for name in names]
    return [grid for grid in found if grid.runs or grid.missed]


def _missed_runs(
    connection: sqlite3.Connection, process_name: str | None
) -> dict[str, list[MissedRun]]:
    """The MISSED findings ``check()`` remembered (its ``findings`` table), by process,
    oldest first; none in a file written before the watch existed."""
    exists = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'findings'"
    ).fetchone()
    if exists is None:
        return {}
    query = "SELECT process_name, subject, since, reported_at FROM findings WHERE kind = ?"
    arguments: tuple[str, ...] = (FindingKind.MISSED.value,)
    if process_name is not None:
        query += " AND process_name = ?"
        arguments += (process_name,)
    missed: dict[str, list[MissedRun]] = {}
    for name, subject, since, reported_at in connection.execute(query, arguments):
        due = parse_time(since)
        if due is not None:
            missed.setdefault(name, []).append(MissedRun(due, parse_time(reported_at), subject))
    for found in missed.values():
        found.sort(key=lambda run: run.due)
    return missed


def _grid(
    connection: sqlite3.Connection,
    process_name: str,
    limit: int,
    stale_seconds: float,
    missed: list[MissedRun],
) -> ProcessGrid:
    rows = connection.execute(
        f"SELECT id, report, {_RUN_COLUMNS} FROM runs WHERE process_name = ?"
        " ORDER BY id DESC LIMIT ?",
        (process_name, limit),
    ).fetchall()
    runs: list[GridRun] = []
    order: dict[str, None] = {}
    for run, text, *columns in rows:  # newest first: its tasks' order leads
        summary = _summary(tuple(columns))
        cells = None if is_live(text) else _stored_cells(text, task_rows(connection, run))
        if cells is None:  # not ended (running, or crashed: §13), or an older format
            if is_live(text):
                report = live_run_report(connection, run, stale_seconds)
                summary = _as_far_as_it_got(summary, report)
            else:
                report = decode_report(text, task_rows(connection, run))
            cells = _cells(report)
        runs.append(GridRun(summary, cells))
        order.update(dict.fromkeys(cells))
    runs.reverse()
    if len(runs) == limit:  # older runs are not shown: nor are the runs missed among them
        oldest = runs[0].run.started_at
        missed = [m for m in missed if oldest is None or _instant(m.due) >= _instant(oldest)]
    return ProcessGrid(process_name, tuple(runs), tuple(order), tuple(missed))


def _instant(moment: datetime) -> datetime:
    """An aware time as is; a naive one (a report made by hand) taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _cells(report: ProcessExecutionReport) -> dict[str, GridCell]:
    changes = report.changes
    cells = {
        name: GridCell(
            entry.status.value,
            entry.attempts,
            entry.elapsed_seconds,
            entry.reused,
            changes[name].value if name in changes else "",
            _why(entry),
        )
        for name, entry in report.entries.items()
    }
    items = {
        name: (entry.mapped_task, entry.item_key or "")
        for name, entry in report.entries.items()
        if entry.mapped_task
    }
    return _grouped(cells, items)


def _stored_cells(
    text: str, tasks: dict[str, tuple[str, int, float]]
) -> dict[str, GridCell] | None:
    """The cells of a run from its stored report (format 5) and its ``tasks`` rows, without
    rebuilding its entries: only the detailed ones hold more than their row; None for
    the older formats, which ``decode_report`` reads."""
    data = json.loads(text)
    if data.get("format") != REPORT_FORMAT:
        return None
    details = {row["name"]: row for row in data["details"]}
    changes = data.get("changes") or {}
    cells: dict[str, GridCell] = {}
    names = data["names"]
    spans = data.get("items")  # where the items are (a report stored before: by name)
    items = {names[k]: found for k, found in items_among(names, spans).items()}
    for name in names:
        try:
            status, attempts, elapsed = tasks[name]
        except KeyError:
            raise MissingRows(data.get("run_id"), name) from None
        row = details.get(name)
        if row is None:
            cells[name] = GridCell(status, attempts, elapsed, change=changes.get(name, ""))
            continue
        if row.get("mapped_task"):
            items[name] = (str(row["mapped_task"]), str(row.get("item_key") or ""))
        error = row.get("error") or {}
        why = str(error.get("exception", ""))
        if error.get("exception_is_message"):  # else "Type: message" already, as written once
            why = failure_headline(str(error.get("exception_type", "")), why)
        if not error and row.get("skip_reason"):
            why = row.get("skip_cause") or str(row["skip_reason"]).replace("_", " ")
        reused = bool(row.get("reused"))
        cells[name] = GridCell(status, attempts, elapsed, reused, changes.get(name, ""), why)
    return _grouped(cells, items)


def _grouped(cells: dict[str, GridCell], items: dict[str, tuple[str, str]]) -> dict[str, GridCell]:
    """The cells with each mapped task's items (§15) summed up in its own cell, one row
    per mapped task, never one per item. ``items`` names each item's mapped task and key
    (as its entry, or its stored report, says)."""
    grouped: dict[str, list[tuple[str, GridCell]]] = {}
    kept: dict[str, GridCell] = {}
    for name, cell in cells.items():
        task_key = items.get(name)
        if task_key is None or task_key[0] not in cells:
            kept[name] = cell
        else:
            grouped.setdefault(task_key[0], []).append((task_key[1], cell))
    for task, members in grouped.items():
        failed = [(key, cell) for key, cell in members if cell.status != _SUCCESS_VALUE]
        kept[task] = replace(
            kept[task],
            items=len(members),
            failed_items=len(failed),
            skipped_items=sum(cell.status == _SKIPPED_VALUE for _, cell in failed),
            failed_keys=tuple((key, cell.message) for key, cell in failed[:MAX_KEYS_NAMED]),
        )
    return kept


def _why(entry: TaskReportEntry) -> str:
    """A failure's message; a skip's cause."""
    if entry.error is not None:
        return entry.error.headline
    if entry.skip_reason is not None:
        return entry.skip_cause or entry.skip_reason.value.replace("_", " ")
    return ""
