"""Task log files and the routing of records from a task's own code (SPEC §4).

The routing must leave the user's logging alone: ``logging.basicConfig()`` during a run
configures logging as it would without the library, and a file closed by the run stays
closed whatever an abandoned attempt still logs.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
from typing import TYPE_CHECKING

import pytest

from processes import EventKind, Process, Task, TaskEvent, TaskStatus
from processes.tasklog import LogFiles, routing_task_records

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

GENEROUS_SECONDS = 30.0


@contextlib.contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger as a fresh interpreter has it, pytest's own handlers set aside.

    A context manager, not a fixture: pytest adds its handlers after fixtures are set up.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    yield root
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _others(count: int) -> list[Task]:
    return [Task(f"other{i}", int) for i in range(count)]


# -- a handler released by the run drops late records ---------------------------------------


def test_a_released_handler_drops_records_instead_of_reopening_its_file(tmp_path: Path) -> None:
    path = tmp_path / "task.log"
    logs = LogFiles()
    handler = logs.acquire(path)
    record = logging.LogRecord("user", logging.WARNING, __file__, 1, "%s", ("line",), None)
    handler.handle(record)
    logs.release(path)

    handler.handle(record)

    assert path.read_text().count("line") == 1
    assert getattr(handler, "stream", None) is None
    assert logs.open_count == 0


def _descriptors_on(path: Path) -> list[str]:
    fds = "/proc/self/fd"
    found = []
    for fd in os.listdir(fds):
        try:
            target = os.readlink(os.path.join(fds, fd))
        except OSError:  # closed meanwhile
            continue
        if target == str(path):
            found.append(fd)
    return found


@pytest.mark.parametrize("parallel", [False, True])
def test_an_abandoned_attempt_logging_after_its_task_ended_writes_nothing(
    tmp_path: Path, parallel: bool
) -> None:
    stuck_log = tmp_path / "stuck.log"
    task_ended = threading.Event()  # the stuck task is ERRORED and its file released
    late_logged = threading.Event()

    def stuck() -> None:
        task_ended.wait(GENEROUS_SECONDS)
        logging.getLogger("user").error("late line")  # still routed while the run goes on
        late_logged.set()

    def slow() -> None:  # keeps the run (and so the routing) going until the late record
        assert late_logged.wait(GENEROUS_SECONDS)

    def on_event(event: TaskEvent) -> None:
        if event.task_name == "stuck" and event.kind is EventKind.FINISHED:
            task_ended.set()

    tasks = [Task("stuck", stuck, stuck_log, timeout=0.05), Task("slow", slow)]
    with Process(tasks) as process:
        report = process.run(parallel=parallel, max_workers=2, on_event=on_event)

    assert report.entries["stuck"].status is TaskStatus.ERRORED
    assert report.entries["slow"].status is TaskStatus.SUCCESS
    text = stuck_log.read_text()
    assert "timed out" in text
    assert "late line" not in text
    if sys.platform == "linux":
        assert _descriptors_on(stuck_log) == []


# -- logging.basicConfig() during a run ------------------------------------------------------


@pytest.mark.parametrize("parallel", [False, True])
def test_basic_config_in_a_task_configures_logging(tmp_path: Path, parallel: bool) -> None:
    out = io.StringIO()

    def setup() -> None:
        logging.basicConfig(level=logging.INFO, stream=out, format="APP %(message)s")
        logging.getLogger("app").info("configured")

    tasks = [Task("setup", setup, tmp_path / "setup.log"), *_others(3)]
    with bare_root() as root:
        with Process(tasks) as process:
            assert process.run(parallel=parallel).ok

        assert [type(h) for h in root.handlers] == [logging.StreamHandler]
        assert root.level == logging.INFO
        logging.getLogger("app").info("after the run")
    assert out.getvalue() == "APP configured\nAPP after the run\n"
    assert "app - INFO - configured" in (tmp_path / "setup.log").read_text()


def test_basic_config_from_another_thread_during_a_run_configures_logging(
    tmp_path: Path,
) -> None:
    out = io.StringIO()
    running, configured = threading.Event(), threading.Event()

    def configure() -> None:
        running.wait(GENEROUS_SECONDS)
        logging.basicConfig(stream=out, format="APP %(message)s")
        logging.getLogger("app").warning("from another thread")
        configured.set()

    def work() -> None:
        running.set()
        assert configured.wait(GENEROUS_SECONDS)
        logging.getLogger("app").warning("from the task")

    with bare_root():
        other = threading.Thread(target=configure)
        other.start()
        with Process([Task("work", work, tmp_path / "work.log")]) as process:
            report = process.run()
        other.join(GENEROUS_SECONDS)

    assert report.ok, report.to_text()
    assert out.getvalue() == "APP from another thread\nAPP from the task\n"
    text = (tmp_path / "work.log").read_text()
    assert "from the task" in text
    assert "from another thread" not in text


@pytest.mark.parametrize("parallel", [False, True])
def test_basic_config_with_force_in_a_task_keeps_routing_its_records(
    tmp_path: Path, parallel: bool
) -> None:
    out = io.StringIO()

    def setup() -> None:
        logging.basicConfig(force=True, level=logging.INFO, stream=out, format="%(message)s")
        logging.getLogger("app").info("after force")

    tasks = [Task("setup", setup, tmp_path / "setup.log"), *_others(3)]
    with bare_root(), Process(tasks) as process:
        assert process.run(parallel=parallel).ok

    assert out.getvalue() == "after force\n"
    assert "app - INFO - after force" in (tmp_path / "setup.log").read_text()


# -- what routing leaves as it was -----------------------------------------------------------


def test_routing_leaves_the_roots_handlers_and_level_alone() -> None:
    mine = logging.StreamHandler(io.StringIO())
    with bare_root() as root:
        root.addHandler(mine)
        parent = root.parent
        with routing_task_records(), routing_task_records():  # nested runs share the router
            assert root.handlers == [mine]
            assert root.level == logging.WARNING
        assert root.handlers == [mine]
        assert root.parent is parent


def test_warnings_still_reach_stderr_once_when_logging_is_not_configured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def work() -> None:
        logging.getLogger("app").warning("disk almost full")

    with bare_root(), Process([Task("work", work, tmp_path / "work.log")]) as process:
        assert process.run().ok

    assert capsys.readouterr().err == "disk almost full\n"
    assert "app - WARNING - disk almost full" in (tmp_path / "work.log").read_text()


def test_info_records_reach_the_file_only_if_their_logger_lets_them_out(tmp_path: Path) -> None:
    app = logging.getLogger("app.db")

    def work() -> None:
        app.info("connected")  # dropped by the effective level: the root's WARNING
        app.warning("slow query")

    with bare_root(), Process([Task("work", work, tmp_path / "work.log")]) as process:
        assert process.run().ok
    text = (tmp_path / "work.log").read_text()
    assert "connected" not in text
    assert "app.db - WARNING - slow query" in text

    app.setLevel(logging.INFO)
    try:
        with bare_root(), Process([Task("again", work, tmp_path / "again.log")]) as process:
            assert process.run().ok
    finally:
        app.setLevel(logging.NOTSET)
    assert "app.db - INFO - connected" in (tmp_path / "again.log").read_text()
