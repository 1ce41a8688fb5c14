"""Recording a run: its row when it starts (after closing the crashed runs of its
process), then one write transaction at its end that works out what changed, adds the
run's rows and forgets the runs it pushes out of the history.

Imports the package's schema, stored format, keeping policy, changes, crashes and live
runs; never queries.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from processes.history import live
from processes.history.changes import Streak, compare
from processes.history.crashes import LiveRow, crash_of, live_report, live_rows
from processes.history.keeping import results_to_keep
from processes.history.schema import ids_of, insert_task_rows
from processes.history.stored import encode_report
from processes.history.vitals import HOST
from processes.outcome import TaskStatus
from processes.redaction import Redactor

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Collection, Sequence

    from processes.outcome import CrashedRun
    from processes.report import ProcessExecutionReport, TaskReportEntry

_ARGV_REDACTOR = Redactor()


def record(
    connection: sqlite3.Connection,
    report: ProcessExecutionReport,
    results: Sequence[Any] | None,
    *,
    keep_runs: int,
    store_results: bool,
    max_result_bytes: int,
    run: int | None = None,
    written: Collection[int] = (),
    fingerprints: Sequence[str] = (),
    positions: Sequence[int] | None = None,
) -> ProcessExecutionReport:
    """Record a finished run in one write transaction; return the report with its
    ``changes`` and ``streaks``. ``run`` is the id of its row when it was written at its
    start (``begin``), ``written`` the ids of the ``tasks`` rows its checkpoints wrote,
    ``positions`` each entry's position in the run when it has items (§15).
    Raises what SQLite raises: the caller warns."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        report = _write_end(
            connection,
            report,
            results,
            keep_runs=keep_runs,
            store_results=store_results,
            max_result_bytes=max_result_bytes,
            run=run,
            written=written,
            fingerprints=fingerprints,
            positions=positions,
        )
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return report


def begin(
    connection: sqlite3.Connection,
    run_id: str,
    process_name: str,
    started_at: datetime,
    names: Sequence[str],
    fingerprints: Sequence[str],
    *,
    keep_runs: int,
    stale_seconds: float,
) -> tuple[int, tuple[CrashedRun, ...]]:
    """Write the row of a run that starts now, in one write transaction, after closing
    the crashed runs of its process (§13); return its id and those runs."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        crashes = tuple(
            close_crashed(connection, row, keep_runs)
            for row in live_rows(connection, process_name)
            if row.has_crashed(stale_seconds)
        )
        run = live.begin(
            connection,
            run_id,
            process_name,
            started_at,
            HOST,
            json.dumps(_masked_argv(_argv())),
            names,
            fingerprints,
        )
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return run, crashes


def close_crashed(connection: sqlite3.Connection, row: LiveRow, keep_runs: int) -> CrashedRun:
    """Write the end of a crashed run, as far as its checkpoints go, inside the caller's
    write transaction: what the next run does (``begin``), and the watch (§14)."""
    report = live_report(connection, row, crashed=True)
    first, end = ids_of(row.id)
    ids = dict(
        connection.execute("SELECT name, id FROM tasks WHERE id >= ? AND id < ?", (first, end))
    )
    written = set(ids.values())
    # Its items (§15) are where their checkpoints wrote them; its tasks at their places.
    declared = {name: first + k for k, name in enumerate(row.names)}
    positions = [(ids.get(name) or declared[name]) - first for name in report.entries]
    _write_end(
        connection,
        report,
        None,
        keep_runs=keep_runs,
        store_results=False,
        max_result_bytes=0,
        run=row.id,
        written=written,
        fingerprints=row.fingerprints,
        positions=positions,
    )
    return crash_of(row, report)


def _write_end(
    connection: sqlite3.Connection,
    report: ProcessExecutionReport,
    results: Sequence[Any] | None,
    *,
    keep_runs: int,
    store_results: bool,
    max_result_bytes: int,
    run: int | None,
    written: Collection[int],
    fingerprints: Sequence[str],
    positions: Sequence[int] | None = None,
) -> ProcessExecutionReport:
    """The writes of ``record``, inside the caller's transaction."""
    entries = list(report.entries.values())
    kept = results_to_keep(
        entries, results, store_results=store_results, max_result_bytes=max_result_bytes
    )
    started = report.started_at.isoformat() if report.started_at else None
    if run is None:
        # The run's id is known before its row is written, so that its tasks' rows
        # are built in the same pass as the stored report (AUTOINCREMENT: never reused).
        (run,) = connection.execute(
            "SELECT coalesce(max(seq), 0) + 1 FROM sqlite_sequence WHERE name = 'runs'"
        ).fetchone()
        begun = False
    else:
        begun = True
    assert run is not None
    before = _previous_streaks(connection, report.process_name, run)
    since_now = started or datetime.now(UTC).isoformat()
    changes, streaks, failing = compare(before, report, since_now)
    report = replace(report, changes=changes, streaks=streaks, compared=True)
    counts = _counts(entries)
    text, task_rows = encode_report(report, run, fingerprints, positions)
    # The oldest runs go first: the new run's rows reuse their pages, which are
    # then written once (deleting after inserting writes twice as much).
    _forget_old_runs(connection, report.process_name, keep_runs, run)
    ending = (
        started,
        report.finished_at.isoformat() if report.finished_at else None,
        int(counts[1] == 0 and counts[2] == 0),
        *counts,
        report.stopped_by.value if report.stopped_by else None,
        text,
    )
    if begun:
        connection.execute(
            "UPDATE runs SET started_at = ?, finished_at = ?, ok = ?, succeeded = ?,"
            " errored = ?, skipped = ?, stopped_by = ?, report = ?, running = NULL"
            " WHERE id = ?",
            (*ending, run),
        )
        connection.execute("DELETE FROM checkpoints WHERE run = ?", (run,))
        if written:
            task_rows = (row for row in task_rows if row[0] not in written)
    else:
        connection.execute(
            "INSERT INTO runs (id, run_id, process_name, host, pid, argv, started_at,"
            " finished_at, ok, succeeded, errored, skipped, stopped_by, report)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run,
                report.run_id,
                report.process_name,
                report.host,
                os.getpid(),
                json.dumps(_masked_argv(_argv())),
                *ending,
            ),
        )
    insert_task_rows(connection, task_rows)
    connection.executemany(
        "INSERT INTO streaks VALUES (?, ?, ?, ?)",
        [(run, name, count, since) for name, (count, since) in failing.items()],
    )
    if kept:  # a checkpoint may have kept some already
        connection.executemany(
            "INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?)",
            [(run, name, kind, value, reason) for name, kind, value, reason in kept],
        )
    return report


