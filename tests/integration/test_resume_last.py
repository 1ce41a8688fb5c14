"""``run(resume="last")``: one fixed cron line that does the right thing after a bad night
(SPEC §12): the newest run of the process is resumed when it did not end ok."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from processes import Process, RunHistory, Task, TaskDependency, TaskStatus

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.integration


class Night:
    """A pipeline whose ``load`` fails while ``broken``; counts each task's calls."""

    def __init__(self) -> None:
        self.broken = False
        self.calls: dict[str, int] = {}

    def step(self, name: str) -> int:
        self.calls[name] = self.calls.get(name, 0) + 1
        if name == "load" and self.broken:
            raise ConnectionError("the warehouse refused the connection")
        return len(name)

    def process(self, name: str = "nightly") -> Process:
        tasks = [
            Task("extract", self.step, args=("extract",)),
            Task("load", self.step, args=("load",), dependencies=[TaskDependency("extract")]),
        ]
        return Process(tasks, name=name)


@pytest.mark.parametrize("parallel", [False, True])
def test_last_resumes_a_failed_run_and_starts_afresh_after_an_ok_one(
    tmp_path: Path, parallel: bool
) -> None:
    night = Night()
    with RunHistory(tmp_path / "runs.db") as history, night.process() as process:
        first = process.run(parallel=parallel, resume="last", history=history)  # none yet
        night.broken = True
        failed = process.run(parallel=parallel, resume="last", history=history)  # ok before
        night.broken = False
        resumed = process.run(parallel=parallel, resume="last", history=history)
        afresh = process.run(parallel=parallel, resume="last", history=history)

    assert first.ok
    assert first.resumed_from is None
    assert failed.resumed_from is None  # the run before it ended ok
    assert failed.entries["load"].status is TaskStatus.ERRORED
    assert resumed.ok
    assert resumed.resumed_from == failed.run_id
    assert resumed.entries["extract"].reused
    assert not resumed.entries["load"].reused
    assert afresh.resumed_from is None
    assert night.calls == {"extract": 3, "load": 4}


def test_a_run_id_of_another_process_is_refused_naming_both(tmp_path: Path) -> None:
    night = Night()
    with RunHistory(tmp_path / "runs.db") as history:
        with night.process("weekly") as weekly:
            other = weekly.run(history=history)
        with (
            night.process("nightly") as nightly,
            pytest.raises(ValueError, match="weekly") as refused,
        ):
            nightly.run(resume=other.run_id, history=history)
    assert "'weekly'" in str(refused.value)
    assert "'nightly'" in str(refused.value)


def test_last_needs_a_history(tmp_path: Path) -> None:
    with Night().process() as process, pytest.raises(ValueError, match="history"):
        process.run(resume="last")


def test_resumed_from_is_kept_in_the_history_and_in_json(tmp_path: Path) -> None:
    night = Night()
    night.broken = True
    with RunHistory(tmp_path / "runs.db") as history, night.process() as process:
        failed = process.run(history=history)
        night.broken = False
        resumed = process.run(resume=failed.run_id, history=history)
        stored = history.report(resumed.run_id)
    assert resumed.resumed_from == failed.run_id
    assert stored.resumed_from == failed.run_id
    assert type(resumed).from_json(resumed.to_json()).resumed_from == failed.run_id


def test_a_task_whose_arguments_or_function_changed_runs_again_and_says_why(
    tmp_path: Path,
) -> None:
    night = Night()
    night.broken = True
    with RunHistory(tmp_path / "runs.db") as history:
        with night.process() as process:
            failed = process.run(history=history)
        night.broken = False

        def other_step(name: str) -> int:
            return night.step(name)

        tasks = [
            Task("extract", night.step, args=("extract",), kwargs={}),
            Task("load", night.step, args=("load",), dependencies=[TaskDependency("extract")]),
        ]
        tasks[0].args = ("extract",)  # the same arguments: reused
        with Process(tasks, name="nightly") as same:
            kept = same.run(resume=failed.run_id, history=history)
        tasks[0].func = other_step  # another function: runs again
        with Process(tasks, name="nightly") as edited:
            rerun = edited.run(resume=failed.run_id, history=history)

    assert kept.entries["extract"].reused
    assert not rerun.entries["extract"].reused
    assert "its function changed" in rerun.entries["extract"].rerun_reason
    assert failed.run_id in rerun.entries["extract"].rerun_reason


def test_a_task_with_reuse_false_runs_on_every_run(tmp_path: Path) -> None:
    night = Night()
    night.broken = True
    with RunHistory(tmp_path / "runs.db") as history, night.process() as process:
        failed = process.run(history=history)
        night.broken = False
        process.get_task("extract").reuse = False
        resumed = process.run(resume="last", history=history)
    assert resumed.resumed_from == failed.run_id
    assert not resumed.entries["extract"].reused
    assert "reuse=False" in resumed.entries["extract"].rerun_reason
    assert night.calls["extract"] == 2


def test_reuse_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="reuse"):
        Task("archive", print, reuse="no")  # type: ignore[arg-type]


def test_a_task_whose_own_arguments_changed_runs_again(tmp_path: Path) -> None:
    night = Night()
    night.broken = True
    with RunHistory(tmp_path / "runs.db") as history, night.process() as process:
        failed = process.run(history=history)
        night.broken = False
        process.get_task("extract").kwargs = {"name": "extract"}  # was args=("extract",)
        process.get_task("extract").args = ()
        resumed = process.run(resume="last", history=history)
    assert resumed.resumed_from == failed.run_id
    assert not resumed.entries["extract"].reused
    assert "its arguments changed" in resumed.entries["extract"].rerun_reason
