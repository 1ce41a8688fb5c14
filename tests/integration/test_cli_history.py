"""``python -m processes history`` and ``show FILE.db RUN_ID``: a real interpreter on a
real history file, written by real runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli_runner import run_cli
from processes import Process, ProcessExecutionReport, RunHistory, Task, TaskDependency

pytestmark = pytest.mark.integration


class Recorded:
    """A history holding three runs of "nightly" and one of "hourly"."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.failing: set[str] = set()
        self.attempts = 0
        nightly = Process(
            [
                Task("fetch", self.step("fetch"), retries=1),
                Task("load", self.step("load"), dependencies=[TaskDependency("fetch")]),
            ],
            name="nightly",
        )
        hourly = Process([Task("ping", self.step("ping"))], name="hourly")
        with RunHistory(path) as history:
            self.failed = self.run(nightly, history, "load")
            self.flaky = self.run(nightly, history, "flaky-fetch")
            self.hourly = self.run(hourly, history)
            self.clean = self.run(nightly, history)

    def step(self, name: str) -> Any:
        def run() -> str:
            if name in self.failing:
                raise ValueError(f"{name} broke")
            if f"flaky-{name}" in self.failing and self.attempts == 0:
                self.attempts += 1
                raise ConnectionError("reset by peer")
            return name

        return run

    def run(self, process: Process, history: RunHistory, *failing: str) -> ProcessExecutionReport:
        self.failing = set(failing)
        self.attempts = 0
        return process.run(history=history, sleep=lambda _: None)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    return Recorded(tmp_path_factory.mktemp("history") / "runs.db")


def test_history_lists_the_runs_newest_first(recorded: Recorded) -> None:
    done = run_cli("history", recorded.path.name, cwd=recorded.path.parent)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    header, *lines = done.stdout.splitlines()
    assert header.split() == ["RUN", "ID", "PROCESS", "STARTED", "(UTC)", "TOOK", "HOST", "OUTCOME"]
    ids = [line.split()[0] for line in lines]
    order = [recorded.clean, recorded.hourly, recorded.flaky, recorded.failed]
    assert ids == [report.run_id for report in order]
    assert lines[0].endswith("succeeded: 2 ok")
    assert lines[3].endswith("failed: 1 ok, 1 errored")
    assert recorded.failed.host in lines[3]


def test_history_of_one_process_with_a_limit(recorded: Recorded) -> None:
    done = run_cli("history", recorded.path, "--process", "nightly", "--limit", "2", cwd=Path.cwd())
    assert done.returncode == 0, done.stderr
    ids = [line.split()[0] for line in done.stdout.splitlines()[1:]]
    assert ids == [recorded.clean.run_id, recorded.flaky.run_id]


def test_history_as_json(recorded: Recorded) -> None:
    done = run_cli("history", recorded.path, "--json", cwd=Path.cwd())
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)
    assert [run["run_id"] for run in runs][-1] == recorded.failed.run_id
    failed = runs[-1]
    assert failed["process_name"] == "nightly"
    assert failed["ok"] is False
    assert failed["summary"] == {"success": 1, "errored": 1, "skipped": 0}
    assert failed["started_at"] == recorded.failed.started_at.isoformat()  # type: ignore[union-attr]
    assert failed["host"] == recorded.failed.host
    assert isinstance(failed["pid"], int)
    assert isinstance(failed["argv"], list)


