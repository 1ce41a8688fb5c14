"""RunHistory on real SQLite files: recording, what changed, results, reading (SPEC §12)."""

from __future__ import annotations

import json
import os
import pickle
import re
import sqlite3
import subprocess
import sys
import textwrap
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import processes.history.queries as history_queries
from processes import (
    FailureStreak,
    Process,
    ProcessExecutionReport,
    RunHistory,
    RunHistoryError,
    Task,
    TaskChange,
    TaskDependency,
    TaskStatus,
)
from processes.history.schema import SCHEMA_VERSION, TASK_ROWS_PER_INSERT

pytestmark = pytest.mark.integration

_MICROSECOND = timedelta(microseconds=1)


class Pipeline:
    """extract -> transform -> load, plus an independent audit; failures chosen per run."""

    def __init__(self, name: str = "nightly") -> None:
        self.failing: set[str] = set()
        self.process = Process(
            [
                Task("extract", self.step("extract", [1, 2, 3])),
                Task(
                    "transform",
                    self.step("transform", {"rows": 3}),
                    dependencies=[TaskDependency("extract", use_result_as_additional_args=True)],
                ),
                Task(
                    "load",
                    self.step("load", "loaded"),
                    dependencies=[TaskDependency("transform")],
                ),
                Task("audit", self.step("audit", 7)),
            ],
            name=name,
        )

    def step(self, name: str, value: Any) -> Any:
        def run(*_: Any) -> Any:
            if name in self.failing:
                raise ValueError(f"{name} broke")
            return value

        run.__name__ = name
        return run

    def run(self, history: RunHistory, *failing: str) -> ProcessExecutionReport:
        self.failing = set(failing)
        return self.process.run(history=history)


@pytest.fixture
def history(tmp_path: Path) -> RunHistory:
    with RunHistory(tmp_path / "runs.db") as history:
        yield history  # type: ignore[misc]


# -- what changed -----------------------------------------------------------------------------


def test_changes_and_streaks_follow_a_failure_through_its_fix(history: RunHistory) -> None:
    pipeline = Pipeline()
    first = pipeline.run(history, "transform")
    assert first.changes == {"transform": TaskChange.NEW_FAILURE}
    assert first.streaks == {}

    same = pipeline.run(history, "transform")
    assert same.changes == {"transform": TaskChange.STILL_FAILING}
    assert same.streaks == {"transform": FailureStreak(2, first.started_at)}  # type: ignore[arg-type]

    third = pipeline.run(history, "transform")
    assert third.streaks == {"transform": FailureStreak(3, first.started_at)}  # type: ignore[arg-type]

    other = pipeline.run(history, "audit")
    assert other.changes == {
        "transform": TaskChange.RECOVERED,
        "audit": TaskChange.NEW_FAILURE,
    }
    assert other.streaks == {}

    fixed = pipeline.run(history)
    assert fixed.changes == {"audit": TaskChange.RECOVERED}
    clean = pipeline.run(history)
    assert clean.changes == {}
    assert clean.ok

    # A failure after a pause starts a new streak, from its own run.
    again = pipeline.run(history, "transform")
    assert again.changes == {"transform": TaskChange.NEW_FAILURE}
    later = pipeline.run(history, "transform")
    assert later.streaks == {"transform": FailureStreak(2, again.started_at)}  # type: ignore[arg-type]


def test_a_skipped_task_is_no_change_and_recovers_when_it_next_succeeds(
    history: RunHistory,
) -> None:
    pipeline = Pipeline()
    pipeline.run(history, "transform", "load")  # load errors? no: it is skipped
    skipped = pipeline.run(history, "extract")
    assert skipped.entries["transform"].status is TaskStatus.SKIPPED
    # transform errored before and is skipped now: neither still failing nor recovered.
    assert skipped.changes == {"extract": TaskChange.NEW_FAILURE}
    assert skipped.streaks == {}
    # Its failure was alerted and never attempted since: succeeding now is its recovery.
    back = pipeline.run(history)
    assert back.changes == {"extract": TaskChange.RECOVERED, "transform": TaskChange.RECOVERED}


def test_a_failure_streak_goes_on_through_runs_where_the_task_was_skipped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "runs.db"
    pipeline = Pipeline()
    with RunHistory(path) as history:
        first = pipeline.run(history, "transform")
        assert first.changes == {"transform": TaskChange.NEW_FAILURE}
        upstream = pipeline.run(history, "extract")  # transform skipped: its upstream failed
        assert upstream.entries["transform"].status is TaskStatus.SKIPPED
        assert upstream.changes == {"extract": TaskChange.NEW_FAILURE}
    with RunHistory(path) as history:  # the file, read afresh
        again = pipeline.run(history, "transform")
        # Not a new failure (no second alert with only_changes=True): the same streak,
        # since the first run, counting the runs where it errored.
        assert again.changes == {
            "transform": TaskChange.STILL_FAILING,
            "extract": TaskChange.RECOVERED,
        }
        assert again.streaks == {"transform": FailureStreak(2, first.started_at)}  # type: ignore[arg-type]
        assert history.report(again.run_id) == again
        twice = [pipeline.run(history, "extract") for _ in range(2)]
        assert all(r.entries["transform"].status is TaskStatus.SKIPPED for r in twice)
        assert pipeline.run(history, "transform").streaks == {
            "transform": FailureStreak(3, first.started_at)  # type: ignore[arg-type]
        }
    with sqlite3.connect(path) as db:
        # Streak rows only for the errored tasks and the skipped ones carrying a streak.
        rows = db.execute(
            "SELECT s.run, s.name, t.status, s.runs FROM streaks s JOIN tasks t"
            " ON t.run = s.run AND t.name = s.name ORDER BY s.run, s.name"
        ).fetchall()
    statuses = [(name, TaskStatus(status).name, count) for _, name, status, count in rows]
    assert statuses == [
        ("transform", "ERRORED", 1),
        ("extract", "ERRORED", 1),
        ("transform", "SKIPPED", 1),
        ("transform", "ERRORED", 2),
        ("extract", "ERRORED", 1),
        ("transform", "SKIPPED", 2),
        ("extract", "ERRORED", 2),
        ("transform", "SKIPPED", 2),
        ("transform", "ERRORED", 3),
    ]


