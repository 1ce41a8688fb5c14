"""SPEC §10 and §17: a task's file handler is on its logger while its process holds it,
and a log file that cannot be written costs one warning, never the run."""

from __future__ import annotations

import logging
import os
import warnings
from typing import TYPE_CHECKING

import pytest

from processes import Process, Task, TaskDependency, TaskStatus

if TYPE_CHECKING:
    from pathlib import Path


def work() -> str:
    return "done"


def broken() -> None:
    raise ValueError("apply failed")


def file_handlers(task: Task) -> list[logging.FileHandler]:
    return [h for h in task.logger.handlers if isinstance(h, logging.FileHandler)]


# -- the handler is there from the moment the process holds the task --------------------------


def test_the_handler_is_on_the_logger_once_the_process_is_built(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "load.log"
    load = Task("load", work, path)
    with Process([load]):
        (handler,) = file_handlers(load)
        assert handler.baseFilename == os.path.abspath(path)
        assert not path.exists()  # still opened lazily, on the first record


def test_v7_code_reconfigures_the_handler_and_the_run_writes_through_it(tmp_path: Path) -> None:
    path = tmp_path / "load.log"
    load = Task("load", work, path)
    with Process([load]) as process:
        (handler,) = file_handlers(load)
        handler.setFormatter(logging.Formatter("custom | %(message)s"))
        report = process.run()
        assert report.ok
        assert file_handlers(load) == [handler]  # still there after the run
    assert path.read_text().splitlines() == ["custom | Starting load.", "custom | Finished load."]


@pytest.mark.parametrize("parallel", [False, True])
def test_each_line_is_written_once_in_a_run_and_when_run_alone(
    tmp_path: Path, parallel: bool
) -> None:
    shared = tmp_path / "shared.log"
    tasks = [Task("a", work, shared), Task("b", work, shared, dependencies=[TaskDependency("a")])]
    with Process(tasks) as process:
        assert file_handlers(tasks[0]) == file_handlers(tasks[1])  # one handler per path
        assert process.run(parallel=parallel).ok
        assert tasks[0].run().worked
    lines = shared.read_text().splitlines()
    assert [line.split(" - ")[-1] for line in lines] == [
        "Starting a.",
        "Finished a.",
        "Starting b.",
        "Finished b.",
        "Starting a.",
        "Finished a.",
    ]


def test_added_tasks_get_their_handler_and_removed_ones_lose_it(tmp_path: Path) -> None:
    first = Task("first", work, tmp_path / "first.log")
    later = Task("later", work, tmp_path / "later.log")
    process = Process([first])
    process.add_task(later)
    (handler,) = file_handlers(later)
    process.remove_task("later")
    assert file_handlers(later) == []
    assert handler.stream is None
    later.logger.info("not written: the handler was closed")
    assert not (tmp_path / "later.log").exists()
    assert len(file_handlers(first)) == 1
    process.close_loggers()


def test_closing_the_process_detaches_and_closes_every_handler(tmp_path: Path) -> None:
    tasks = [Task(f"t{i}", work, tmp_path / f"t{i}.log") for i in range(3)]
    with Process(tasks) as process:
        handlers = [file_handlers(task)[0] for task in tasks]
        process.run()
    for task, handler in zip(tasks, handlers, strict=True):
        assert file_handlers(task) == []
        assert handler.stream is None
        task.logger.info("after close")
    assert all("after close" not in (tmp_path / f"t{i}.log").read_text() for i in range(3))


def test_a_held_file_is_closed_between_runs(tmp_path: Path) -> None:
    tasks = [Task(f"t{i}", work, tmp_path / f"t{i}.log") for i in range(20)]
    with Process(tasks) as process:
        process.run(parallel=True, max_workers=2)
        assert process._logs.open_count == 0
        assert all(file_handlers(task)[0].stream is None for task in tasks)


# -- a log file that cannot be written costs one warning ---------------------------------------


def blocked_path(tmp_path: Path) -> Path:
    """A log file whose folder cannot be created: its parent is a regular file."""
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the folder should be\n")
    return blocker / "nightly" / "task.log"


LOG_CASES = {
    "folder cannot be created": (blocked_path, "Not a directory"),
    "disk full": (lambda _: "/dev/full", "No space left on device"),
}


def our_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "log file" in str(w.message)]


@pytest.mark.parametrize("case", LOG_CASES)
@pytest.mark.parametrize("parallel", [False, True])
def test_an_unwritable_log_file_costs_one_warning_and_the_run_goes_on(
    tmp_path: Path, case: str, parallel: bool
) -> None:
    make_path, cause = LOG_CASES[case]
    path = make_path(tmp_path)
    tasks = [
        Task("extract", work, path),
        Task("apply", broken, path, dependencies=[TaskDependency("extract")]),
        Task("notify", work, path, dependencies=[TaskDependency("apply")]),
        Task("audit", work, path, dependencies=[TaskDependency("extract")]),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Process(tasks) as process:
            report = process.run(parallel=parallel)
    (message,) = our_warnings(caught)
    assert os.path.abspath(path) in message
    assert cause in message
    assert {name: e.status for name, e in report.entries.items()} == {
        "extract": TaskStatus.SUCCESS,
        "apply": TaskStatus.ERRORED,
        "notify": TaskStatus.SKIPPED,
        "audit": TaskStatus.SUCCESS,
    }
    assert report.entries["extract"].result == "done"
    error = report.entries["apply"].error
    assert error is not None
    assert error.exception == "apply failed"


@pytest.mark.parametrize("case", LOG_CASES)
def test_an_unwritable_log_file_costs_one_warning_when_a_task_runs_alone(
    tmp_path: Path, case: str
) -> None:
    make_path, cause = LOG_CASES[case]
    path = make_path(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        worked = Task("extract", work, path).run()
        failed = Task("apply", broken, path).run()
    assert worked.worked
    assert worked.result == "done"
    assert failed.status is TaskStatus.ERRORED
    assert failed.error_data is not None
    assert failed.error_data.exception == "apply failed"
    messages = our_warnings(caught)
    assert len(messages) == 2  # one per run: each run has its own file
    assert all(cause in message and os.path.abspath(path) in message for message in messages)
