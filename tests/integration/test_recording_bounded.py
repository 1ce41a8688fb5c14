"""The end of a run's record is never lost (SPEC §17): SIGTERM or Ctrl-C while the run is
being recorded, and the run's deadline while another writer holds the file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from processes import Process, RunHistory, Task

pytestmark = pytest.mark.integration

GENEROUS_SECONDS = 60.0

_JOB = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from processes import Process, RunHistory, RunTerminated, Task

    path, ready, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

    def work():
        ready.write_text("started")
        while not Path(str(ready) + ".locked").exists():  # the parent holds the file now
            time.sleep(0.01)
        return 42

    history = RunHistory(path, timeout_seconds=30)
    try:
        with Process([Task("work", work)], name="job") as process:
            report = process.run(history=history)
        out.write_text(json.dumps({"ended": "normally"}))
    except RunTerminated as stop:
        out.write_text(json.dumps({"ended": "terminated", "report": stop.report.to_json()}))
    """
)


def test_sigterm_while_the_run_is_recorded_keeps_the_report(tmp_path: Path) -> None:
    path, ready, out = tmp_path / "runs.db", tmp_path / "ready", tmp_path / "out.json"
    script = tmp_path / "job.py"
    script.write_text(_JOB)
    child = subprocess.Popen([sys.executable, str(script), str(path), str(ready), str(out)])
    deadline = time.monotonic() + GENEROUS_SECONDS
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    locker = sqlite3.connect(path, isolation_level=None, timeout=GENEROUS_SECONDS)
    try:
        locker.execute("BEGIN EXCLUSIVE")  # the run's end must wait for it
        Path(f"{ready}.locked").write_text("")
        time.sleep(0.5)  # the task ends; the record waits for the lock
        child.send_signal(signal.SIGTERM)
        time.sleep(0.2)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    child.wait(GENEROUS_SECONDS)
    ended = json.loads(out.read_text())
    assert ended["ended"] == "terminated"
    report = json.loads(ended["report"])
    assert report["entries"]["work"]["status"] == "success"
    assert report["entries"]["work"]["result"] == 42
    with RunHistory(path) as history:  # and it was recorded, whole
        (run,) = history.runs("job")
    assert run.ok
    assert run.run_id == report["run_id"]


def test_the_deadline_bounds_the_wait_for_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunHistory(path) as history:
        history.runs()  # the file exists
    # The task may run in a helper thread (the deadline without SIGALRM): any thread.
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    ready = tmp_path / "locked"

    def lock_the_file() -> int:
        locker.execute("BEGIN EXCLUSIVE")
        ready.write_text("")
        return 1

    try:
        with (
            RunHistory(path, timeout_seconds=30) as history,
            Process([Task("lock", lock_the_file)], name="job") as process,
        ):
            started = time.monotonic()
            with pytest.warns(UserWarning, match="database is locked"):
                report = process.run(history=history, deadline=1.0)
            took = time.monotonic() - started
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert report.entries["lock"].status.value == "success"
    assert took < 10, took  # not the 30 s the history would wait for another writer
    assert os.path.exists(ready)
