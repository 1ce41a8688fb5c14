"""A run killed without a word (SIGKILL, as the out-of-memory killer does) is in the history:
readers show it crashed without writing, and the next run closes it once and says so
(SPEC §13). Real processes, real signals, real files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing
from pathlib import Path

import pytest

from processes import (
    Process,
    RunHistory,
    StopReason,
    Task,
    TaskChange,
    TaskDependency,
    TaskStatus,
)
from processes.outcome import SkipReason

pytestmark = pytest.mark.integration

GENEROUS_SECONDS = 60.0

# A nightly job: three quick tasks, then one that blocks (the parent kills the process
# while it runs), then one that depends on it. ``BLOCK`` says whether it blocks.
_JOB = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from processes import Process, RunHistory, Task, TaskDependency

    ready = Path(sys.argv[2])

    def quick(n):
        return n

    def load_db():
        if os.environ.get("BLOCK") == "1":
            ready.write_text("running")
            while True:
                time.sleep(0.05)
        return "loaded"

    def report(rows):
        return rows

    tasks = [Task(f"extract_{n}", quick, args=(n,)) for n in range(3)]
    upstream = [TaskDependency(f"extract_{n}") for n in range(3)]
    tasks.append(Task("load_db", load_db, dependencies=upstream))
    tasks.append(Task("report", report, dependencies=[
        TaskDependency("load_db", use_result_as_additional_args=True)]))
    history = RunHistory(sys.argv[1], checkpoint_seconds=0.05, heartbeat_seconds=0.05)
    resume = os.environ.get("RESUME") or None
    with Process(tasks, name="nightly") as process:
        process.run(parallel=False, history=history, resume=resume)
    """
)


def _job_process() -> Process:
    """The same job, in this process: ``load_db`` does not block here."""

    def quick(n: int) -> int:
        return n

    def load_db() -> str:
        return "loaded"

    def report(rows: str) -> str:
        return rows

    tasks = [Task(f"extract_{n}", quick, args=(n,)) for n in range(3)]
    tasks.append(
        Task("load_db", load_db, dependencies=[TaskDependency(f"extract_{n}") for n in range(3)])
    )
    tasks.append(
        Task(
            "report",
            report,
            dependencies=[TaskDependency("load_db", use_result_as_additional_args=True)],
        )
    )
    return Process(tasks, name="nightly")


def _start_job(tmp_path: Path, *, block: bool) -> tuple[subprocess.Popen[bytes], Path]:
    path = tmp_path / "runs.db"
    ready = tmp_path / "ready"
    script = tmp_path / "job.py"
    script.write_text(_JOB)
    env = {**os.environ, "BLOCK": "1" if block else "0"}
    child = subprocess.Popen([sys.executable, str(script), str(path), str(ready)], env=env)
    return child, path


def _wait_until_running(child: subprocess.Popen[bytes], tmp_path: Path, path: Path) -> str:
    """Wait until the job blocks in load_db with its three quick tasks checkpointed;
    return its run id."""
    deadline = time.monotonic() + GENEROUS_SECONDS
    while time.monotonic() < deadline:
        assert child.poll() is None, "the job ended before it was killed"
        if (tmp_path / "ready").exists():
            with closing(sqlite3.connect(path)) as db:
                rows = db.execute("SELECT count(*) FROM tasks").fetchone()[0]
                running = db.execute("SELECT running, run_id FROM runs").fetchone()
            if rows == 3 and running and "load_db" in running[0]:
                return str(running[1])
        time.sleep(0.02)
    raise AssertionError("the job never reached load_db")