def _previous_streaks(
    connection: sqlite3.Connection, process_name: str, run: int
) -> dict[str, Streak]:
    """The streaks kept by the run of ``process_name`` that ended last before run ``run``,
    by task name (none when it has no such run)."""
    previous = connection.execute(
        "SELECT id FROM runs WHERE process_name = ? AND id < ? AND finished_at IS NOT NULL"
        " ORDER BY id DESC LIMIT 1",
        (process_name, run),
    ).fetchone()
    if previous is None:
        return {}
    return {
        name: (count, since)
        for name, count, since in connection.execute(
            "SELECT name, runs, since FROM streaks WHERE run = ?", (previous[0],)
        )
    }


def _forget_old_runs(
    connection: sqlite3.Connection, process_name: str, keep_runs: int, run: int
) -> None:
    """Delete the ended runs of ``process_name`` that run ``run``, ending now, pushes out
    (a run still running is never forgotten)."""
    old = [
        row[0]
        for row in connection.execute(
            "SELECT id FROM runs WHERE process_name = ? AND id != ? AND finished_at IS NOT NULL"
            " ORDER BY id DESC LIMIT -1 OFFSET ?",
            (process_name, run, keep_runs - 1),
        )
    ]
    if not old:
        return
    ids = [(run,) for run in old]
    connection.executemany(
        "DELETE FROM tasks WHERE id >= ? AND id < ?", [ids_of(run) for run in old]
    )
    for table in ("streaks", "results", "checkpoints"):
        connection.executemany(f"DELETE FROM {table} WHERE run = ?", ids)
    connection.executemany("DELETE FROM runs WHERE id = ?", ids)


def _counts(entries: list[TaskReportEntry]) -> tuple[int, int, int]:
    statuses = [entry.status for entry in entries]
    return (
        statuses.count(TaskStatus.SUCCESS),
        statuses.count(TaskStatus.ERRORED),
        statuses.count(TaskStatus.SKIPPED),
    )


def _argv() -> list[str]:
    return [str(argument) for argument in getattr(sys, "argv", None) or []]


def _masked_argv(argv: list[str]) -> list[str]:
    """The command line without the secrets given on it (``--password x``, ``-p "$PW"``)."""
    return _ARGV_REDACTOR.mask_command_line(argv)
