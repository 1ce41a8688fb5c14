"""``RunHistory.grids()``, what the history's page shows (SPEC §16): read from the stored
report without rebuilding its entries, yet the same cells as the decoded reports, for the
format this version writes and for the older ``to_json()`` form alike; read-only.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from factories import T0, make_entry, make_error, make_report
from processes import Expectation, FindingKind, RunHistory, TaskStatus
from processes.history.queries import MAX_KEYS_NAMED, GridCell
from processes.outcome import SkipReason, TaskChange
from processes.rendering.history_page import run_page_name
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


def _mapped_night(night: int, items: int = 30) -> ProcessExecutionReport:
    """A mapped task ``load`` of ``items`` items (entries ``load[<key>]``): night N fails
    items 0 to N-1 (the last of them skipped, as a chained item would be)."""
    t0 = T0 + timedelta(days=night)
    status = TaskStatus.ERRORED if night > 20 else TaskStatus.SUCCESS
    entries = [
        make_entry("list", seconds=0.1, t0=t0),
        make_entry("load", status, seconds=1.0, t0=t0),
    ]
    for i in range(items):  # as a run reports them: after their mapped task, saying it
        key = f"k[{i}]"  # a key may hold brackets too
        item = make_entry(f"load[{key}]", seconds=0.01, t0=t0)
        if i < night - 1:
            error = make_error(f"load[{key}]", f"ValueError: item {i} <bad>")
            item = make_entry(f"load[{key}]", TaskStatus.ERRORED, error=error, t0=t0)
        elif i == night - 1:
            item = replace(
                make_entry(f"load[{key}]", TaskStatus.SKIPPED, t0=t0),
                skip_reason=SkipReason.UPSTREAM_FAILED,
                skip_cause="list",
            )
        entries.append(replace(item, mapped_task="load", item_key=key))
    return replace(make_report(*entries, name="fan", t0=t0), run_id=f"fan-{night}")


def test_a_mapped_task_is_one_cell_counting_its_failed_items(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db") as history:
        recorded = [history.record(_mapped_night(night)) for night in (0, 3, 25)]
        (grid,) = history.grids()
        expected = [run.cells for run in grid.runs]
    assert grid.task_names == ("list", "load")  # no row per item
    quiet, three, many = (run.cells["load"] for run in grid.runs)
    assert (quiet.items, quiet.failed_items, quiet.failed_keys) == (30, 0, ())
    assert (three.items, three.failed_items, three.skipped_items) == (30, 3, 1)
    assert three.failed_keys == (
        ("k[0]", "ValueError: item 0 <bad>"),
        ("k[1]", "ValueError: item 1 <bad>"),
        ("k[2]", "list"),
    )
    assert (many.status, many.failed_items, many.skipped_items) == ("errored", 25, 1)
    assert len(many.failed_keys) == MAX_KEYS_NAMED  # named up to a bound, the rest counted
    assert grid.runs[0].cells["list"].items is None
    # The same cells from the reports as an older version stored them (to_json()), where
    # every item says its mapped task.
    with closing(sqlite3.connect(tmp_path / "runs.db")) as db, db:
        for report in recorded:
            db.execute(
                "UPDATE runs SET report = ? WHERE run_id = ?", (report.to_json(), report.run_id)
            )
    with RunHistory(tmp_path / "runs.db") as history:
        assert [run.cells for run in history.grids()[0].runs] == expected


def test_the_runs_the_watch_found_missing_are_in_the_grid(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db") as history:
        for night in range(4):
            history.record(_night(night))
            if night in (0, 2):  # the next night came late: found missing in between
                found = history.check(
                    Expectation("nightly", every=timedelta(hours=1)),
                    now=T0 + timedelta(days=night, hours=2),
                )[0]
                assert found.kind is FindingKind.MISSED
        (grid,) = history.grids()
        (newest,) = history.grids(limit=2)
    assert [m.due for m in grid.missed] == [
        T0 + timedelta(hours=1),
        T0 + timedelta(days=2, hours=1),
    ]
    assert grid.missed[1].due == found.since
    assert grid.missed[0].found_at == T0 + timedelta(hours=2)
    assert grid.missed[0].after_run_id == "night-0"
    assert [m.due for m in newest.missed] == [found.since]  # after the oldest run shown


def test_a_run_page_name_is_a_plain_file_name_whatever_the_run_id() -> None:
    assert run_page_name("20261205T021500Z-1a2b3c4d") == "20261205T021500Z-1a2b3c4d.html"
    names = {run_page_name(run_id) for run_id in ("../../etc/x", "a/b", ".hidden", "", "é", "a b")}
    assert len(names) == 6  # one file each
    for name in names:
        assert re.fullmatch(r"run-[0-9a-f]{20}\.html", name), name


def test_declared_tasks_named_like_items_keep_rows_of_their_own(tmp_path: Path) -> None:
    """``fetch[eu]`` and ``fetch[us]`` declared beside ``fetch`` (per-region tasks made by
    hand) are three rows, not a mapped task with two items."""
    report = make_report(
        make_entry("fetch"),
        make_entry("fetch[eu]"),
        make_entry("fetch[us]", TaskStatus.ERRORED, error=make_error("fetch[us]", "boom")),
        name="regions",
    )
    with RunHistory(tmp_path / "runs.db") as history:
        history.record(report)
        (grid,) = history.grids()
    assert grid.task_names == ("fetch", "fetch[eu]", "fetch[us]")
    (run,) = grid.runs
    assert run.cells["fetch"].items is None  # no mapped task
    assert run.cells["fetch[us]"].status == "errored"