def test_a_task_cut_off_by_the_deadline_is_a_new_failure_then_recovers(
    history: RunHistory,
) -> None:
    pause = threading.Event()  # never set: the task waits until the deadline cuts it off
    slow = {"on": True}

    def load() -> str:
        if slow["on"]:
            pause.wait(30)
        return "loaded"

    process = Process([Task("extract", lambda: 1), Task("load", load)], name="cut")
    cut = process.run(parallel=False, deadline=0.5, history=history)
    assert cut.entries["load"].status is TaskStatus.ERRORED
    assert cut.changes == {"load": TaskChange.NEW_FAILURE}
    slow["on"] = False
    pause.set()  # the abandoned attempt ends too
    assert process.run(parallel=False, history=history).changes == {"load": TaskChange.RECOVERED}


def test_changes_are_per_process_name(history: RunHistory) -> None:
    nightly, hourly = Pipeline("nightly"), Pipeline("hourly")
    nightly.run(history, "audit")
    assert hourly.run(history, "audit").changes == {"audit": TaskChange.NEW_FAILURE}
    assert nightly.run(history, "audit").changes == {"audit": TaskChange.STILL_FAILING}
    assert hourly.run(history).changes == {"audit": TaskChange.RECOVERED}


def test_the_recorded_report_is_the_returned_one(history: RunHistory) -> None:
    pipeline = Pipeline()
    pipeline.run(history, "audit")
    report = pipeline.run(history, "audit")
    stored = history.report(report.run_id)
    assert stored == report
    assert stored.run_id == report.run_id
    assert stored.changes == {"audit": TaskChange.STILL_FAILING}
    assert stored.streaks == report.streaks
    assert stored.entries["audit"].error is not None
    assert stored.entries["audit"].error.headline == "ValueError: audit broke"
    last = history.last("nightly")
    assert last == report
    assert last is not None
    assert last.run_id == report.run_id
    assert history.last("no such process") is None


@pytest.mark.parametrize("extra", [-100, -1, 0, 1, 150])
def test_every_task_has_its_row_whatever_the_number_of_tasks(
    history: RunHistory, extra: int
) -> None:
    # The rows go in many per statement: around a statement's worth, none may be lost.
    size = TASK_ROWS_PER_INSERT + extra
    process = Process([Task(f"t{i}", lambda i=i: i) for i in range(size)], name="wide")
    report = process.run(history=history)
    with closing(sqlite3.connect(history.path)) as db:
        rows = db.execute("SELECT name, status, attempts FROM tasks").fetchall()
    assert sorted(rows) == sorted((f"t{i}", "success", 1) for i in range(size))
    assert history.report(report.run_id) == report


def test_a_report_is_equal_through_the_history_whatever_its_values(history: RunHistory) -> None:
    odd: dict[str, Any] = {"nan": float("nan"), "big": 10**5000, "keys": {1: "a"}}
    cycle: list[Any] = []
    cycle.append(cycle)
    values: list[Any] = ["text", 3, 2.5, None, True, [1, [2, {"a": None}]], odd, cycle]
    tasks = [Task(f"t{i}", (lambda v=value: v)) for i, value in enumerate(values)]
    report = Process(tasks, name="odd").run(history=history)
    stored = history.report(report.run_id)
    as_json = ProcessExecutionReport.from_json(report.to_json())
    for name in ("t0", "t1", "t2", "t3", "t4", "t5"):
        assert stored.entries[name] == report.entries[name]
    assert stored.entries["t6"].result["nan"] == "nan"  # as to_json() writes it
    assert stored.entries["t6"].result["big"] == as_json.entries["t6"].result["big"]
    assert stored.entries["t7"].result == as_json.entries["t7"].result
    assert stored.entries["t0"].started_at == report.entries["t0"].started_at


def test_recording_a_run_twice_is_one_warning(history: RunHistory) -> None:
    report = Pipeline().run(history)
    with pytest.warns(UserWarning, match=f"the run {report.run_id!r} is in the history already"):
        again = history.record(report)
    assert again is report
    assert len(history.runs()) == 1


def test_an_unknown_run_id_names_the_id_and_the_file(history: RunHistory) -> None:
    with pytest.raises(LookupError, match=r"no run 'nope' in the history .*runs\.db"):
        history.report("nope")
    with pytest.raises(LookupError, match="'nope'"):
        history.results("nope")


# -- runs() -----------------------------------------------------------------------------------


