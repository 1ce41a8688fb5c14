"""Reading a history never writes to it (SPEC §17): the API's reads and the CLI's read
commands leave the file byte for byte as it was, and no -wal or -shm beside it, whether
it is of an older schema, in rollback-journal mode, another application's, empty, or in
a folder the reader cannot write (read as another user than the one who wrote it)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import warnings
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from test_history import _VERSION_3_TASKS, Pipeline

import processes
from processes import RunHistory, RunHistoryError

pytestmark = pytest.mark.integration

_SOURCE = str(Path(processes.__file__).resolve().parents[1])

# Every read of the API, in a process of its own (run as another user for a folder it
# cannot write): prints what it read, or the error it got.
_READ_ALL = """
import json, sys
from processes import RunHistory, RunHistoryError
out = {}
try:
    with RunHistory(sys.argv[1]) as history:
        runs = history.runs(limit=None)
        out["runs"] = [run.run_id for run in runs]
        out["names"] = history.process_names()
        for run in runs:
            report = history.report(run.run_id)
            out.setdefault("entries", []).append(list(report.entries))
            out.setdefault("results", []).append(sorted(history.results(run.run_id)[0]))
            history.resumable(run.run_id)
        for name in out["names"]:
            out.setdefault("last", []).append(history.last(name).run_id)
            out.setdefault("stats", []).append(history.task_stats(name, "transform").runs)
        out["page"] = history.to_html().startswith("<!doctype html>")
except RunHistoryError as exc:
    out["error"] = str(exc)
print(json.dumps(out))
"""

_KINDS = ["older", "rollback", "foreign", "empty", "wal"]


def _make(kind: str, path: Path) -> list[str]:
    """A file of ``kind`` at ``path``; the ids of the runs it holds, newest first."""
    if kind == "foreign":  # another application's database, in rollback-journal mode
        with closing(sqlite3.connect(path)) as db:
            db.execute("CREATE TABLE users (name TEXT)")
            db.execute("INSERT INTO users VALUES ('ada')")
            db.commit()
        return []
    if kind == "empty":
        path.touch()
        return []
    pipeline = Pipeline()
    with RunHistory(path) as history:
        ids = [pipeline.run(history, *failing).run_id for failing in ((), ("transform",))]
    with closing(sqlite3.connect(path)) as db:
        if kind == "older":  # version 3, as test_history makes it
            db.executescript(_VERSION_3_TASKS)
        elif kind == "rollback":
            assert db.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    return ids[::-1]


def _folder_state(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.fixture
def open_folder() -> Any:
    """A folder under the system's temporary folder, that another user can reach (pytest's
    own is the owner's only); removed afterwards whatever its modes became."""
    folder = Path(tempfile.mkdtemp(prefix="readers-"))
    folder.chmod(0o755)
    yield folder
    for inside in folder.rglob("*"):
        if inside.is_dir():
            inside.chmod(0o755)
    folder.chmod(0o755)
    shutil.rmtree(folder)


def _nobody() -> tuple[int, str]:
    """Another user than root, and an interpreter that user can run (``sys.executable``
    may sit under root's home)."""
    try:
        user = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody' to read as")
    candidates = [sys.executable, shutil.which("python3.11"), "/usr/bin/python3"]
    for python in dict.fromkeys(c for c in candidates if c):
        try:
            done = subprocess.run(
                [python, "-c", "import sys; assert sys.version_info >= (3, 11)"],
                user=user.pw_uid,
                group=user.pw_gid,
                capture_output=True,
                check=False,
                cwd="/",
            )
        except OSError:  # that user may not run it
            continue
        if done.returncode == 0:
            return user.pw_uid, python
    if os.environ.get("CI"):
        pytest.fail("no Python 3.11+ that the user 'nobody' can run")
    pytest.skip("no Python 3.11+ that the user 'nobody' can run")


def _runner(as_nobody: bool) -> Any:
    uid, python = _nobody() if as_nobody else (None, sys.executable)

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, *map(str, args)],
            user=uid,
            group=None if uid is None else pwd.getpwuid(uid).pw_gid,
            env={**os.environ, "PYTHONPATH": _SOURCE, "HOME": "/"},
            cwd="/",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


