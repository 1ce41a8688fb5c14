"""The watch (SPEC §14): ``RunHistory.check()`` over histories built by really running
processes, the check placed in time with ``now=`` (nobody sleeps for hours): each kind
found exactly when it should and once, a live subprocess overdue, a SIGKILLed one crashed,
two watches at once, and the ``check`` command's exit codes. Real files, real processes.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from processes import (
    Expectation,
    Finding,
    FindingKind,
    Process,
    RunHistory,
    StopReason,
    Task,
)
from processes.report import ProcessExecutionReport

pytestmark = pytest.mark.integration

GENEROUS_SECONDS = 60.0
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def run_job(
    history: RunHistory, *, seconds: float = 0.0, fail: bool = False, name: str = "nightly"
) -> ProcessExecutionReport:
    """Run a real one-task process; ``seconds`` is how long its task works."""

    def work() -> str:
        if seconds:
            time.sleep(seconds)  # the job's own duration, which the watch measures
        if fail:
            raise RuntimeError("bad input")
        return "done"

    with Process([Task("work", work)], name=name) as process:
        return process.run(parallel=False, history=history)


def start_of(report: ProcessExecutionReport) -> datetime:
    assert report.started_at is not None
    return report.started_at


def kinds(findings: list[Finding]) -> list[FindingKind]:
    return [finding.kind for finding in findings]


# -- MISSED and BACK -----------------------------------------------------------------------


def test_missed_is_found_after_every_plus_grace_once_then_back(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db") as history:
        first = run_job(history)
        expect = Expectation("nightly", DAY, grace=HOUR)
        start = start_of(first)
        assert history.check(expect, now=start + DAY + HOUR) == []  # due, within grace
        (missed,) = history.check(expect, now=start + DAY + HOUR + timedelta(seconds=1))
        # still missing: not reported again, however often the watch looks
        assert history.check(expect, now=start + DAY + 2 * HOUR) == []
        assert history.check(expect, now=start + 5 * DAY) == []

        again = run_job(history)
        (back,) = history.check(expect, now=start_of(again) + timedelta(seconds=1))
        assert history.check(expect, now=start_of(again) + timedelta(seconds=2)) == []
        # missed again after the new run: a new finding
        (missed_again,) = history.check(expect, now=start_of(again) + DAY + 2 * HOUR)

    assert missed.kind is FindingKind.MISSED
    assert missed.run_id is None
    assert missed.since == start + DAY  # when the run was due
    assert missed.last_run_id == first.run_id
    assert missed.last_outcome == "ok"
    assert missed.message.startswith("nightly did not run: a run was due at ")
    assert back.kind is FindingKind.BACK
    assert back.run_id == again.run_id
    assert back.since == missed.since
    assert missed_again.kind is FindingKind.MISSED
    assert missed_again.since == start_of(again) + DAY


def test_missed_before_any_run_counts_from_the_first_check(tmp_path: Path) -> None:
    expect = Expectation("nightly", 3600, grace=600)
    t0 = datetime.fromisoformat("2026-12-01T02:00:00+00:00")
    with RunHistory(tmp_path / "runs.db") as history:
        assert history.check(expect, now=t0) == []  # the first check knows it from now
        assert history.check(expect, now=t0 + timedelta(seconds=4200)) == []
        (missed,) = history.check(expect, now=t0 + timedelta(seconds=4201))
        assert history.check(expect, now=t0 + timedelta(days=3)) == []
    assert missed.kind is FindingKind.MISSED
    assert missed.since == t0 + HOUR
    assert missed.last_run_id is None


def test_runs_started_after_now_are_not_seen(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db") as history:
        report = run_job(history, seconds=0.2)
        expect = Expectation("nightly", DAY, max_runtime=0.05)
        before = start_of(report) - timedelta(seconds=1)
        # placed before the run: nothing to judge; the first check starts the clock
        assert history.check(expect, now=before) == []
        (too_long,) = history.check(expect, now=start_of(report) + HOUR)
    assert too_long.kind is FindingKind.TOO_LONG


# -- TOO_LONG and TOO_SHORT ----------------------------------------------------------------


def test_fixed_bounds_find_too_long_and_too_short_once(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db") as history:
        slow = run_job(history, seconds=0.3)
        expect = Expectation("nightly", DAY, max_runtime=0.1, min_runtime=0.05)
        (too_long,) = history.check(expect, now=start_of(slow) + HOUR)
        assert history.check(expect, now=start_of(slow) + HOUR) == []
        quick = run_job(history)
        (too_short,) = history.check(expect, now=start_of(quick) + HOUR)
        failed = run_job(history, fail=True)  # short, but its own report says it failed
        assert history.check(expect, now=start_of(failed) + HOUR) == []
    assert too_long.kind is FindingKind.TOO_LONG
    assert too_long.run_id == slow.run_id
    assert too_long.limit_seconds == 0.1
    assert too_long.since == start_of(slow) + timedelta(seconds=0.1)
    assert too_long.last_seconds is not None
    assert too_long.last_seconds > 0.3
    assert too_short.kind is FindingKind.TOO_SHORT
    assert too_short.run_id == quick.run_id
    assert too_short.since == quick.finished_at


def test_usual_is_not_checked_before_5_ok_runs(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db") as history:
        expect = Expectation("nightly", DAY, max_runtime="usual", min_runtime="usual")
        for _ in range(4):
            run_job(history)
        slow = run_job(history, seconds=0.4)  # 4 ok runs before it: no "usual" yet
        assert history.check(expect, now=start_of(slow) + HOUR) == []


def test_usual_after_5_ok_runs_finds_too_long_and_too_short(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db") as history:
        expect = Expectation("nightly", DAY, max_runtime="usual", min_runtime="usual")
        for _ in range(5):
            run_job(history, seconds=0.15)
        history.check(expect, now=datetime.now().astimezone())  # the watch starts
        slow = run_job(history, seconds=0.8)
        quick = run_job(history)
        found = history.check(expect, now=start_of(quick) + HOUR)
    assert kinds(found) == [FindingKind.TOO_LONG, FindingKind.TOO_SHORT]
    too_long, too_short = found
    assert too_long.run_id == slow.run_id
    assert too_short.run_id == quick.run_id
    # "usual" from the runs before the one judged: the five of 0.15 s for the slow one;
    # for the quick one the slow run is among them (median of 0.15 x5 and 0.8 still 0.15 s)
    for finding in found:
        assert finding.usual_seconds is not None
        assert 0.15 <= finding.usual_seconds < 0.4
    assert too_long.limit_seconds == pytest.approx(3 * too_long.usual_seconds)  # type: ignore[operator]
    assert too_short.limit_seconds == pytest.approx(too_short.usual_seconds / 3)  # type: ignore[operator]


# -- OVERDUE and CRASHED against real processes ----------------------------------------------

_BLOCKING_JOB = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from processes import Process, RunHistory, Task

    def load():
        Path(sys.argv[2]).write_text("running")
        while True:
            time.sleep(0.05)

    history = RunHistory(sys.argv[1], checkpoint_seconds=0.05, heartbeat_seconds=0.05)
    with Process([Task("load", load)], name="nightly") as process:
        process.run(parallel=False, history=history)
    """
)