def test_runs_lists_newest_first_with_what_each_run_was(
    history: RunHistory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["job.py", "--day", "2026-12-01"])
    nightly, hourly = Pipeline("nightly"), Pipeline("hourly")
    reports = [nightly.run(history), hourly.run(history, "extract"), nightly.run(history)]
    runs = history.runs()
    assert [run.run_id for run in runs] == [r.run_id for r in reversed(reports)]
    failed = runs[1]
    assert failed.process_name == "hourly"
    assert (failed.ok, failed.succeeded, failed.errored, failed.skipped) == (False, 1, 1, 2)
    assert failed.started_at == reports[1].started_at
    assert failed.finished_at == reports[1].finished_at
    assert failed.host == reports[1].host != ""
    assert failed.pid == os.getpid()
    assert failed.argv == ("job.py", "--day", "2026-12-01")
    assert failed.stopped_by is None
    assert runs[0].ok
    assert [run.run_id for run in history.runs("nightly")] == [
        reports[2].run_id,
        reports[0].run_id,
    ]
    assert len(history.runs(limit=1)) == 1
    assert len(history.runs(limit=None)) == 3
    assert history.process_names() == ["hourly", "nightly"]


def test_secret_options_of_the_command_line_are_not_stored(
    history: RunHistory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sys,
        "argv",
        ["job.py", "--password", "hunter2hunter2", "--api-key=k3y-k3y-k3y", "--day", "monday"],
    )
    Pipeline().run(history)
    (run,) = history.runs()
    assert run.argv == (
        "job.py",
        "--password",
        "[redacted]",
        "--api-key=[redacted]",
        "--day",
        "monday",
    )
    assert b"hunter2hunter2" not in Path(history.path).read_bytes()
    assert b"k3y-k3y-k3y" not in _all_bytes(history)


