"""One attempt: async tasks' own TimeoutErrors, the timeout messages, the routed log handler."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING

import pytest

from processes import Process, Task
from processes.attempt import CaptureSettings, run_attempt, timeout_message
from processes.redaction import DEFAULT_REDACTOR
from processes.tasklog import current_log_handler

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

GENEROUS_SECONDS = 30.0


async def fetch() -> None:
    query = "select 1"
    raise TimeoutError(f"db pool exhausted running {query}")


# -- an async task's own TimeoutError is its failure, not the library's timeout ------------


@pytest.mark.parametrize("timeout", [None, GENEROUS_SECONDS])
@pytest.mark.parametrize("parallel", [False, True])
def test_an_async_tasks_own_timeout_error_is_captured_like_any_error(
    timeout: float | None, parallel: bool
) -> None:
    tasks = [Task("fetch", fetch, timeout=timeout), *(Task(f"n{i}", int) for i in range(3))]
    report = Process(tasks).run(parallel=parallel)

    error = report.entries["fetch"].error
    assert error is not None
    assert error.headline == "TimeoutError: db pool exhausted running select 1"
    assert error.traced_vars == {"query": "'select 1'"}
    assert error.traced_vars_location.startswith(__file__)


@pytest.mark.parametrize("timeout", [None, GENEROUS_SECONDS])
def test_an_async_tasks_own_timeout_error_alone(timeout: float | None) -> None:
    result = Task("fetch", fetch, timeout=timeout).run()
    assert result.error_data is not None
    assert result.error_data.headline == "TimeoutError: db pool exhausted running select 1"
    assert result.error_data.traced_vars == {"query": "'select 1'"}


@pytest.mark.parametrize(
    ("retry_on", "attempts"), [(None, 2), ((TimeoutError,), 2), ((ValueError,), 1)]
)
def test_an_async_tasks_own_timeout_error_is_retried_per_retry_on(
    retry_on: tuple[type[Exception], ...] | None, attempts: int
) -> None:
    calls: list[int] = []

    async def flaky() -> None:
        calls.append(1)
        raise TimeoutError("db pool exhausted")

    task = Task("flaky", flaky, retries=1, retry_on=retry_on)
    entry = Process([task]).run(parallel=False).entries["flaky"]
    assert entry.attempts == len(calls) == attempts
    assert entry.attempt_errors == ("TimeoutError: db pool exhausted",) * attempts


# -- timeouts the library imposes -----------------------------------------------------------


@pytest.mark.parametrize("parallel", [False, True])
def test_an_async_task_past_its_timeout_is_cancelled_with_the_librarys_message(
    parallel: bool,
) -> None:
    cancelled = threading.Event()

    async def hangs() -> None:
        try:
            await asyncio.sleep(GENEROUS_SECONDS)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    tasks = [Task("hangs", hangs, timeout=0.05), *(Task(f"n{i}", int) for i in range(3))]
    report = Process(tasks).run(parallel=parallel)

    error = report.entries["hangs"].error
    assert error is not None
    assert error.headline == "TimeoutError: Attempt timed out after 0.05 s and was cancelled"
    assert cancelled.is_set()


@pytest.mark.parametrize("parallel", [False, True])
def test_a_thread_past_its_timeout_is_abandoned_with_the_same_message_format(
    parallel: bool,
) -> None:
    release = threading.Event()
    tasks = [Task("stuck", release.wait, timeout=0.05), *(Task(f"n{i}", int) for i in range(3))]
    try:
        report = Process(tasks).run(parallel=parallel)
    finally:
        release.set()

    error = report.entries["stuck"].error
    assert error is not None
    assert error.headline == "TimeoutError: Attempt timed out after 0.05 s and was abandoned"


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.5, "0.5"), (2, "2"), (2.0, "2"), (1e-7, "1e-07"), (3600, "3600")]
)
def test_timeout_messages_share_one_number_format(seconds: float, text: str) -> None:
    for fate in ("cancelled", "abandoned"):
        message = timeout_message(seconds, fate)
        assert message == f"Attempt timed out after {text} s and was {fate}"


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