def _contents(path: Path) -> list[tuple[object, ...]]:
    """Every row of every table of the history, read through a connection of the test's."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        tables = [
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return [row for table in sorted(tables) for row in db.execute(f"SELECT * FROM {table}")]


@pytest.fixture
def killed_run(tmp_path: Path) -> tuple[Path, str]:
    """A history holding a run whose process was SIGKILLed while load_db ran."""
    child, path = _start_job(tmp_path, block=True)
    try:
        run_id = _wait_until_running(child, tmp_path, path)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(GENEROUS_SECONDS)
    assert child.returncode == -signal.SIGKILL
    return path, run_id


def test_a_killed_run_reads_as_crashed_without_a_write(killed_run: tuple[Path, str]) -> None:
    path, run_id = killed_run
    before = _contents(path)
    with RunHistory(path) as history:
        (summary,) = history.runs()
        report = history.report(run_id)
        last = history.last("nightly")
    assert _contents(path) == before  # readers never write: the run is still open

    assert summary.run_id == run_id
    assert summary.stopped_by is StopReason.CRASHED
    assert summary.finished_at is not None
    assert (summary.succeeded, summary.errored, summary.skipped) == (3, 1, 1)
    assert report.stopped_by is StopReason.CRASHED
    assert [report.entries[f"extract_{n}"].result for n in range(3)] == [0, 1, 2]
    died = report.entries["load_db"]
    assert died.status is TaskStatus.ERRORED
    assert died.error is not None
    assert "process died while this task ran" in died.error.exception
    assert report.entries["report"].skip_reason is SkipReason.CRASHED
    assert last == report


def test_the_next_run_closes_a_crashed_run_once_and_says_so(
    killed_run: tuple[Path, str],
) -> None:
    path, run_id = killed_run
    with RunHistory(path) as history, _job_process() as process:
        first = process.run(parallel=False, history=history)
        second = process.run(parallel=False, history=history)
        closed = history.report(run_id)
        runs = history.runs()

    assert first.ok
    assert first.crashed_runs == (run_id,)
    (crash,) = first.crashes
    assert (crash.tasks_finished, crash.tasks_total, crash.running) == (3, 5, ("load_db",))
    # compared with the crashed run: load_db errored there (its process died)
    assert first.changes == {"load_db": TaskChange.RECOVERED}
    assert second.crashed_runs == ()  # closed once
    # its end was written: it reads the same, from its own row now
    assert closed.stopped_by is StopReason.CRASHED
    assert closed.entries["load_db"].status is TaskStatus.ERRORED
    assert [run.stopped_by for run in runs] == [None, None, StopReason.CRASHED]
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM checkpoints").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM runs WHERE finished_at IS NULL").fetchone() == (0,)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_only_changes_sends_when_a_run_was_found_dead(killed_run: tuple[Path, str]) -> None:
    path, _ = killed_run
    sent: list[object] = []

    class Collecting:
        def send_report(self, report: object, *, errors_only: bool) -> None:
            sent.append(report)

    with RunHistory(path) as history, _job_process() as process:
        first = process.run(parallel=False, history=history)
        second = process.run(parallel=False, history=history)
    assert first.changes  # (recovered too, but the crash alone is reason enough)
    (delivery,) = first.notify(Collecting(), only_changes=True)  # type: ignore[arg-type]
    assert delivery.sent
    (quiet,) = second.notify(Collecting(), only_changes=True)  # type: ignore[arg-type]
    assert not quiet.sent
    assert len(sent) == 1


def test_a_run_still_running_is_never_shown_as_crashed(tmp_path: Path) -> None:
    child, path = _start_job(tmp_path, block=True)
    try:
        run_id = _wait_until_running(child, tmp_path, path)
        with RunHistory(path, stale_seconds=0.001) as history:  # a stale heartbeat too
            (summary,) = history.runs()
            report = history.report(run_id)
        assert summary.stopped_by is None
        assert summary.finished_at is None
        assert report.entries["load_db"].status is TaskStatus.PENDING
        assert report.entries["extract_2"].status is TaskStatus.SUCCESS
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(GENEROUS_SECONDS)


def test_a_pid_taken_by_a_later_process_is_crashed(tmp_path: Path) -> None:
    child, path = _start_job(tmp_path, block=True)
    try:
        run_id = _wait_until_running(child, tmp_path, path)
        # As if the recorded pid now belonged to a process started at another time.
        with closing(sqlite3.connect(path)) as db:
            db.execute("UPDATE runs SET process_start = process_start - 1")
            db.commit()
        with RunHistory(path) as history:
            assert history.report(run_id).stopped_by is StopReason.CRASHED
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(GENEROUS_SECONDS)


@pytest.mark.parametrize(("seconds_ago", "crashed"), [(10, False), (1000, True)])
def test_a_run_of_another_host_is_crashed_when_its_heartbeat_is_stale(
    killed_run: tuple[Path, str], seconds_ago: int, crashed: bool
) -> None:
    path, _ = killed_run
    beat = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - seconds_ago))
    with closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE runs SET host = 'elsewhere.example', heartbeat_at = ?", (beat,))
        db.commit()
    with RunHistory(path, stale_seconds=300) as history:
        (summary,) = history.runs()
    assert summary.stopped_by is (StopReason.CRASHED if crashed else None)


def test_last_resumes_a_crashed_run_reusing_what_it_finished(
    killed_run: tuple[Path, str], tmp_path: Path
) -> None:
    path, run_id = killed_run
    # The same job again, as cron would start it: the same functions, resume="last".
    script, ready = tmp_path / "job.py", tmp_path / "ready"
    env = {**os.environ, "BLOCK": "0", "RESUME": "last"}
    subprocess.run(
        [sys.executable, str(script), str(path), str(ready)],
        env=env,
        check=True,
        timeout=GENEROUS_SECONDS,
    )
    with RunHistory(path) as history:
        report = history.last("nightly")
    assert report is not None
    assert report.ok
    assert report.resumed_from == run_id
    assert report.crashed_runs == (run_id,)
    assert [report.entries[f"extract_{n}"].reused for n in range(3)] == [True] * 3
    assert report.entries["load_db"].attempts == 1
    assert report.entries["report"].result == "loaded"


def test_a_resumed_task_whose_function_changed_runs_again(killed_run: tuple[Path, str]) -> None:
    path, run_id = killed_run
    with RunHistory(path) as history, _job_process() as process:  # other functions
        report = process.run(resume="last", history=history)
    assert report.resumed_from == run_id
    assert not report.entries["extract_0"].reused
    assert "its function changed" in report.entries["extract_0"].rerun_reason


_BIG_JOB = textwrap.dedent(
    """
    import sys
    from processes import Process, RunHistory, Task, TaskDependency

    def step(*upstream):
        return len(upstream)

    def after(i):
        return [TaskDependency(f"t{i - 1}", use_result_as_additional_args=True)]

    tasks = [Task("t0", step)]
    tasks += [Task(f"t{i}", step, dependencies=after(i)) for i in range(1, 10_000)]
    history = RunHistory(sys.argv[1], checkpoint_seconds=0.05)
    with Process(tasks, name="big") as process:
        for _ in range(3):
            process.run(parallel=False, history=history)
    """
)


@pytest.mark.parametrize("trial", range(4))
def test_a_kill_at_any_moment_of_a_large_run_leaves_a_sound_file(
    tmp_path: Path, trial: int
) -> None:
    path = tmp_path / "runs.db"
    script = tmp_path / "big.py"
    script.write_text(_BIG_JOB)
    child = subprocess.Popen([sys.executable, str(script), str(path)])
    # Kill it at a moment that moves with the trial: before, during or between runs.
    deadline = time.monotonic() + GENEROUS_SECONDS
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.15 + 0.35 * trial)
    child.send_signal(signal.SIGKILL)
    child.wait(GENEROUS_SECONDS)

    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with RunHistory(path) as history:
        runs = history.runs("big")
        for run in runs:  # every run readable, the killed one as far as it got
            report = history.report(run.run_id)
            assert len(report.entries) == 10_000
        unended = [run for run in runs if run.stopped_by is StopReason.CRASHED]
    assert len(unended) <= 1
    with RunHistory(path) as history, Process([Task("t0", int)], name="big") as process:
        after = process.run(history=history)
    assert after.crashed_runs == tuple(run.run_id for run in unended)
