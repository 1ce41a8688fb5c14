"""A sequential run's deadline (SPEC §11) in the calling thread.

In the main thread of a POSIX system a sequential run keeps its attempts in the calling
thread and enforces its deadline with SIGALRM: objects bound to that thread work in
tasks, and the task still running when the deadline passes is stopped in its own code.
Elsewhere, or when the script owns SIGALRM, attempts run in a helper thread as before.

Where a deadline must really pass, it is short and the bounds are generous.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from processes import (
    EventKind,
    Process,
    ProcessExecutionReport,
    RunTerminated,
    SkipReason,
    StopReason,
    Task,
    TaskDependency,
    TaskEvent,
    TaskStatus,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from types import FrameType

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="SIGALRM is POSIX"),
    # pytest-timeout's default method owns SIGALRM, which would keep the run from it.
    pytest.mark.timeout(300, method="thread"),
]

GENEROUS_SECONDS = 20.0
DEADLINE_SECONDS = 0.5


def after(*names: str) -> list[TaskDependency]:
    return [TaskDependency(name) for name in names]


def skips(report: ProcessExecutionReport) -> dict[str, tuple[SkipReason | None, str]]:
    return {name: (e.skip_reason, e.skip_cause) for name, e in report.skipped.items()}


def deadline_message(report: ProcessExecutionReport, name: str) -> str:
    entry = report.entries[name]
    assert entry.status is TaskStatus.ERRORED
    assert entry.error is not None
    assert entry.error.exception_type == "TimeoutError"
    return entry.error.headline


def alarm_left_alone() -> bool:
    return signal.getsignal(signal.SIGALRM) is signal.SIG_DFL and signal.getitimer(
        signal.ITIMER_REAL
    ) == (0.0, 0.0)


def test_a_task_uses_an_sqlite_connection_the_script_opened_before_the_run(
    tmp_path: Path,
) -> None:
    connection = sqlite3.connect(tmp_path / "orders.db")  # bound to this thread
    try:
        connection.execute("create table orders (id integer primary key, total real)")

        def load() -> int:
            connection.executemany("insert into orders (total) values (?)", [(9.5,), (3.0,)])
            connection.commit()
            return 2

        def count() -> int:
            (rows,) = connection.execute("select count(*) from orders").fetchone()
            return int(rows)

        tasks = [Task("load", load), Task("count", count, dependencies=after("load"))]
        with Process(tasks) as process:
            report = process.run(parallel=False, deadline=GENEROUS_SECONDS)
    finally:
        connection.close()

    assert report.ok, report.to_text()
    assert report.stopped_by is None
    assert report.entries["count"].result == 2


@pytest.mark.parametrize("timeout", [None, GENEROUS_SECONDS], ids=["no-timeout", "timeout"])
def test_the_deadline_stops_the_running_task_and_skips_what_never_started(
    timeout: float | None,
) -> None:
    finished: list[str] = []
    threads: list[threading.Thread] = []
    release = threading.Event()

    def hangs() -> None:
        threads.append(threading.current_thread())
        try:
            release.wait(GENEROUS_SECONDS)
        finally:
            finished.append("finally")

    tasks = [
        Task("quick", lambda: "done"),
        Task("hangs", hangs, dependencies=after("quick"), timeout=timeout),
        Task("needs_it", lambda: 1, dependencies=after("hangs")),
        Task("independent_later", lambda: 2, dependencies=after("quick")),
    ]
    started = time.monotonic()
    try:
        with Process(tasks) as process:
            report = process.run(parallel=False, deadline=DEADLINE_SECONDS)
    finally:
        release.set()

    assert time.monotonic() - started < GENEROUS_SECONDS / 2
    assert report.stopped_by is StopReason.DEADLINE
    assert report.entries["quick"].status is TaskStatus.SUCCESS
    message = deadline_message(report, "hangs")
    assert message.startswith("TimeoutError: the run's deadline passed after ")
    assert f"(deadline={DEADLINE_SECONDS:g} s)" in message
    assert report.entries["hangs"].attempts == 1
    assert skips(report) == {
        "needs_it": (SkipReason.UPSTREAM_FAILED, "hangs"),
        "independent_later": (SkipReason.DEADLINE, ""),
    }
    if timeout is None:  # stopped in its own code, in this thread: its finally ran
        assert threads == [threading.main_thread()]
        assert finished == ["finally"]
        assert "this attempt was stopped after" in message
    assert alarm_left_alone()


def test_a_task_that_swallows_the_deadline_still_ends_at_it() -> None:
    ran = []

    def swallows() -> str:
        try:
            threading.Event().wait(GENEROUS_SECONDS)
        except BaseException:
            return "carried on"
        return "waited it all"

    tasks = [Task("swallows", swallows), Task("next", lambda: ran.append(1))]
    with Process(tasks) as process:
        report = process.run(parallel=False, deadline=DEADLINE_SECONDS)

    assert ran == []
    assert "the run's deadline passed after" in deadline_message(report, "swallows")
    assert skips(report) == {"next": (SkipReason.DEADLINE, "")}


def test_the_deadline_passing_while_the_run_keeps_its_books_cuts_nothing_in_half() -> None:
    # The listener holds the loop past the deadline after "first" returned: the alarm
    # arrives in the run's bookkeeping. "first" stays a success; "second" never starts.
    ran = []

    def slow_listener(event: TaskEvent) -> None:
        if event.task_name == "first" and event.kind is EventKind.FINISHED:
            time.sleep(DEADLINE_SECONDS * 2)

    tasks = [Task("first", lambda: "done"), Task("second", lambda: ran.append(1))]
    with Process(tasks) as process:
        report = process.run(parallel=False, deadline=DEADLINE_SECONDS, on_event=slow_listener)

    assert ran == []
    assert report.stopped_by is StopReason.DEADLINE
    assert report.entries["first"].status is TaskStatus.SUCCESS
    assert report.entries["first"].result == "done"
    assert skips(report) == {"second": (SkipReason.DEADLINE, "")}


def test_a_task_announced_after_the_deadline_never_runs_its_code() -> None:
    # "late" is started in time, but its STARTED listener holds the loop past the
    # deadline: the task's code must not begin after it.
    ran = []

    def slow_listener(event: TaskEvent) -> None:
        if event.task_name == "late" and event.kind is EventKind.STARTED:
            time.sleep(DEADLINE_SECONDS * 2)

    with Process([Task("late", lambda: ran.append(1))]) as process:
        report = process.run(parallel=False, deadline=DEADLINE_SECONDS, on_event=slow_listener)

    assert ran == []
    assert "the run's deadline passed after" in deadline_message(report, "late")
    assert report.stopped_by is StopReason.DEADLINE


# -- SIGALRM is left as it was ------------------------------------------------------------------


def test_the_alarm_is_the_runs_only_while_it_runs() -> None:
    during: list[Any] = []

    def look() -> None:
        during.append((signal.getsignal(signal.SIGALRM), signal.getitimer(signal.ITIMER_REAL)))

    with Process([Task("look", look)]) as process:
        report = process.run(parallel=False, deadline=GENEROUS_SECONDS)

    assert report.ok
    ((handler, (left, interval)),) = during
    assert callable(handler)
    assert 0 < left <= GENEROUS_SECONDS
    assert interval == 0
    assert alarm_left_alone()


def test_the_alarm_is_put_back_after_a_run_stopped_by_sigterm_or_ctrl_c() -> None:
    for signum, stop in ((signal.SIGTERM, RunTerminated), (signal.SIGINT, KeyboardInterrupt)):
        process = Process([Task("stopped", signal.raise_signal, args=(signum,))])
        with pytest.raises(stop):
            process.run(parallel=False, deadline=GENEROUS_SECONDS)
        assert alarm_left_alone(), signum


@pytest.fixture
def own_alarm_handler() -> Iterator[list[int]]:
    rang: list[int] = []

    def own(signum: int, frame: FrameType | None) -> None:
        rang.append(signum)

    before = signal.signal(signal.SIGALRM, own)
    try:
        yield rang
    finally:
        signal.signal(signal.SIGALRM, before)


def test_a_sigalrm_handler_of_the_scripts_own_keeps_attempts_in_a_helper_thread(
    own_alarm_handler: list[int],
) -> None:
    own = signal.getsignal(signal.SIGALRM)
    threads: list[threading.Thread] = []
    release = threading.Event()

    def hangs() -> None:
        threads.append(threading.current_thread())
        release.wait(GENEROUS_SECONDS)

    try:
        with Process([Task("hangs", hangs)]) as process:
            report = process.run(parallel=False, deadline=DEADLINE_SECONDS)
    finally:
        release.set()

    assert threads[0] is not threading.main_thread()
    assert "this attempt was abandoned after" in deadline_message(report, "hangs")
    assert signal.getsignal(signal.SIGALRM) is own
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert own_alarm_handler == []


def test_a_run_in_a_worker_thread_runs_its_attempts_in_helper_threads() -> None:
    threads: list[threading.Thread] = []
    reports = []

    def run_here() -> None:
        tasks = [Task("look", lambda: threads.append(threading.current_thread()))]
        reports.append(Process(tasks).run(parallel=False, deadline=GENEROUS_SECONDS))

    worker = threading.Thread(target=run_here)
    worker.start()
    worker.join(GENEROUS_SECONDS)

    assert [report.ok for report in reports] == [True]
    assert threads[0] not in (worker, threading.main_thread())
    assert alarm_left_alone()
