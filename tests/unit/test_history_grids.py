"""``RunHistory.grids()``, what the history's page shows (SPEC §16): read from the stored
report without rebuilding its entries, yet the same cells as the decoded reports, for the
format this version writes and for the older ``to_json()`` form alike; read-only.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from factories import T0, make_entry, make_error, make_report
from processes import RunHistory, TaskStatus
from processes.history.queries import GridCell
from processes.outcome import SkipReason, TaskChange
from processes.report import ProcessExecutionReport


def _night(night: int) -> ProcessExecutionReport:
    """Night 1 fails ``charge`` (its dependant skipped), night 2 retries ``fetch`` and
    fails ``charge`` again, night 3 reuses ``fetch`` and recovers; night 2 adds ``audit``."""
    t0 = T0 + timedelta(days=night)
    fetch = make_entry("fetch", seconds=1.5 + night, attempts=3 if night == 2 else 1, t0=t0)
    if night == 3:
        fetch = replace(fetch, reused=True, attempts=0, elapsed_seconds=0.0)
    charge = make_entry("charge", seconds=2.0, t0=t0)
    mail = make_entry("mail", seconds=0.5, t0=t0)
    if night in (1, 2):
        error = make_error("charge", f"ValueError: <night {night}> \"bad\" & 'worse'")
        charge = make_entry("charge", TaskStatus.ERRORED, seconds=2.0, error=error, t0=t0)
        mail = replace(
            make_entry("mail", TaskStatus.SKIPPED, t0=t0),
            skip_reason=SkipReason.UPSTREAM_FAILED,
            skip_cause="charge",
        )
    entries = [fetch, charge, mail]
    if night == 2:
        entries.append(make_entry("audit", seconds=0.1, t0=t0))
    return replace(make_report(*entries, name="nightly", t0=t0), run_id=f"night-{night}")


def _expected(report: ProcessExecutionReport) -> dict[str, GridCell]:
    cells = {}
    for name, e in report.entries.items():
        message = e.error.headline if e.error else ""
        if e.skip_reason is not None:
            message = e.skip_cause
        change = report.changes[name].value if name in report.changes else ""
        cells[name] = GridCell(
            e.status.value, e.attempts, e.elapsed_seconds, e.reused, change, message
        )
    return cells


def test_the_grid_holds_each_run_s_cells_as_its_report_says(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunHistory(path) as history:
        recorded = [history.record(_night(night)) for night in range(4)]
        (grid,) = history.grids()
    assert grid.process_name == "nightly"
    assert [run.run.run_id for run in grid.runs] == [f"night-{n}" for n in range(4)]
    assert grid.task_names == ("fetch", "charge", "mail", "audit")  # newest run's order first
    for run, report in zip(grid.runs, recorded, strict=True):
        assert run.cells == _expected(report)
    assert recorded[1].changes["charge"] is TaskChange.NEW_FAILURE
    assert grid.runs[2].cells["charge"].change == "still_failing"
    assert grid.runs[3].cells["charge"].change == "recovered"
    assert grid.runs[3].cells["fetch"].reused
    assert grid.runs[2].cells["fetch"].attempts == 3
    assert "audit" not in grid.runs[3].cells
    assert 'ValueError: <night 1> "bad"' in grid.runs[1].cells["charge"].message


def test_an_older_stored_report_gives_the_same_cells(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunHistory(path) as history:
        recorded = [history.record(_night(night)) for night in range(4)]
        expected = [run.cells for run in history.grids()[0].runs]
    with closing(sqlite3.connect(path)) as db, db:
        for report in recorded:  # as schema 1 stored a report: to_json()
            db.execute(
                "UPDATE runs SET report = ? WHERE run_id = ?", (report.to_json(), report.run_id)
            )
    with RunHistory(path) as history:
        assert [run.cells for run in history.grids()[0].runs] == expected


def test_the_limit_keeps_the_newest_runs(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db") as history:
        for night in range(4):
            history.record(_night(night))
        (grid,) = history.grids("nightly", limit=2)
        assert history.grids("nobody") == []
    assert [run.run.run_id for run in grid.runs] == ["night-2", "night-3"]