def test_retention_keeps_the_newest_runs_of_each_process(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db", keep_runs=3) as history:
        nightly, hourly = Pipeline("nightly"), Pipeline("hourly")
        kept_hourly = hourly.run(history, "audit")
        reports = [nightly.run(history, "audit") for _ in range(5)]
        assert [run.run_id for run in history.runs("nightly")] == [
            r.run_id for r in reversed(reports[2:])
        ]
        assert [run.run_id for run in history.runs("hourly")] == [kept_hourly.run_id]
        # The streak still counts the runs that were dropped: it lives in the newest rows.
        assert reports[-1].streaks["audit"].runs == 5
    with sqlite3.connect(tmp_path / "runs.db") as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone() == (4,)
        assert db.execute("SELECT count(*) FROM tasks").fetchone() == (16,)
        assert db.execute("SELECT count(*) FROM streaks").fetchone() == (4,)
        for table in ("tasks", "streaks", "results"):
            orphans = db.execute(
                f"SELECT count(*) FROM {table} WHERE run NOT IN (SELECT id FROM runs)"
            ).fetchone()
            assert orphans == (0,), table


def test_a_full_history_reuses_the_pages_of_the_runs_it_forgets(tmp_path: Path) -> None:
    process = Process([Task(f"task_{i:04}", int) for i in range(2000)], name="wide")
    path = tmp_path / "runs.db"
    pages = []
    # No checkpoint while a run runs (one comes only if a run lasts past a second, as it
    # may under load): its rows, written then deleted, would move the count by a page.
    quiet = {"checkpoint_seconds": 3600, "heartbeat_seconds": 3600}
    with RunHistory(path, keep_runs=2, **quiet) as history:
        for _ in range(6):
            process.run(parallel=False, history=history)
            with closing(sqlite3.connect(path)) as db:  # sees the log: the file's pages
                pages.append(db.execute("PRAGMA page_count").fetchone()[0])
    # Runs 3 to 6 each push one out: its pages hold the new run, the file does not grow
    # (deleting after inserting would leave a whole run of free pages behind). A run is
    # in the file from its start, its task names in a row of their own until it ends:
    # a third run's worth of names (a few pages) is there while each run runs.
    assert pages[5] <= pages[2] + 2, pages
    assert pages[5] == pages[3], pages  # full: not a page more


def test_task_stats_count_failures_flaky_runs_and_durations(history: RunHistory) -> None:
    attempts = iter(
        [ConnectionError("once"), None, None, ConnectionError("a"), ConnectionError("b")]
    )

    def flaky() -> int:
        error = next(attempts, None)
        if error is not None:
            raise error
        return 1

    process = Process([Task("Flaky", flaky, retries=1)], name="p")
    for _ in range(3):
        process.run(history=history, sleep=lambda _: None)
    stats = history.task_stats("p", "FLAKY")
    assert (stats.runs, stats.succeeded, stats.failures, stats.flaky) == (3, 2, 1, 1)
    assert stats.p50_seconds is not None
    assert stats.p95_seconds is not None
    assert 0 <= stats.p50_seconds <= stats.p95_seconds
    none = history.task_stats("p", "missing")
    assert (none.runs, none.p50_seconds, none.p95_seconds) == (0, None, None)


def test_task_stats_leave_reused_and_skipped_entries_out_of_the_runs(
    history: RunHistory,
) -> None:
    pipeline = Pipeline()
    failed = pipeline.run(history, "transform")  # load skipped
    pipeline.failing = set()
    resumed = [pipeline.process.run(history=history, resume=failed.run_id) for _ in range(3)]
    assert all(r.entries["extract"].reused for r in resumed)
    extract = history.task_stats("nightly", "extract")
    assert (extract.runs, extract.succeeded, extract.reused, extract.skipped) == (1, 1, 3, 0)
    # Its durations are its one real run's, not pulled down by the reused entries' 0 s.
    took = failed.entries["extract"].elapsed_seconds
    assert (extract.p50_seconds, extract.p95_seconds) == (took, took)
    load = history.task_stats("nightly", "load")
    assert (load.runs, load.succeeded, load.skipped, load.reused) == (3, 3, 1, 0)
    transform = history.task_stats("nightly", "transform")
    assert (transform.runs, transform.succeeded, transform.failures) == (4, 3, 1)


# -- results ----------------------------------------------------------------------------------


class Unpicklable:
    def __reduce__(self) -> Any:
        raise TypeError("no pickling of this one")


class BreaksWhenLoaded:
    def __reduce__(self) -> Any:
        return (_refuse, ())


def _refuse() -> None:
    raise RuntimeError("refusing to load")


def _result_tasks() -> list[Task]:
    return [
        Task("native", lambda: {"a": [1, 2.5, None, True, "x"]}),
        Task("tuple", lambda: (1, 2)),
        Task("date", lambda: datetime(2026, 1, 2, tzinfo=UTC)),
        Task("huge", lambda: b"x" * 2000),
        Task("unpicklable", Unpicklable),
        Task("breaks", BreaksWhenLoaded),
        Task("failing", lambda: 1 / 0),
    ]


def test_results_keeps_json_native_values_and_says_why_not_the_others(
    history: RunHistory,
) -> None:
    report = Process(_result_tasks(), name="r").run(history=history)
    values, reasons = history.results(report.run_id)
    assert values == {"native": {"a": [1, 2.5, None, True, "x"]}}
    not_json = "not JSON-native: create RunHistory(..., store_results=True) to keep it"
    assert reasons == {
        name: not_json for name in ("tuple", "date", "huge", "unpicklable", "breaks")
    }


def test_results_pickled_with_store_results(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db", store_results=True, max_result_bytes=1000) as history:
        report = Process(_result_tasks(), name="r").run(history=history)
        values, reasons = history.results(report.run_id)
    assert values == {
        "native": {"a": [1, 2.5, None, True, "x"]},
        "tuple": (1, 2),
        "date": datetime(2026, 1, 2, tzinfo=UTC),
    }
    assert reasons["huge"].startswith("pickled result is 2 KB, over the 1 KB cap")
    assert reasons["unpicklable"] == "cannot be pickled: TypeError: no pickling of this one"
    assert reasons["breaks"] == "cannot be unpickled: RuntimeError: refusing to load"
    assert set(reasons) == {"huge", "unpicklable", "breaks"}  # nothing for the failed task


def test_a_result_received_as_a_secret_is_never_stored(tmp_path: Path) -> None:
    def login(password: str) -> None:
        assert password

    tasks = [
        Task("fetch_password", lambda: "s3cr3t-value-42"),
        Task(
            "login",
            login,
            dependencies=[
                TaskDependency(
                    "fetch_password",
                    use_result_as_additional_kwargs=True,
                    additional_kwarg_name="password",
                )
            ],
        ),
    ]
    with RunHistory(tmp_path / "runs.db", store_results=True) as history:
        report = Process(tasks, name="s").run(history=history)
        assert report.entries["fetch_password"].result == "[redacted]"
        values, reasons = history.results(report.run_id)
        assert reasons == {"fetch_password": "hidden as a secret"}
        assert values == {"login": None}
        assert b"s3cr3t-value-42" not in _all_bytes(history)


def test_results_of_a_version_1_report_come_from_its_json(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    report = Pipeline().process.run()
    _make_version_1_file(path, [report])
    with RunHistory(path) as history:
        values, reasons = history.results(report.run_id)
    assert values == {"extract": [1, 2, 3], "transform": {"rows": 3}, "load": "loaded", "audit": 7}
    assert reasons == {}


# -- running with a history -------------------------------------------------------------------


def test_an_interrupted_run_is_recorded_with_how_it_ended(history: RunHistory) -> None:
    def stop() -> None:
        raise KeyboardInterrupt

    process = Process(
        [Task("first", lambda: 1), Task("stop", stop, dependencies=[TaskDependency("first")])],
        name="cut",
    )
    with pytest.raises(KeyboardInterrupt) as caught:
        process.run(history=history)
    partial = caught.value.report  # type: ignore[attr-defined]
    assert partial.changes == {"stop": TaskChange.NEW_FAILURE}
    (run,) = history.runs()
    assert run.run_id == partial.run_id
    assert not run.ok
    assert history.report(partial.run_id) == partial
    assert history.results(partial.run_id) == ({"first": 1}, {})


def test_a_history_records_from_the_thread_that_runs(history: RunHistory) -> None:
    pipeline = Pipeline()
    pipeline.run(history, "audit")  # the connection is opened in this thread
    done: list[ProcessExecutionReport] = []
    thread = threading.Thread(target=lambda: done.append(pipeline.run(history, "audit")))
    thread.start()
    thread.join()
    assert done[0].changes == {"audit": TaskChange.STILL_FAILING}
    assert len(history.runs()) == 2


def test_a_parallel_run_is_recorded_like_a_sequential_one(history: RunHistory) -> None:
    pipeline = Pipeline()
    pipeline.failing = {"load"}
    report = pipeline.process.run(parallel=True, history=history)
    assert report.changes == {"load": TaskChange.NEW_FAILURE}
    assert history.report(report.run_id) == report


def test_history_must_be_a_run_history(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="history must be a RunHistory"):
        Pipeline().process.run(history=str(tmp_path / "runs.db"))  # type: ignore[arg-type]


def test_bad_arguments_are_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"keep_runs must be a positive int .*, got 0"):
        RunHistory(tmp_path / "x.db", keep_runs=0)
    with pytest.raises(ValueError, match=r"keep_runs must be .* at most 2,147,483,648"):
        RunHistory(tmp_path / "x.db", keep_runs=10**30)  # was accepted, then never recorded
    with pytest.raises(TypeError, match="RunHistory path must be a str or a path"):
        RunHistory(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="store_results must be a bool"):
        RunHistory(tmp_path / "x.db", store_results="yes")  # type: ignore[arg-type]


def test_a_missing_folder_is_made_and_a_path_that_cannot_hold_a_history_is_refused_now(
    tmp_path: Path,
) -> None:
    with RunHistory(tmp_path / "new" / "folders" / "runs.db") as history:
        assert Pipeline().process.run(history=history).ok
        assert len(history.runs()) == 1
    with pytest.raises(RunHistoryError, match="a folder, not a file"):
        RunHistory(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(RunHistoryError, match="cannot be made") as refused:
        RunHistory(blocker / "logs" / "runs.db")
    assert str(blocker) in str(refused.value)


def test_a_closed_history_says_so(tmp_path: Path) -> None:
    history = RunHistory(tmp_path / "runs.db")
    history.close()
    with pytest.raises(RunHistoryError, match="is closed"):
        history.runs()
    with pytest.warns(UserWarning, match="is closed"):
        report = Pipeline().process.run(history=history)
    assert report.ok


# -- a history that cannot be written ---------------------------------------------------------


def _run_warned(history: RunHistory, match: str) -> ProcessExecutionReport:
    pipeline = Pipeline()
    with pytest.warns(UserWarning, match="the run was not recorded in the history") as warned:
        report = pipeline.run(history, "audit")
    assert len(warned) == 1
    message = str(warned[0].message)
    assert str(history.path) in message
    assert match in message, message
    # The report is complete: as a run without history gives it.
    assert list(report.entries) == ["extract", "transform", "load", "audit"]
    assert report.errored.keys() == {"audit"}
    assert report.successes.keys() == {"extract", "transform", "load"}
    assert report.changes == {}
    return report


_DAMAGED = r"a recorded run cannot be read \(.+\)"


@pytest.mark.parametrize(
    ("damage", "says", "results_read_it"),
    [
        ("DELETE FROM tasks", r".*no tasks row for its task 'load'", True),
        ("UPDATE runs SET report = substr(report, 1, 100)", _DAMAGED, True),  # cut short
        ("UPDATE runs SET report = json_set(report, '$.plain.args', json('[]'))", _DAMAGED, True),
        ("UPDATE runs SET report = json_remove(report, '$.names')", _DAMAGED, True),
        ("UPDATE tasks SET status = 'weird'", _DAMAGED, False),  # results() reads it as text
    ],
)
def test_a_run_damaged_by_hand_is_a_clear_error(
    tmp_path: Path, damage: str, says: str, results_read_it: bool
) -> None:
    """A stored report or tasks rows deleted or edited by hand are a RunHistoryError
    naming the file and what is wrong, never a bare KeyError or JSONDecodeError."""
    with RunHistory(tmp_path / "runs.db") as history:
        report = Process([Task("load", lambda: 1)], name="p").run(history=history)
    with sqlite3.connect(tmp_path / "runs.db") as db:
        db.execute(damage)
    with RunHistory(tmp_path / "runs.db") as history:
        damaged = rf"^{re.escape(history.path)}: {says}"
        with pytest.raises(RunHistoryError, match=damaged):
            history.report(report.run_id)
        with pytest.raises(RunHistoryError, match=damaged):
            history.last("p")
        if results_read_it:  # not an empty answer: resume would rerun all
            with pytest.raises(RunHistoryError, match=damaged):
                history.results(report.run_id)
        with pytest.raises(LookupError, match="no run 'nope'"):
            history.report("nope")  # still a LookupError
        assert history.runs()[0].run_id == report.run_id  # the rest still reads


@pytest.mark.parametrize("read", ["report", "last", "results", "report_and_results"])
def test_a_read_sees_one_state_while_another_process_forgets_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    """report(), last(), results() and report_and_results() read the run's row, then its
    tasks rows: a run recorded in between, whose retention deletes the one being read, is
    not seen."""
    path = tmp_path / "runs.db"
    process = Process([Task("load", lambda: [1, 2])], name="p")
    with RunHistory(path, keep_runs=1) as history:
        report = process.run(history=history)
    read_task_rows = history_queries.task_rows

    def record_in_between(connection: sqlite3.Connection, run: int) -> Any:
        script = (
            "import sys; from processes import Process, RunHistory, Task\n"
            "with RunHistory(sys.argv[1], keep_runs=1) as h:\n"
            "    Process([Task('load', lambda: 3)], name='p').run(history=h)\n"
        )
        subprocess.run([sys.executable, "-W", "error", "-c", script, str(path)], check=True)
        return read_task_rows(connection, run)

    monkeypatch.setattr(history_queries, "task_rows", record_in_between)
    with RunHistory(path, keep_runs=1) as history:
        if read == "report":
            assert history.report(report.run_id) == report
        elif read == "last":
            assert history.last("p") == report
        elif read == "results":
            assert history.results(report.run_id) == ({"load": [1, 2]}, {})
        else:
            assert history.report_and_results(report.run_id) == (report, {"load": [1, 2]}, {})
    monkeypatch.undo()
    with RunHistory(path) as history:  # the other process did forget it
        assert [run.run_id for run in history.runs()] != [report.run_id]
        assert len(history.runs()) == 1


def test_a_corrupt_file_costs_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    path.write_bytes(b"this is not an SQLite file at all, just text " * 200)
    with RunHistory(path) as history:
        _run_warned(history, "file is not a database")
        with pytest.raises(RunHistoryError, match="cannot read the run history"):
            history.runs()


def test_a_read_only_file_costs_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunHistory(path) as writable:
        Pipeline().run(writable)
    with RunHistory(f"file:{path}?mode=ro") as history:
        _run_warned(history, "readonly database")
        assert len(history.runs()) == 1  # reading still works


def test_a_file_locked_past_the_timeout_costs_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunHistory(path) as history:
        Pipeline().run(history)  # the file exists, in WAL mode
    locker = sqlite3.connect(path, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        with RunHistory(path, timeout_seconds=0.05) as history:
            _run_warned(history, "database is locked")
            locker.execute("ROLLBACK")
            after = Pipeline().run(history, "audit")  # free again: recorded
            assert after.changes == {"audit": TaskChange.NEW_FAILURE}
            assert len(history.runs()) == 2
    finally:
        locker.close()


def test_a_file_of_a_newer_schema_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with RunHistory(path) as history:
        _run_warned(history, "schema is version 99, newer than this version of processes")


def test_an_sqlite_file_that_is_no_history_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    with RunHistory(path) as history:
        _run_warned(history, "an SQLite file but not a run history (it holds users)")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("users",)]


# -- migration --------------------------------------------------------------------------------

_VERSION_1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    process_name TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    ok INTEGER NOT NULL,
    succeeded INTEGER NOT NULL,
    errored INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    report TEXT NOT NULL
);
CREATE INDEX runs_by_process ON runs (process_name, id);
CREATE TABLE tasks (
    run INTEGER NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    elapsed_seconds REAL NOT NULL,
    PRIMARY KEY (run, name)
) WITHOUT ROWID;
PRAGMA user_version = 1;
"""


def _make_version_1_file(path: Path, reports: list[ProcessExecutionReport]) -> None:
    """A history as the first schema wrote it: reports as to_json(), no streak columns."""
    db = sqlite3.connect(path)
    db.executescript(_VERSION_1)
    for report in reports:
        entries = report.entries.values()
        count = [
            sum(e.status is s for e in entries) for s in TaskStatus if s is not TaskStatus.PENDING
        ]
        cursor = db.execute(
            "INSERT INTO runs (run_id, process_name, started_at, finished_at, ok, succeeded,"
            " errored, skipped, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                report.run_id,
                report.process_name,
                report.started_at.isoformat() if report.started_at else None,
                report.finished_at.isoformat() if report.finished_at else None,
                int(report.ok),
                *count,
                report.to_json(),
            ),
        )
        db.executemany(
            "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?)",
            [
                (cursor.lastrowid, e.name, i, e.status.value, e.attempts, e.elapsed_seconds)
                for i, e in enumerate(entries)
            ],
        )
    db.commit()
    db.close()


def test_a_version_1_file_is_upgraded_and_its_streaks_carried_on(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    pipeline = Pipeline()
    pipeline.failing = {"audit"}
    old = [pipeline.process.run() for _ in range(2)]
    _make_version_1_file(path, old)
    with RunHistory(path) as history:
        assert [run.run_id for run in history.runs()] == [r.run_id for r in reversed(old)]
        assert history.runs()[0].host == ""  # version 1 did not keep it
        assert history.report(old[0].run_id) == old[0]
        report = pipeline.run(history, "audit")
        assert report.changes == {"audit": TaskChange.STILL_FAILING}
        assert report.streaks == {"audit": FailureStreak(3, old[0].started_at)}  # type: ignore[arg-type]
        assert history.report(report.run_id) == report
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_version_1_file_carries_a_streak_through_a_skipped_run(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    pipeline = Pipeline()
    old = []
    for failing in ("transform", "extract"):  # then transform is skipped: extract failed
        pipeline.failing = {failing}
        old.append(pipeline.process.run())
    _make_version_1_file(path, old)
    with RunHistory(path) as history:
        report = pipeline.run(history, "transform")
    assert report.changes["transform"] is TaskChange.STILL_FAILING
    assert report.streaks == {"transform": FailureStreak(2, old[0].started_at)}  # type: ignore[arg-type]


_VERSION_2_TASKS = """
CREATE TABLE tasks (
    run INTEGER NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    elapsed_seconds REAL NOT NULL,
    started_at_us INTEGER,
    failing_runs INTEGER,
    failing_since TEXT,
    PRIMARY KEY (run, name)
) WITHOUT ROWID;
CREATE INDEX tasks_failing ON tasks (run) WHERE failing_runs IS NOT NULL;
CREATE TABLE results (
    run INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    value BLOB,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run, name)
);
"""


def _microseconds(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - datetime(1970, 1, 1, tzinfo=UTC)) // _MICROSECOND


def _format_2(report: ProcessExecutionReport) -> str:
    """The stored report as version 2 wrote it: a plain entry a list of all its fields."""
    data = json.loads(report.to_json())
    data["format"] = 2
    rows: list[Any] = []
    for e in report.entries.values():
        if e.error is not None or e.skip_reason is not None:
            rows.append(data["entries"][e.name])
            continue
        started, finished = _microseconds(e.started_at), _microseconds(e.finished_at)
        rows.append(
            [e.name, e.function, list(e.args), e.kwargs, e.status.value, e.elapsed_seconds,
             e.attempts, e.result, started, finished, list(e.dependencies)]
        )  # fmt: skip
    data["entries"] = rows
    return json.dumps(data)


def _make_version_2_file(path: Path, reports: list[ProcessExecutionReport]) -> None:
    """A history as the second schema wrote it: streaks in the ``tasks`` rows."""
    db = sqlite3.connect(path)
    db.executescript(_VERSION_1.replace("PRAGMA user_version = 1;", ""))
    db.execute("DROP TABLE tasks")
    db.executescript(_VERSION_2_TASKS)
    for column in ("host TEXT NOT NULL DEFAULT ''", "pid INTEGER", "argv TEXT", "stopped_by TEXT"):
        db.execute(f"ALTER TABLE runs ADD COLUMN {column}")
    failing: dict[str, tuple[int, str]] = {}
    for report in reports:
        entries = report.entries.values()
        counts = [sum(e.status is s for e in entries) for s in TaskStatus if s.value != "pending"]
        cursor = db.execute(
            "INSERT INTO runs (run_id, process_name, started_at, finished_at, ok, succeeded,"
            " errored, skipped, host, pid, argv, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " '[]', ?)",
            (
                report.run_id,
                report.process_name,
                report.started_at.isoformat() if report.started_at else None,
                report.finished_at.isoformat() if report.finished_at else None,
                int(report.ok),
                *counts,
                report.host,
                os.getpid(),
                _format_2(report),
            ),
        )
        since = report.started_at.isoformat() if report.started_at else ""
        failing = {
            e.name: (failing.get(e.name, (0, since))[0] + 1, failing.get(e.name, (0, since))[1])
            for e in entries
            if e.status is TaskStatus.ERRORED
        }
        db.executemany(
            "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    cursor.lastrowid,
                    e.name,
                    i,
                    e.status.value,
                    e.attempts,
                    e.elapsed_seconds,
                    _microseconds(e.started_at),
                    *failing.get(e.name, (None, None)),
                )
                for i, e in enumerate(entries)
            ],
        )
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()


def test_a_version_2_file_is_upgraded_and_reads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    pipeline = Pipeline()
    pipeline.failing = {"transform"}
    old = [pipeline.process.run() for _ in range(2)]
    _make_version_2_file(path, old)
    with RunHistory(path) as history:
        assert [history.report(r.run_id) for r in old] == old  # format 2 is still read
        assert history.results(old[1].run_id)[0] == {"extract": [1, 2, 3], "audit": 7}
        report = pipeline.run(history, "transform")
        assert report.changes == {"transform": TaskChange.STILL_FAILING}
        assert report.streaks == {"transform": FailureStreak(3, old[0].started_at)}  # type: ignore[arg-type]
        assert history.report(report.run_id) == report
        stats = history.task_stats("nightly", "transform")
        assert (stats.runs, stats.failures, stats.skipped) == (3, 3, 0)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        columns = [row[1] for row in db.execute("PRAGMA table_info(tasks)")]
        assert columns == ["id", "run", "name", "status", "attempts", "elapsed_seconds"]
        streaks = db.execute("SELECT name, runs FROM streaks ORDER BY run").fetchall()
        assert streaks == [("transform", 1), ("transform", 2), ("transform", 3)]


def test_a_version_2_streak_without_its_start_starts_with_its_run(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    pipeline = Pipeline()
    pipeline.failing = {"transform"}
    old = pipeline.process.run()
    _make_version_2_file(path, [old])
    with sqlite3.connect(path) as db:  # as a hand-edited file may hold it
        db.execute("UPDATE tasks SET failing_since = NULL WHERE failing_runs IS NOT NULL")
    with RunHistory(path) as history:
        report = pipeline.run(history, "transform")
    assert report.streaks == {"transform": FailureStreak(2, old.started_at)}  # type: ignore[arg-type]


_VERSION_3_TASKS = """
CREATE TABLE tasks_v3 (
    run INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    elapsed_seconds REAL NOT NULL,
    PRIMARY KEY (run, name)
) WITHOUT ROWID;
INSERT INTO tasks_v3 SELECT run, name, status, attempts, elapsed_seconds FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_v3 RENAME TO tasks;
ALTER TABLE runs DROP COLUMN heartbeat_at;
ALTER TABLE runs DROP COLUMN process_start;
ALTER TABLE runs DROP COLUMN running;
DROP TABLE checkpoints;
PRAGMA user_version = 3;
"""


def test_a_version_3_file_is_upgraded_and_reads_as_before(tmp_path: Path) -> None:
    # Version 3 keyed a task's row by its run and name; 4 by its run and position.
    path = tmp_path / "v3.db"
    pipeline = Pipeline()
    with RunHistory(path) as history:
        old = [pipeline.run(history, "transform") for _ in range(2)]
    with closing(sqlite3.connect(path)) as db:
        db.executescript(_VERSION_3_TASKS)
    with RunHistory(path) as history:
        assert [history.report(r.run_id) for r in old] == old
        assert history.results(old[1].run_id)[0] == {"extract": [1, 2, 3], "audit": 7}
        report = pipeline.run(history, "transform")
        assert report.changes == {"transform": TaskChange.STILL_FAILING}
        assert report.streaks == {"transform": FailureStreak(3, old[0].started_at)}  # type: ignore[arg-type]
        stats = history.task_stats("nightly", "transform")
        assert (stats.runs, stats.failures, stats.skipped) == (3, 3, 0)
        assert history.task_stats("nightly", "load").skipped == 3
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        rows = db.execute("SELECT id, run, name FROM tasks ORDER BY id").fetchall()
    # A migrated run's rows are numbered in the order of their names; a new run's in the
    # order of its tasks.
    by_name = sorted(["audit", "extract", "load", "transform"])
    in_order = ["extract", "transform", "load", "audit"]
    expected = [(run << 32 | i, run, name) for run in (1, 2) for i, name in enumerate(by_name)]
    expected += [(3 << 32 | i, 3, name) for i, name in enumerate(in_order)]
    assert rows == expected


# -- several OS processes at once -------------------------------------------------------------

_RECORDER = textwrap.dedent(
    """
    import sys
    from processes import Process, RunHistory, Task

    path, worker = sys.argv[1], sys.argv[2]
    process = Process([Task("a", lambda: 1), Task("b", lambda: [worker])], name=f"w{worker}")
    with RunHistory(path) as history:
        for _ in range(25):
            process.run(history=history)
    """
)


def test_four_processes_record_at_once_and_no_run_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    workers = [
        subprocess.Popen(
            [sys.executable, "-W", "error", "-c", _RECORDER, str(path), str(worker)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for worker in range(4)
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=240)
        assert worker.returncode == 0, stderr.decode()
    with RunHistory(path) as history:
        runs = history.runs(limit=None)
        assert len(runs) == 100
        assert len({run.run_id for run in runs}) == 100
        assert {run.process_name for run in runs} == {"w0", "w1", "w2", "w3"}
        for run in runs:
            report = history.report(run.run_id)
            assert report.ok
            assert report.entries["b"].result == [run.process_name[1:]]
        assert all(len(history.runs(f"w{w}", limit=None)) == 25 for w in range(4))


# -- helpers ----------------------------------------------------------------------------------


def _all_bytes(history: RunHistory) -> bytes:
    """The database and its write-ahead log, as a reader of the disk would see them."""
    path = Path(history.path)
    return b"".join(
        candidate.read_bytes() for candidate in (path, Path(f"{path}-wal")) if candidate.exists()
    )


def test_pickle_of_a_value_is_what_the_file_holds(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db", store_results=True) as history:
        report = Process([Task("t", lambda: (1, "two"))], name="p").run(history=history)
    with sqlite3.connect(tmp_path / "runs.db") as db:
        kind, value = db.execute("SELECT kind, value FROM results").fetchone()
    assert kind == "pickle"
    assert pickle.loads(value) == (1, "two")
    assert json.loads(report.to_json())["entries"]["t"]["result"] == [1, "two"]


class _Payload:
    """A pickle that runs code when loaded: it creates the file named ``marker``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (Path(self.marker), "unpickled!"))  # type: ignore[return-value]


