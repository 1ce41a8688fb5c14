"""Each read of a RunHistory finds its rows by an index: never a scan of every run (§12)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from processes import Process, RunHistory, Task

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def _statements(history: RunHistory, read: Callable[[], object]) -> list[str]:
    """The SQL statements ``read`` runs on the history's own connection."""
    seen: list[str] = []
    connection = history._connection.connect()  # module-focused: its own queries
    connection.set_trace_callback(seen.append)
    try:
        read()
    finally:
        connection.set_trace_callback(None)
    return seen


def _plan(path: Path, statement: str) -> str:
    with sqlite3.connect(path) as db:
        rows = db.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
    return "\n".join(row[-1] for row in rows)


def test_runs_report_and_last_find_their_rows_by_an_index(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunHistory(path) as history:
        for name in ("a", "b"):
            for _ in range(3):
                report = Process([Task("t", lambda: 1)], name=name).run(history=history)
        reads: dict[str, Callable[[], object]] = {
            "runs()": history.runs,
            "runs(name)": lambda: history.runs("a"),
            "report(run_id)": lambda: history.report(report.run_id),
            "last(name)": lambda: history.last("a"),
            "task_stats(name, task)": lambda: history.task_stats("a", "t"),
        }
        for label, read in reads.items():
            begin, *statements, commit = _statements(history, read)
            # One read transaction: its queries see one state of the file (WAL snapshot).
            assert (begin, commit) == ("BEGIN", "COMMIT"), label
            assert len(statements) == len(PLANS[label]), (label, statements)
            for statement, expected in zip(statements, PLANS[label], strict=True):
                plan = _plan(path, statement)
                # Newest first comes from the index itself, never from sorting the rows.
                assert "TEMP B-TREE" not in plan, (label, plan)
                assert plan == expected, (label, plan)


#: The plan of each statement a read runs: a report is its row in ``runs`` and its
#: tasks' rows (their status, attempts and time), both found by their key.
PLANS = {
    # The rowid B-tree walked from its end, stopped after `limit` rows.
    "runs()": ["SCAN runs"],
    "runs(name)": ["SEARCH runs USING INDEX runs_by_process (process_name=?)"],
    "report(run_id)": [
        "SEARCH runs USING INDEX sqlite_autoindex_runs_1 (run_id=?)",
        "SEARCH tasks USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
    ],
    "last(name)": [
        "SEARCH runs USING INDEX runs_by_process (process_name=?)",
        "SEARCH tasks USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
    ],
    # Each run's own rows, by their ids: never the whole table. Then its items' (§15),
    # counted per run the same way.
    "task_stats(name, task)": [
        "SEARCH r USING COVERING INDEX runs_by_process (process_name=?)\n"
        "SEARCH t USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
    ]
    * 2,
}
