"""FileChannel: each format, errors_only, atomic replacement, and its place in notify()."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from factories import make_entry, make_report, small_report
from processes import FileChannel, ProcessExecutionReport, ReportChannel, ReportContent
from processes.channels import file as file_module


def test_is_a_report_channel() -> None:
    assert isinstance(FileChannel("x.html"), ReportChannel)


@pytest.mark.parametrize("fmt", ["html", "json", "text"])
def test_writes_each_format(tmp_path: Path, fmt: str) -> None:
    report = small_report()
    path = tmp_path / f"run.{fmt}"
    FileChannel(path, format=fmt).send_report(report, errors_only=False)  # type: ignore[arg-type]
    written = path.read_text(encoding="utf-8")
    if fmt == "json":
        assert ProcessExecutionReport.from_json(written) == report
    elif fmt == "text":
        assert written == report.to_text(color=False) + "\n"
        assert "\x1b[" not in written  # a file never gets terminal colours
    else:
        assert written == report.to_html()
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind


def test_default_format_is_html_and_accepts_str_paths(tmp_path: Path) -> None:
    target = str(tmp_path / "report.html")
    FileChannel(target).send_report(small_report(), errors_only=False)
    assert Path(target).read_text(encoding="utf-8").startswith("<!doctype html>")


def test_errors_only_keeps_only_errored_entries(tmp_path: Path) -> None:
    path = tmp_path / "errors.json"
    FileChannel(path, "json").send_report(small_report(), errors_only=True)
    assert list(ProcessExecutionReport.from_json(path.read_text()).entries) == ["fetch"]


def test_errors_only_text_and_html_count_every_task_but_list_the_errored(
    tmp_path: Path,
) -> None:
    # small_report: fetch errored, load and publish skipped because of it, 3 successes.
    text_path, html_path = tmp_path / "errors.txt", tmp_path / "errors.html"
    FileChannel(text_path, "text").send_report(small_report(), errors_only=True)
    FileChannel(html_path).send_report(small_report(), errors_only=True)
    text = text_path.read_text(encoding="utf-8")
    assert "Tasks 6 | Succeeded 3 | Failed 1 | Skipped 2" in text
    assert "Skipped because of it: load, publish" in text
    assert "extract" not in text
    page = html_path.read_text(encoding="utf-8")
    assert "<strong>2</strong> skipped" in page
    assert "<strong>3</strong> succeeded" in page
    assert 'data-task="extract"' not in page
    assert ">extract</th>" not in page


def test_content_reaches_the_html(tmp_path: Path) -> None:
    path = tmp_path / "min.html"
    FileChannel(path, content=ReportContent.min()).send_report(small_report(), errors_only=False)
    assert "Traceback (most recent call last)" not in path.read_text()
    FileChannel(path).send_report(small_report(), errors_only=False)
    assert "Traceback (most recent call last)" in path.read_text()


@pytest.mark.parametrize("fmt", ["HTML", "md", "", "pdf"])
def test_unknown_format_is_a_value_error(fmt: str) -> None:
    with pytest.raises(ValueError, match="format must be one of html, json, text"):
        FileChannel("x", format=fmt)  # type: ignore[arg-type]


def test_path_of_the_wrong_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike"):
        FileChannel(42)  # type: ignore[arg-type]


def test_creates_missing_folders_and_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "run.html"
    FileChannel(path).send_report(small_report(), errors_only=False)
    assert stat.S_IMODE(path.stat().st_mode) == file_module.NEW_FILE_MODE


def test_replacing_keeps_the_old_files_mode(tmp_path: Path) -> None:
    path = tmp_path / "run.txt"
    path.write_text("old")
    path.chmod(0o600)
    FileChannel(path, "text").send_report(small_report(), errors_only=False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() != "old"


def test_a_failed_write_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "run.json"
    path.write_text("previous report")

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        FileChannel(path, "json").send_report(small_report(), errors_only=False)
    assert path.read_text() == "previous report"
    assert os.listdir(tmp_path) == ["run.json"]  # the temporary file was removed


def test_notify_delivers_and_reports_a_failing_file(tmp_path: Path) -> None:
    report = small_report()
    good = FileChannel(tmp_path / "ok.html")
    folder = tmp_path / "a_folder"
    folder.mkdir()
    bad = FileChannel(folder)  # a folder cannot be replaced by a file
    with pytest.warns(UserWarning, match="FileChannel failed to deliver"):
        deliveries = report.notify(bad, good)
    assert [d.ok for d in deliveries] == [False, True]
    assert isinstance(deliveries[0].error, OSError)
    assert (tmp_path / "ok.html").exists()


def test_notify_only_errors_writes_nothing_for_a_clean_run(tmp_path: Path) -> None:
    path = tmp_path / "errors.html"
    make_report(make_entry("a")).notify(FileChannel(path), only_errors=True)
    assert not path.exists()


def test_repr_names_path_and_format() -> None:
    assert repr(FileChannel("out/run.json", "json")) == "FileChannel('out/run.json', format='json')"