def test_a_history_opened_without_store_results_never_unpickles(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    marker = tmp_path / "ran"
    with RunHistory(path, store_results=True) as history:
        failed = Pipeline().run(history, "transform")
    # Someone who can write the file puts a crafted pickle in the results rows.
    with closing(sqlite3.connect(path)) as db:
        (run,) = db.execute("SELECT id FROM runs").fetchone()
        db.executemany(
            "INSERT OR REPLACE INTO results VALUES (?, ?, 'pickle', ?, '')",
            [(run, name, pickle.dumps(_Payload(str(marker)))) for name in ("extract", "audit")],
        )
        db.commit()
    with RunHistory(path) as history:  # not store_results=True: a file not trusted
        values, reasons = history.results(failed.run_id)
        resumed = Pipeline().process.run(resume=failed.run_id, history=history)
    assert not marker.exists()
    assert set(reasons) == {"extract", "audit"}
    assert all("store_results=True" in reason for reason in reasons.values())
    assert not any(entry.reused for name, entry in resumed.entries.items() if name in reasons)
    assert set(values).isdisjoint(reasons)


def test_an_infinite_elapsed_time_is_a_damaged_file_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunHistory(path) as history:
        report = Pipeline().run(history)
    with closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE tasks SET elapsed_seconds = 9e999")  # Infinity
        db.commit()
    with RunHistory(path) as history, pytest.raises(RunHistoryError, match="elapsed time of inf"):
        history.report(report.run_id)
    shown = subprocess.run(
        [sys.executable, "-m", "processes", "show", str(path), report.run_id],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode != 0
    assert "edited by hand" in shown.stderr
    assert "Traceback" not in shown.stderr
