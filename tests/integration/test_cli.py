"""``python -m processes``: a real interpreter on real files in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_runner import run_cli
from factories import (
    CRASHED_RUN_ID,
    after_crash,
    crashed_run_report,
    make_entry,
    make_report,
    small_report,
)
from processes import ProcessExecutionReport

pytestmark = pytest.mark.integration


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "run.json"
    path.write_text(small_report().to_json(), encoding="utf-8")
    return path


def test_show_prints_the_text_view(saved: Path, tmp_path: Path) -> None:
    done = run_cli("show", saved.name, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # The saved report, with its run id: every report has one of its own.
    shown = ProcessExecutionReport.from_json(saved.read_text(encoding="utf-8"))
    assert shown.run_id in done.stdout
    assert done.stdout == shown.to_text(color=False) + "\n"
    assert done.stderr == ""


def test_json_prints_an_equal_report(saved: Path, tmp_path: Path) -> None:
    done = run_cli("show", saved, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ProcessExecutionReport.from_json(done.stdout) == small_report()


def test_mermaid_prints_the_flowchart(saved: Path, tmp_path: Path) -> None:
    done = run_cli("show", saved, "--mermaid", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == small_report().to_mermaid()


def test_html_writes_the_page_and_prints_nothing(saved: Path, tmp_path: Path) -> None:
    out = tmp_path / "pages" / "run.html"
    done = run_cli("show", saved, "--html", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    shown = ProcessExecutionReport.from_json(saved.read_text(encoding="utf-8"))
    assert out.read_text(encoding="utf-8") == shown.to_html()


def test_html_with_a_printed_view_does_both(saved: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.html"
    done = run_cli("show", saved, "--html", out, "--text", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "fetch" in done.stdout
    assert out.exists()


def test_errors_only_keeps_the_errored_tasks(saved: Path, tmp_path: Path) -> None:
    done = run_cli("show", saved, "--json", "--errors-only", cwd=tmp_path)
    assert list(ProcessExecutionReport.from_json(done.stdout).entries) == ["fetch"]


def test_check_exits_1_for_a_failed_run_and_0_for_a_clean_one(saved: Path, tmp_path: Path) -> None:
    assert run_cli("show", saved, "--check", cwd=tmp_path).returncode == 1
    clean = tmp_path / "clean.json"
    clean.write_text(make_report(make_entry("a")).to_json())
    assert run_cli("show", clean, "--check", cwd=tmp_path).returncode == 0
    assert run_cli("show", saved, cwd=tmp_path).returncode == 0  # without --check: shown


def test_printed_views_are_exclusive(saved: Path, tmp_path: Path) -> None:
    done = run_cli("show", saved, "--json", "--mermaid", cwd=tmp_path)
    assert done.returncode == 2
    assert "not allowed with argument" in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "missing.json: no such file"),
        (b'{"entries": ', "not valid JSON (line 1, column 13"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "not a processes report"),
        (b'{"entries": {"a": {"name": "a"}}}', "not a processes report (entries.a: missing field"),
        (b'{"entries": {"a": {"status": "weird"}}}', "not a processes report"),
        (b"\xff\xfe\x00garbage", "not UTF-8 text"),
    ],
)
def test_unreadable_reports_exit_2_with_a_clear_message(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "missing.json"
    if content is not None:
        path.write_bytes(content)
    done = run_cli("show", path.name, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: missing.json: ")
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_folder_is_not_a_report(tmp_path: Path) -> None:
    done = run_cli("show", ".", cwd=tmp_path)
    assert done.returncode == 2
    assert "is a folder" in done.stderr


def test_an_unwritable_output_exits_2(saved: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = run_cli("show", saved, "--html", blocker / "run.html", cwd=tmp_path)
    assert done.returncode == 2
    assert "error: cannot write" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_explains_itself(tmp_path: Path) -> None:
    top = run_cli("--help", cwd=tmp_path)
    assert top.returncode == 0
    assert "show" in top.stdout
    assert "report.to_json()" in top.stdout
    show = run_cli("show", "--help", cwd=tmp_path)
    assert show.returncode == 0
    for flag in ("--html", "--mermaid", "--json", "--errors-only", "--check", "exit status"):
        assert flag in show.stdout
    assert "python -m processes show run.json" in show.stdout


def test_no_command_prints_usage_and_exits_2(tmp_path: Path) -> None:
    done = run_cli(cwd=tmp_path)
    assert done.returncode == 2
    assert "usage: python -m processes" in done.stderr


def test_show_says_the_runs_a_run_found_dead_and_a_dead_runs_own_end(tmp_path: Path) -> None:
    after = tmp_path / "after.json"
    after.write_text(after_crash().to_json(), encoding="utf-8")
    done = run_cli("show", after, "--errors-only", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    said = f"The previous run {CRASHED_RUN_ID} (started 2024-03-14 10:00:00 UTC) died after 3"
    assert said in done.stdout.splitlines()[3]
    crashed = tmp_path / "crashed.json"
    crashed.write_text(crashed_run_report().to_json(), encoding="utf-8")
    done = run_cli("show", crashed, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Crashed: the run's process died" in done.stdout
    (index,) = [line for line in done.stdout.splitlines() if line.split()[1:2] == ["index"]]
    assert index.endswith("(skipped: the run's process died)")