def start_blocking_job(
    tmp_path: Path, ready_name: str = "ready"
) -> tuple[subprocess.Popen[bytes], str, datetime]:
    """A job that blocks in its task; return it, its run id and start once it runs."""
    script, ready, path = tmp_path / "job.py", tmp_path / ready_name, tmp_path / "runs.db"
    script.write_text(_BLOCKING_JOB)
    child = subprocess.Popen([sys.executable, str(script), str(path), str(ready)])
    deadline = time.monotonic() + GENEROUS_SECONDS
    while not ready.exists():
        assert child.poll() is None, "the job ended before it blocked"
        assert time.monotonic() < deadline, "the job never started its task"
        time.sleep(0.02)
    with closing(sqlite3.connect(path)) as db:
        run_id, started = db.execute(
            "SELECT run_id, started_at FROM runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return child, run_id, datetime.fromisoformat(started)


def kill(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(GENEROUS_SECONDS)
    assert child.returncode == -signal.SIGKILL


def test_overdue_against_a_live_run_then_crashed_after_sigkill_then_back(
    tmp_path: Path,
) -> None:
    child, run_id, started = start_blocking_job(tmp_path)
    expect = Expectation("nightly", DAY, grace=HOUR, max_runtime=60)
    try:
        with RunHistory(tmp_path / "runs.db") as history:
            assert history.check(expect, now=started + timedelta(seconds=59)) == []
            (overdue,) = history.check(expect, now=started + timedelta(seconds=61))
            assert history.check(expect, now=started + timedelta(seconds=120)) == []
            assert child.poll() is None  # it was alive all along: running, not crashed
    finally:
        kill(child)
    with RunHistory(tmp_path / "runs.db") as history:
        (crashed,) = history.check(expect, now=started + timedelta(seconds=121))
        again = run_job(history)
        (back,) = history.check(expect, now=start_of(again) + timedelta(seconds=1))
    assert overdue.kind is FindingKind.OVERDUE
    assert overdue.run_id == run_id
    assert overdue.since == started + timedelta(seconds=60)
    assert overdue.last_outcome == "running"
    assert crashed.kind is FindingKind.CRASHED
    assert crashed.run_id == run_id
    assert back.kind is FindingKind.BACK
    assert back.run_id == again.run_id
    assert again.crashed_runs == ()  # the watch closed it already: told once


def test_a_sigkilled_run_is_crashed_closed_by_check_and_reported_once(tmp_path: Path) -> None:
    child, run_id, started = start_blocking_job(tmp_path)
    kill(child)
    with RunHistory(tmp_path / "runs.db") as history:
        (crashed,) = history.check(Expectation("nightly", DAY))
        assert history.check(Expectation("nightly", DAY)) == []
        (summary,) = history.runs()
    assert crashed.kind is FindingKind.CRASHED
    assert crashed.run_id == run_id
    assert crashed.last_outcome == "crashed"
    assert crashed.since >= started  # its last sign of life
    assert "died without a word" in crashed.message
    assert summary.stopped_by is StopReason.CRASHED
    with closing(sqlite3.connect(tmp_path / "runs.db")) as db:
        # closed as the next run would close it: its end is written
        assert db.execute("SELECT count(*) FROM runs WHERE finished_at IS NULL").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM checkpoints").fetchone() == (0,)


def test_the_first_check_tells_a_crashed_run_it_closes_even_when_not_the_newest(
    tmp_path: Path,
) -> None:
    first, first_id, _ = start_blocking_job(tmp_path, "ready1")
    second, second_id, _ = start_blocking_job(tmp_path, "ready2")  # overlapping runs
    try:
        kill(first)
        with RunHistory(tmp_path / "runs.db") as history:
            (crashed,) = history.check(Expectation("nightly", DAY))
            assert history.check(Expectation("nightly", DAY)) == []
            running = history.runs()[0]
    finally:
        kill(second)
    assert (crashed.kind, crashed.run_id) == (FindingKind.CRASHED, first_id)
    assert running.run_id == second_id
    assert running.finished_at is None  # alive: running, not crashed


# -- two watches at once ---------------------------------------------------------------------

_WATCH = textwrap.dedent(
    """
    import json, sys, time
    from datetime import datetime
    from pathlib import Path
    from processes import Expectation, RunHistory

    path, ready, go, now = sys.argv[1:5]
    history = RunHistory(path)
    history.runs()  # opened before the start line
    Path(ready).write_text("ready")
    while not Path(go).exists():
        time.sleep(0.005)
    found = history.check(
        Expectation("nightly", 3600, max_runtime=0.01), now=datetime.fromisoformat(now)
    )
    print(json.dumps([finding.kind.value for finding in found]))
    """
)


def test_two_watches_at_once_report_each_finding_once(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunHistory(path) as history:
        report = run_job(history, seconds=0.05)
        history.check(Expectation("other", DAY))  # the file is at schema 6 already
    now = (start_of(report) + DAY).isoformat()  # missed, and the last run was too long
    script, go = tmp_path / "watch.py", tmp_path / "go"
    script.write_text(_WATCH)
    watches = [
        subprocess.Popen(
            [sys.executable, str(script), str(path), str(tmp_path / f"ready{n}"), str(go), now],
            stdout=subprocess.PIPE,
        )
        for n in range(2)
    ]
    deadline = time.monotonic() + GENEROUS_SECONDS
    while not all((tmp_path / f"ready{n}").exists() for n in range(2)):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    go.write_text("go")
    outputs = [json.loads(watch.communicate(timeout=GENEROUS_SECONDS)[0]) for watch in watches]
    assert [watch.returncode for watch in watches] == [0, 0]
    assert sorted(kind for found in outputs for kind in found) == ["missed", "too_long"]


# -- the file ---------------------------------------------------------------------------------


def test_a_version_5_file_is_upgraded_and_watched(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunHistory(path) as history:
        report = run_job(history)
    with closing(sqlite3.connect(path)) as db:  # as version 5 left it: no findings table
        db.execute("DROP TABLE findings")
        db.execute("PRAGMA user_version = 5")
        db.commit()
    with RunHistory(path) as history:
        (missed,) = history.check(Expectation("nightly", HOUR), now=start_of(report) + DAY)
        assert history.check(Expectation("nightly", HOUR), now=start_of(report) + DAY) == []
    assert missed.kind is FindingKind.MISSED
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (6,)


def test_check_writes_nothing_but_its_bookkeeping(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunHistory(path) as history:
        report = run_job(history)
    with closing(sqlite3.connect(path)) as db:
        before = db.execute("SELECT * FROM runs").fetchall()
    with RunHistory(path) as history:
        history.check(Expectation("nightly", HOUR), now=start_of(report) + DAY)
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT * FROM runs").fetchall() == before
        kinds_kept = db.execute("SELECT kind FROM findings ORDER BY kind").fetchall()
    assert kinds_kept == [("missed",), ("watching",)]


def test_check_refuses_what_is_not_an_expectation_or_an_aware_now(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db") as history:
        with pytest.raises(TypeError, match="Expectation"):
            history.check("nightly")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="aware"):
            history.check(Expectation("nightly", 60), now=datetime(2026, 1, 1))


# -- the command line -------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "processes", "check", *args],
        capture_output=True,
        text=True,
        timeout=GENEROUS_SECONDS,
        check=False,
    )


def test_the_check_command_exits_1_once_then_0_and_2_on_bad_usage(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunHistory(path) as history:
        run_job(history, seconds=0.2)
    expect = "nightly=1d,grace=1h,max=0.1s"
    found = cli(str(path), "--expect", expect)
    assert found.returncode == 1, found.stderr
    (line,) = found.stdout.splitlines()
    assert line.startswith("TOO_LONG nightly: The run ")
    again = cli(str(path), "--expect", expect, "--json")  # told once: nothing new
    assert (again.returncode, json.loads(again.stdout)) == (0, [])

    other = cli(str(path), "--expect", "nightly=1d,max=0.1s", "--expect", "weekly=7d", "--json")
    assert other.returncode == 0, other.stderr  # nothing new, and weekly is watched from now

    for bad in ("nightly", "nightly=1x", "nightly=1d,grace=usual", "nightly=1d,often=2h"):
        wrong = cli(str(path), "--expect", bad)
        assert wrong.returncode == 2, bad
        assert "error" in wrong.stderr
    missing = cli(str(tmp_path / "none.db"), "--expect", "nightly=1d")
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    assert not (tmp_path / "none.db").exists()


def test_the_check_command_prints_json_findings(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunHistory(path) as history:
        first = run_job(history)
    # a check placed days later through the API, then the command reports what is new
    with RunHistory(path) as history:
        history.check(Expectation("nightly", DAY), now=start_of(first) - timedelta(seconds=1))
    child, _, _ = start_blocking_job(tmp_path)
    kill(child)
    result = cli(str(path), "--expect", "nightly=1d", "--json")
    assert result.returncode == 1, result.stderr
    (finding,) = json.loads(result.stdout)
    assert finding["kind"] == "crashed"
    assert finding["process_name"] == "nightly"
    assert finding["last_run"]["outcome"] == "crashed"
    assert os.path.exists(path)
