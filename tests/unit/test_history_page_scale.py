"""The history's page (SPEC §16) at scale, from histories written with ``record()``: under
2 MB for 100 runs x 200 tasks, linear in runs x tasks, and a process of 10,000 tasks shown
failing and slowest first, saying how many it folded. The browser tests are in
tests/integration/test_history_page.py.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from factories import T0, make_entry, make_error, make_report
from processes import RunHistory, TaskStatus
from processes.rendering.history_page import MAX_MESSAGE_CHARS, MAX_TASK_ROWS

TWO_MB = 2 * 1024 * 1024


def _record(history: RunHistory, runs: int, tasks: int, name: str = "big") -> None:
    """``runs`` runs of ``tasks`` tasks: one task in 50 fails every third run with a long
    message, one in 40 succeeds after retries, and the tasks it fails skip one each."""
    for run in range(runs):
        t0 = T0 + timedelta(hours=run)
        entries = []
        for task in range(tasks):
            status, error, attempts = TaskStatus.SUCCESS, None, 1
            if task % 50 == 7 and run % 3 == 0:
                status = TaskStatus.ERRORED
                error = make_error(f"t{task}", "ValueError: " + "row 17 is bad; " * 40)
            elif task % 50 == 8 and run % 3 == 0:
                status = TaskStatus.SKIPPED
            elif task % 40 == 3:
                attempts = 3
            entry = make_entry(
                f"task_{task:05d}",
                status,
                start=task * 0.01,
                seconds=0.1 + (task % 17),
                attempts=attempts,
                error=error,
                t0=t0,
            )
            entries.append(entry)
        history.record(replace(make_report(*entries, t0=t0), process_name=name))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "runs.db"
    with RunHistory(path) as history:
        _record(history, runs=100, tasks=200)
    return path


def test_100_runs_by_200_tasks_is_under_2_mb(big: Path) -> None:
    with RunHistory(big) as history:
        page = history.to_html(limit=100).encode("utf-8")
    assert len(page) < TWO_MB, len(page)
    assert page.count(b'<th scope="row"') == 200
    assert page.count(b'<th scope="col" class="run') == 100
    assert page.count(b'<td class="c') == 200 * 100


def test_the_page_grows_linearly_with_the_runs_shown(big: Path) -> None:
    with RunHistory(big) as history:
        sizes = {limit: len(history.to_html(limit=limit)) for limit in (25, 50, 100)}
    per_run = [(sizes[50] - sizes[25]) / 25, (sizes[100] - sizes[50]) / 50]
    assert 0.8 < per_run[0] / per_run[1] < 1.25, sizes


def test_a_failure_message_is_cut(big: Path) -> None:
    with RunHistory(big) as history:
        page = history.to_html(limit=3)
    titles = re.findall(r'<summary title="([^"]*)"', page)
    assert titles
    assert all(len(title) < MAX_MESSAGE_CHARS + 80 for title in titles)
    assert all(title.endswith("\u2026") for title in titles)


def test_10000_tasks_show_failing_then_slowest_first_and_say_how_many_were_folded(
    tmp_path: Path,
) -> None:
    with RunHistory(tmp_path / "wide.db") as history:
        _record(history, runs=3, tasks=10_000, name="wide")
        page = history.to_html()
    rows = re.findall(r'<th scope="row" class="task">([^<]*)</th>', page)
    assert len(rows) == MAX_TASK_ROWS
    failing = [f"task_{t:05d}" for t in range(10_000) if t % 50 == 7]  # 200 of them
    assert rows[: len(failing)] == sorted(failing, key=lambda n: -(0.1 + int(n[5:]) % 17))
    # Then the slowest of the others: 16.1 s, the slowest a task takes here.
    assert all(int(name[5:]) % 17 == 16 for name in rows[len(failing) :])
    assert f"{10_000 - MAX_TASK_ROWS:,} tasks folded" in page
    assert "none failed in these runs" in page
    assert len(page.encode()) < TWO_MB


def test_the_limit_is_checked(big: Path) -> None:
    with RunHistory(big) as history:
        with pytest.raises(ValueError, match="limit"):
            history.to_html(limit=0)
        with pytest.raises(TypeError, match="limit"):
            history.to_html(limit="3")  # type: ignore[arg-type]
        assert "big" in history.to_html("big", limit=1)
        assert "No runs recorded yet" in history.to_html("nothing-by-this-name")