@pytest.mark.parametrize("kind", _KINDS)
@pytest.mark.parametrize("reader", ["owner", "nobody in a 0555 folder"])
def test_every_reader_leaves_the_file_as_it_was(open_folder: Path, kind: str, reader: str) -> None:
    if reader != "owner" and os.geteuid() != 0:
        pytest.skip("reading as another user needs root to become it")
    folder = open_folder / "history"
    folder.mkdir()
    path = folder / "runs.db"
    ids = _make(kind, path)
    out = open_folder / "out"
    out.mkdir(mode=0o777)
    out.chmod(0o777)  # whatever the umask: the page is written here
    if reader != "owner":
        folder.chmod(0o555)
    run = _runner(reader != "owner")
    before = _folder_state(folder)
    assert list(before) == ["runs.db"]

    read = run("-W", "error", "-c", _READ_ALL, path)
    assert read.returncode == 0, read.stderr
    got = json.loads(read.stdout)
    assert _folder_state(folder) == before
    if kind == "foreign":
        assert got == {"error": f"{path}: an SQLite file but not a run history (it holds users)"}
    else:
        assert got["runs"] == ids
        assert got["names"] == (["nightly"] if ids else [])
        if ids:  # an older file reads as it did before its downgrade
            assert got["entries"] == [["extract", "transform", "load", "audit"]] * 2
            assert got["results"] == [
                ["audit", "extract"],
                ["audit", "extract", "load", "transform"],
            ]
            assert got["last"] == ids[:1]
            assert got["stats"] == [2]
        assert got["page"] is True

    commands: list[tuple[str | Path, ...]] = [
        ("history", path),
        ("history", path, "--json"),
        ("history", path, "--html", out / "page.html"),
    ]
    if ids:
        commands += [
            ("history", path, "--process", "nightly", "--task", "transform"),
            ("show", path, ids[0], "--json"),
        ]
    for command in commands:
        done = run("-W", "error", "-m", "processes", *command)
        assert _folder_state(folder) == before, command
        if kind == "foreign":
            assert done.returncode == 2, (command, done.stdout, done.stderr)
            assert "not a run history (it holds users)" in done.stderr
            continue
        assert done.returncode == 0, (command, done.stderr)
        if command[-1] == "--json" and command[0] == "history":
            assert [run["run_id"] for run in json.loads(done.stdout)] == ids
        elif command[0] == "show":
            assert json.loads(done.stdout)["run_id"] == ids[0]
        elif len(command) == 2:
            assert ("no runs recorded" in done.stdout) is (not ids)
    if kind != "foreign":
        assert (out / "page.html").read_text().startswith("<!doctype html>")


def test_a_missing_file_reads_as_no_runs_and_is_not_made(tmp_path: Path) -> None:
    path = tmp_path / "later.db"
    with RunHistory(path) as history:
        assert history.runs() == []
        assert history.process_names() == []
        assert history.last("nightly") is None
        with pytest.raises(LookupError, match="no run 'x'"):
            history.report("x")
        assert not path.exists()
        report = Pipeline().run(history)  # the first write makes it
        assert [run.run_id for run in history.runs()] == [report.run_id]


def test_a_reader_sees_what_a_writer_adds_after_it_read_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    path.touch()
    with RunHistory(path) as reader:
        assert reader.runs() == []
        with RunHistory(path) as writer:
            report = Pipeline().run(writer)
        assert [run.run_id for run in reader.runs()] == [report.run_id]
        assert reader.report(report.run_id) == report


def test_a_reader_of_an_older_file_upgrades_nothing_until_a_run_is_recorded(
    tmp_path: Path,
) -> None:
    path = tmp_path / "runs.db"
    ids = _make("older", path)
    with RunHistory(path) as history:
        assert [run.run_id for run in history.runs()] == ids
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            assert db.execute("PRAGMA user_version").fetchone() == (3,)
        report = Pipeline().run(history)  # a writer: upgrades the file, then records
        assert [run.run_id for run in history.runs()] == [report.run_id, *ids]
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] > 3


def test_a_run_refused_by_another_applications_file_leaves_it_as_it_was(tmp_path: Path) -> None:
    """Recording refuses a database that is no history before switching it to WAL."""
    path = tmp_path / "app.db"
    _make("foreign", path)
    before = _folder_state(tmp_path)
    with RunHistory(path) as history, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Pipeline().run(history)
    assert "not a run history" in str(caught[0].message)
    assert _folder_state(tmp_path) == before
    with pytest.raises(RunHistoryError, match="not a run history"):
        RunHistory(path).runs()


def test_a_file_uri_is_read_without_being_made(tmp_path: Path) -> None:
    """A ``file:`` URI is opened as given, but read-only unless it says otherwise."""
    missing = tmp_path / "missing.db"
    with RunHistory(f"file:{missing}") as history, pytest.raises(RunHistoryError):
        history.runs()
    assert list(tmp_path.iterdir()) == []

    path = tmp_path / "runs.db"
    with RunHistory(path) as writer:
        report = Pipeline().run(writer)
    before = path.read_bytes()
    with RunHistory(f"file:{path}?cache=private") as reader:
        assert [run.run_id for run in reader.runs()] == [report.run_id]
    # The history itself is as it was. (SQLite may leave the -wal and -shm files of a
    # WAL-mode file beside it when read through a URI, which is opened as given.)
    assert path.read_bytes() == before
