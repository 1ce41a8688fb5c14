"""``python -m processes show`` on files that are not reports: the reason, exit 2, no traceback.

A real interpreter on real files, as a user at a terminal would run it (SPEC §6, issue 14).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from factories import make_entry, make_error, make_report
from processes import TaskStatus

pytestmark = pytest.mark.integration


def saved_text() -> str:
    return make_report(
        make_entry("fetch"),
        make_entry("load", TaskStatus.ERRORED, error=make_error("load")),
    ).to_json()


def damaged(change: str) -> bytes:
    data = json.loads(saved_text())
    if change == "status":
        data["entries"]["fetch"]["status"] = "weird"
    elif change == "missing":
        del data["entries"]["load"]["error"]["traceback_str"]
    elif change == "type":
        data["entries"]["fetch"]["attempts"] = "many"
    elif change == "deep":
        return ('{"entries": {"a": {"result": ' + "[" * 100_000 + "]" * 100_000 + "}}}").encode()
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("status", "not a processes report (entries.fetch: unknown status 'weird'"),
        ("missing", "not a processes report (entries.load.error: missing field 'traceback_str')"),
        ("type", "entries.fetch.attempts: expected a whole number of 0 or more, got a string"),
        ("deep", "not a processes report: nesting too deep"),
    ],
)
def test_show_prints_what_is_wrong_and_where_then_exits_2(
    tmp_path: Path, change: str, message: str
) -> None:
    (tmp_path / "run.json").write_bytes(damaged(change))
    done = subprocess.run(
        [sys.executable, "-m", "processes", "show", "run.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: run.json: ")
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1  # one line, the reason


def test_show_still_shows_a_good_report(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(saved_text(), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "processes", "show", "run.json", "--color"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "load" in done.stdout
