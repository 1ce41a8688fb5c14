"""A run recorded as it goes (SPEC §13) that maps a task over items (SPEC §15): the
rows its checkpoints write and the rows its end writes are one row per entry."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from processes import Process, RunHistory, Task, TaskDependency


def _rows_of(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as connection:
        return sorted(connection.execute("SELECT name, status FROM tasks").fetchall())


@pytest.mark.parametrize("parallel", [False, True])
def test_a_task_checkpointed_while_items_run_keeps_one_row_and_every_item_its_own(
    tmp_path: Path, parallel: bool
) -> None:
    """``after`` is declared after the mapped task but ends (and is checkpointed) while
    the items still run: before the fix, the end wrote it again on an item's id, and that
    item's row was lost."""
    path = tmp_path / "runs.db"

    def checkpointed(name: str) -> bool:
        with sqlite3.connect(path) as connection:
            row = connection.execute("SELECT 1 FROM tasks WHERE name = ?", (name,)).fetchone()
        return row is not None

    def listing() -> list[str]:
        return ["x.csv", "y.csv", "z.csv"]

    def load(name: str) -> str:
        deadline = time.monotonic() + 30
        while name == "x.csv" and not checkpointed("after"):  # the checkpoint comes first
            assert time.monotonic() < deadline, "no checkpoint wrote 'after' in 30 s"
            time.sleep(0.01)
        return name.upper()

    process = Process(
        [
            Task("listing", listing),
            Task(
                "load",
                load,
                dependencies=[
                    TaskDependency("listing", use_result_as_additional_args=True, for_each=True)
                ],
            ),
            Task("after", lambda: "done"),
        ],
        name="nightly",
    )
    history = RunHistory(path, checkpoint_seconds=0.02)
    report = process.run(parallel=parallel, max_workers=2, history=history)
    history.close()

    assert report.ok
    expected = sorted((name, "success") for name in report.entries)
    assert _rows_of(path) == expected
    assert len(expected) == 6  # listing, load, its three items, after
    assert [run.ok for run in RunHistory(path).runs()] == [True]