def test_a_task_record(recorded: Recorded) -> None:
    done = run_cli(
        "history", recorded.path, "--process", "nightly", "--task", "FETCH", cwd=Path.cwd()
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "task fetch of nightly, over its 3 recorded runs:"
    assert lines[1].split() == ["succeeded", "3"]
    assert lines[2].split() == ["failed", "0"]
    assert lines[3].split()[:2] == ["flaky", "1"]
    assert lines[5].split()[:2] == ["reused", "0"]
    assert lines[6].startswith("  duration   p50 ")
    as_json = run_cli(
        "history", recorded.path, "--process", "nightly", "--task", "load", "--json", cwd=Path.cwd()
    )
    record = json.loads(as_json.stdout)
    assert (record["runs"], record["failures"], record["flaky"]) == (3, 1, 0)
    assert (record["skipped"], record["reused"]) == (0, 0)
    assert 0 <= record["p50_seconds"] <= record["p95_seconds"]


def test_a_task_record_counts_reused_entries_apart(tmp_path: Path) -> None:
    failing = {"load"}

    def step(name: str) -> Any:
        def run() -> str:
            if name in failing:
                raise ValueError(f"{name} broke")
            return name

        return run

    process = Process(
        [
            Task("fetch", step("fetch")),
            Task("load", step("load"), dependencies=[TaskDependency("fetch")]),
        ],
        name="nightly",
    )
    with RunHistory(tmp_path / "runs.db") as history:
        failed = process.run(history=history)
        failing.clear()
        process.run(history=history, resume=failed.run_id)
    done = run_cli("history", "runs.db", "--process", "nightly", "--task", "fetch", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "task fetch of nightly, over its 2 recorded runs:"
    assert lines[1].split() == ["succeeded", "1"]
    assert lines[5].split()[:2] == ["reused", "1"]
    as_json = run_cli(
        "history", "runs.db", "--process", "nightly", "--task", "fetch", "--json", cwd=tmp_path
    )
    record = json.loads(as_json.stdout)
    assert (record["runs"], record["succeeded"], record["reused"]) == (1, 1, 1)
    assert record["p50_seconds"] == failed.entries["fetch"].elapsed_seconds


def test_show_a_recorded_run_as_show_does_a_file(recorded: Recorded) -> None:
    done = run_cli("show", recorded.path, recorded.failed.run_id, cwd=Path.cwd())
    assert done.returncode == 0, done.stderr
    assert done.stdout == recorded.failed.to_text(color=False) + "\n"
    as_json = run_cli("show", recorded.path, recorded.failed.run_id, "--json", cwd=Path.cwd())
    assert ProcessExecutionReport.from_json(as_json.stdout) == recorded.failed
    checked = run_cli(
        "show", recorded.path, recorded.failed.run_id, "--check", "--errors-only", cwd=Path.cwd()
    )
    assert checked.returncode == 1
    assert "load" in checked.stdout
    assert "fetch" not in checked.stdout
    page = recorded.path.parent / "run.html"
    html = run_cli("show", recorded.path, recorded.clean.run_id, "--html", page, cwd=Path.cwd())
    assert html.returncode == 0, html.stderr
    assert page.read_text(encoding="utf-8") == recorded.clean.to_html()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("history", "missing.db"), "error: missing.db: no such file\n"),
        (("show", "missing.db", "RUN"), "error: missing.db: no such file\n"),
        (("history", "--process", "weekly", "{db}"), "no runs of a process 'weekly' in"),
        (
            ("history", "{db}", "--process", "nightly", "--task", "nope"),
            "no task 'nope' in the recorded runs of 'nightly' (its last run had: fetch, load)",
        ),
        (("show", "{db}", "no-such-run"), "error: no run 'no-such-run' in the history"),
        (("show", "{db}"), "a run history, not a report file: give a RUN_ID too"),
        (("history", "--task", "load", "{db}"), "--task needs --process NAME"),
        (("history", "{db}", "--limit", "0"), "expected at least 1, got 0"),
        (("history", "{json}"), "cannot read the run history (file is not a database)"),
    ],
)
def test_what_cannot_be_done_is_said_on_stderr_with_status_2(
    recorded: Recorded, tmp_path: Path, arguments: tuple[str, ...], message: str
) -> None:
    report = tmp_path / "run.json"
    report.write_text(recorded.clean.to_json(), encoding="utf-8")
    filled = [a.format(db=recorded.path, json=report) for a in arguments]
    done = run_cli(*filled, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "missing.db").exists()  # reading never creates a history


@pytest.mark.parametrize("made_by", ["touch", "a check"])
def test_an_empty_history_lists_nothing(tmp_path: Path, made_by: str) -> None:
    if made_by == "touch":
        (tmp_path / "empty.db").touch()  # stays empty: reading writes no schema into it
    else:
        RunHistory(tmp_path / "empty.db").check()  # a writer: the schema, no runs
    done = run_cli("history", "empty.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "no runs recorded in empty.db yet\n"
    assert json.loads(run_cli("history", "empty.db", "--json", cwd=tmp_path).stdout) == []


def test_help_describes_the_history_command(tmp_path: Path) -> None:
    done = run_cli("history", "--help", cwd=tmp_path)
    assert done.returncode == 0
    for text in ("--process NAME", "--limit N", "--task TASK", "--json", "exit status:"):
        assert text in done.stdout
    top = run_cli("--help", cwd=tmp_path)
    assert "history" in top.stdout
    assert "show runs.db RUN_ID" in run_cli("show", "--help", cwd=tmp_path).stdout
