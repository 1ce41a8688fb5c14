"""One attempt: async tasks' own TimeoutErrors, the timeout messages, the routed log handler."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from processes import Process, Task
from processes.attempt import CaptureSettings, current_log_handler, run_attempt
from processes.redaction import DEFAULT_REDACTOR

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


# -- the log handler of the attempt running in this thread ----------------------------------


def test_an_attempt_restores_the_log_handler_it_found() -> None:
    outer, inner = logging.NullHandler(), logging.NullHandler()
    settings = CaptureSettings(None, DEFAULT_REDACTOR, (Exception,))
    seen: list[logging.Handler | None] = []

    def task() -> None:
        seen.append(current_log_handler())
        run_attempt(lambda: seen.append(current_log_handler()), (), {}, settings, inner)
        seen.append(current_log_handler())

    run_attempt(task, (), {}, settings, outer)
    assert seen == [outer, inner, outer]
    assert current_log_handler() is None


@pytest.fixture
def user_logger() -> Iterator[logging.Logger]:
    """A logger a task's own code uses, at INFO; restored afterwards."""
    logger = logging.getLogger("user")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield logger
    logger.setLevel(level)


@pytest.mark.parametrize("parallel", [False, True])
def test_a_task_running_a_process_of_its_own_keeps_routing_its_records(
    tmp_path: Path, user_logger: logging.Logger, parallel: bool
) -> None:
    def inner_step() -> None:
        user_logger.info("from the inner task")

    def outer_step() -> None:
        user_logger.info("before the inner run")
        inner = Task("inner", inner_step, tmp_path / "inner.log")
        with Process([inner]) as process:
            assert process.run(parallel=False).ok
        user_logger.info("after the inner run")

    tasks = [Task("outer", outer_step, tmp_path / "outer.log")]
    tasks += [Task(f"n{i}", int) for i in range(3)]
    with Process(tasks) as process:
        report = process.run(parallel=parallel)

    assert report.ok, report.to_text()
    outer_lines = (tmp_path / "outer.log").read_text()
    assert "user - INFO - before the inner run" in outer_lines
    assert "user - INFO - after the inner run" in outer_lines
    assert "from the inner task" not in outer_lines
    assert "user - INFO - from the inner task" in (tmp_path / "inner.log").read_text()
