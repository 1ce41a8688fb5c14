"""The Python of "Pipelines that run every day" runs as written, and its CLI lines work."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from processes import Process, RunHistory, Task
from snippets import code_blocks, run_python

PAGE = Path(__file__).parents[1] / "docs" / "every-day.md"


def test_the_page_s_python_runs_in_order_and_leaves_a_history(tmp_path: Path) -> None:
    script = "\n".join(code_blocks(PAGE.read_text(encoding="utf-8"), "python"))
    assert "run(history=history)" in script
    first = run_python(script, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stderr == ""
    assert "nightly  OK" in first.stdout
    second = run_python(script, tmp_path)  # the next night
    assert second.returncode == 0, second.stdout + second.stderr
    with RunHistory(tmp_path / "nightly.db") as history:
        runs = history.runs()
        # each night: the nightly run, and the resume="last" one (afresh: all was well)
        assert [run.process_name for run in runs] == ["nightly"] * 4
        assert all(run.ok for run in runs)
        assert history.results(runs[0].run_id)[0]["load"] == "loaded 2 orders"
    page = (tmp_path / "nightly.html").read_text(encoding="utf-8")  # the history as a page
    assert page.startswith("<!doctype html>")
    assert page.count('<th scope="col" class="run ok">') >= 2  # written mid-script
    assert 'class="run failed"' not in page
    with RunHistory(tmp_path / "nightly-copy.db") as copy:  # the backup, made by the page
        assert len(copy.runs()) >= 1
    listed = subprocess.run(
        [sys.executable, "-m", "processes", "history", "nightly.db", "--process", "nightly"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("succeeded: 3 ok") == 4


def test_the_page_s_sql_forgets_one_process_and_leaves_the_others_whole(tmp_path: Path) -> None:
    shell = "\n".join(code_blocks(PAGE.read_text(encoding="utf-8"), "bash"))
    forget = next(
        line.split('"', 1)[1] for line in shell.splitlines() if "DELETE FROM tasks" in line
    )
    statements = forget + "\n" + shell.split(forget, 1)[1].split('"', 1)[0]
    path = tmp_path / "nightly.db"
    with RunHistory(path) as history:
        for name in ("old", "nightly"):
            tasks = [Task("ok", lambda: 1), Task("broken", _broken)]
            for _ in range(2):
                Process(tasks, name=name).run(history=history)
    with sqlite3.connect(path) as db:
        db.executescript(statements)
        tables = ("runs", "tasks", "streaks", "results")
        left = {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables
        }
        orphans = [
            table
            for table in tables[1:]
            if db.execute(
                f"SELECT 1 FROM {table} WHERE run NOT IN (SELECT id FROM runs)"
            ).fetchone()
        ]
    assert left["runs"] == 2
    assert left["tasks"] == 4
    assert left["streaks"] == 2  # nightly's "broken", in both of its runs
    assert orphans == []
    with RunHistory(path) as history:
        assert history.process_names() == ["nightly"]
        assert history.last("nightly").streaks["broken"].runs == 2  # type: ignore[union-attr]


def _broken() -> None:
    raise RuntimeError("broken")
