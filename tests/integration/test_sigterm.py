"""SIGTERM during a run (SPEC §11): the script still delivers its alert, uncaught it exits
143, and ``run()`` leaves the signal handlers as it found them.

Scripts run in real subprocesses and deliver to a real aiosmtpd server on 127.0.0.1.
"""

from __future__ import annotations

import email
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from email import policy
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, cast

import executor_jobs as jobs
import pytest
from aiosmtpd.controller import Controller

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
    import asyncio
    from collections.abc import ItemsView, Iterator
    from pathlib import Path
    from types import FrameType

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"
GENEROUS_SECONDS = 20.0


class Inbox:
    """An aiosmtpd handler that keeps every message it was sent."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


class LoopbackController(Controller):
    """aiosmtpd on 127.0.0.1 and a port the kernel picks, so tests never collide."""

    def _trigger_server(self) -> None:
        server = cast("asyncio.Server", self.server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = LoopbackController(inbox, hostname=HOST, port=0)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


TERMINATED_SCRIPT = """
    import sys, threading
    from processes import EmailChannel, Process, RunTerminated, SMTPConfig, Task, TaskDependency

    def stuck():
        print("stuck task running", flush=True)
        threading.Event().wait()

    tasks = [
        Task("done_first", lambda: "early"),
        Task("stuck", stuck, dependencies=[TaskDependency("done_first")]),
        Task("never", lambda: 1, dependencies=[TaskDependency("stuck")]),
        Task("cleanup", lambda: 1, dependencies=[TaskDependency("stuck")], run_when="all_done"),
    ]
    smtp = SMTPConfig(("127.0.0.1", PORT), "etl@example.test", ["oncall@example.test"])
    channel = EmailChannel(smtp)
    with Process(tasks, name="nightly") as process:
        try:
            process.run(parallel=PARALLEL, max_workers=2)
        except RunTerminated as stop:
            stop.report.notify(channel)
            print("terminated", stop.code, stop.signal.name, stop.report.stopped_by.value)
            for name, entry in stop.report.entries.items():
                reason = entry.skip_reason and entry.skip_reason.value
                print("entry", name, entry.status.value, reason, entry.skip_cause or "-")
            raise
    print("not terminated")
"""


def terminate_script(path: Path, source: str) -> tuple[int, str, str, float]:
    """Run ``source``; send SIGTERM once its stuck task runs. Return code, output, delay."""
    path.write_text(textwrap.dedent(source))
    child = subprocess.Popen(
        [sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "stuck task running\n"
        sent_at = time.monotonic()
        child.send_signal(signal.SIGTERM)
        stdout, stderr = child.communicate(timeout=GENEROUS_SECONDS)
        took = time.monotonic() - sent_at
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    return child.returncode, stdout, stderr, took


@pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])
def test_sigterm_hands_the_partial_report_to_the_script_which_still_sends_its_alert(
    tmp_path: Path, smtp_server: tuple[Inbox, int], parallel: bool
) -> None:
    inbox, port = smtp_server
    script = TERMINATED_SCRIPT.replace("PORT", str(port)).replace("PARALLEL", str(parallel))
    code, stdout, stderr, took = terminate_script(tmp_path / "terminated.py", script)

    assert code == 143, stderr  # re-raised: the script ends as SIGTERM would have ended it
    assert took < 5  # "within about a second"; generous for a loaded machine
    assert "terminated 143 SIGTERM terminated" in stdout
    assert "entry done_first success None -" in stdout
    assert "entry stuck errored None -" in stdout  # cut off: its attempt abandoned
    assert "entry never skipped upstream_failed stuck" in stdout
    assert "entry cleanup skipped terminated -" in stdout  # cleanup never runs after SIGTERM
    assert "not terminated" not in stdout
    (message,) = inbox.messages
    assert "nightly" in message["Subject"]
    plain = message.get_body(("plain",))
    assert plain is not None
    text = plain.get_content()
    assert "stuck" in text
    assert "RunTerminated: the run was stopped by SIGTERM while this task ran" in text


def test_uncaught_the_script_exits_with_status_143(tmp_path: Path) -> None:
    script = """
        import threading
        from processes import Process, Task

        def stuck():
            print("stuck task running", flush=True)
            threading.Event().wait()

        Process([Task("stuck", stuck)]).run(parallel=PARALLEL)
        print("not terminated")
    """
    for parallel in (False, True):
        path = tmp_path / f"uncaught_{parallel}.py"
        code, stdout, stderr, _ = terminate_script(path, script.replace("PARALLEL", str(parallel)))
        assert code == 143, (parallel, stderr)
        assert stdout == ""
        assert stderr == ""  # like a default SIGTERM: no traceback


def test_a_task_that_swallows_the_stop_does_not_keep_the_run_going() -> None:
    ran = []

    def swallows() -> str:
        try:
            signal.raise_signal(signal.SIGTERM)  # a sequential attempt: in this thread
        except BaseException:
            return "carried on"
        return "not reached"

    tasks = [Task("swallows", swallows), Task("next", lambda: ran.append(1))]
    with Process(tasks) as process, pytest.raises(RunTerminated) as caught:
        process.run(parallel=False)

    assert ran == []
    report = caught.value.report
    assert report.entries["swallows"].result == "carried on"
    assert report.entries["next"].status is TaskStatus.SKIPPED
    assert report.stopped_by is StopReason.TERMINATED


@pytest.mark.parametrize("how", ["timeout", "deadline"])
def test_sigterm_while_a_sequential_run_waits_on_an_attempt_thread(how: str) -> None:
    # With a timeout the attempt runs in a helper thread and this one waits; so it does
    # with a deadline while SIGALRM is not the run's (pytest-timeout's signal method).
    release = threading.Event()

    def terminate_soon() -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # from the attempt's thread
        release.wait(GENEROUS_SECONDS)

    limits: dict[str, Any] = {"timeout": GENEROUS_SECONDS} if how == "timeout" else {}
    tasks = [Task("waited_on", terminate_soon, **limits), Task("next", lambda: 1)]
    run_limits: dict[str, Any] = {"deadline": GENEROUS_SECONDS * 2} if how == "deadline" else {}
    try:
        with Process(tasks) as process, pytest.raises(RunTerminated) as caught:
            process.run(parallel=False, **run_limits)
    finally:
        release.set()

    report = caught.value.report
    assert report.entries["waited_on"].status is TaskStatus.ERRORED
    assert report.entries["next"].status is TaskStatus.SKIPPED


def test_a_parallel_run_stops_on_sigterm_sent_from_a_worker() -> None:
    release = threading.Event()

    def terminate_and_hang() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        release.wait(GENEROUS_SECONDS)

    tasks = [
        Task("hangs", terminate_and_hang),
        Task("after", lambda: 1, dependencies=[TaskDependency("hangs")]),
    ]
    try:
        with Process(tasks) as process, pytest.raises(RunTerminated) as caught:
            process.run(parallel=True)
    finally:
        release.set()

    report = caught.value.report
    assert report.stopped_by is StopReason.TERMINATED
    assert report.entries["hangs"].status is TaskStatus.ERRORED
    assert report.entries["after"].status is TaskStatus.SKIPPED


# -- the handlers are left as they were ------------------------------------------------------


def own_handler(signum: int, frame: FrameType | None) -> None:
    raise AssertionError("the test's own SIGTERM handler was called")


@pytest.fixture
def previous_handler() -> Iterator[None]:
    before = signal.signal(signal.SIGTERM, own_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@pytest.mark.usefixtures("previous_handler")
@pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])
def test_the_previous_handler_is_back_after_a_normal_run(parallel: bool) -> None:
    during: list[Any] = []
    tasks = [Task("look", lambda: during.append(signal.getsignal(signal.SIGTERM)))]
    with Process(tasks) as process:
        report = process.run(parallel=parallel)

    assert report.ok
    assert during[0] is not own_handler  # the run's own, while it ran
    assert callable(during[0])
    assert signal.getsignal(signal.SIGTERM) is own_handler


@pytest.mark.usefixtures("previous_handler")
def test_the_previous_handler_is_back_after_a_run_stopped_by_ctrl_c() -> None:
    def pressed_ctrl_c() -> None:
        raise KeyboardInterrupt

    process = Process([Task("interrupted", pressed_ctrl_c)])
    with pytest.raises(KeyboardInterrupt):
        process.run(parallel=False)
    assert signal.getsignal(signal.SIGTERM) is own_handler


def test_the_previous_handler_is_back_after_a_run_stopped_by_sigterm() -> None:
    before = signal.getsignal(signal.SIGTERM)
    process = Process([Task("terminated", signal.raise_signal, args=(signal.SIGTERM,))])
    with pytest.raises(RunTerminated):
        process.run(parallel=False)
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.usefixtures("previous_handler")
def test_a_run_in_a_worker_thread_leaves_the_handlers_alone() -> None:
    during: list[Any] = []
    reports = []

    def run_here() -> None:
        tasks = [Task("look", lambda: during.append(signal.getsignal(signal.SIGTERM)))]
        for parallel in (False, True):
            reports.append(Process(tasks).run(parallel=parallel))

    worker = threading.Thread(target=run_here)
    worker.start()
    worker.join(GENEROUS_SECONDS)

    assert [report.ok for report in reports] == [True, True]
    assert during == [own_handler, own_handler]
    assert signal.getsignal(signal.SIGTERM) is own_handler


def test_an_ignored_sigterm_stays_ignored() -> None:
    before = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        during: list[Any] = []
        Process([Task("look", lambda: during.append(signal.getsignal(signal.SIGTERM)))]).run()
        assert during == [signal.SIG_IGN]
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_pool_worker_forked_during_a_run_still_dies_of_sigterm() -> None:
    # Forked while the run's handler is installed, the worker inherits it: there it
    # must end the process as a default SIGTERM does, or the pool could never stop it.
    with ProcessPoolExecutor(1) as executor:
        report = Process([Task("pid", jobs.worker_pid)]).run(executor=executor)
        pid = report.entries["pid"].result
        assert isinstance(pid, int)
        assert pid != os.getpid()
        process = next(iter(executor._processes.values()))
        os.kill(pid, signal.SIGTERM)
        # The pool's own thread reaps a dead worker too, so a `join` here can lose that
        # race and return before the exit code is known; nothing signals when that
        # thread has set it, so it is polled for.
        deadline = time.monotonic() + GENEROUS_SECONDS
        while process.exitcode is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert process.exitcode == -signal.SIGTERM


# -- a signal while the run keeps its books ---------------------------------------------------
# In a sequential run the signal is raised where the loop is when it arrives: it may stop a
# task's code, never the run's own bookkeeping around it. Each hook below is user code that
# the library calls in that bookkeeping, so the signal arrives there, every time.

SIGNALS = pytest.mark.parametrize(
    ("signum", "stop"),
    [(signal.SIGTERM, RunTerminated), (signal.SIGINT, KeyboardInterrupt)],
    ids=["sigterm", "ctrl-c"],
)


def report_of(caught: pytest.ExceptionInfo[BaseException]) -> ProcessExecutionReport:
    report = getattr(caught.value, "report", None)
    assert isinstance(report, ProcessExecutionReport)
    return report


class SignalsWhenRead(Mapping[str, int]):
    """A task's result that sends a signal when the library reads it to build the entry."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.sent = False

    def __getitem__(self, key: str) -> int:
        return {"rows": 3}[key]

    def __iter__(self) -> Iterator[str]:
        return iter(["rows"])

    def __len__(self) -> int:
        return 1

    def items(self) -> ItemsView[str, int]:
        if not self.sent:  # the signal is raised here, in the handler, before we go on
            self.sent = True
            signal.raise_signal(self.signum)
        return super().items()


@SIGNALS
def test_a_signal_while_a_quiet_tasks_success_is_recorded_keeps_the_success(
    signum: int, stop: type[BaseException]
) -> None:
    ran = []
    result = SignalsWhenRead(signum)
    tasks = [
        Task("returned", lambda: result),
        Task("next", lambda: ran.append(1), dependencies=[TaskDependency("returned")]),
        Task("independent", lambda: ran.append(2)),
    ]
    with Process(tasks) as process, pytest.raises(stop) as caught:
        process.run(parallel=False)

    assert result.sent
    assert ran == []
    report = report_of(caught)
    returned = report.entries["returned"]
    assert returned.status is TaskStatus.SUCCESS  # it had returned: not cut off
    assert returned.attempts == 1
    assert returned.error is None
    assert dict(returned.result) == {"rows": 3}
    reason = SkipReason.TERMINATED if signum == signal.SIGTERM else SkipReason.INTERRUPTED
    assert {name: e.skip_reason for name, e in report.skipped.items()} == {
        "next": reason,
        "independent": reason,
    }


class SignalOnRecord(logging.Handler):
    """A handler on a task's logger that sends a signal on the record whose text has ``word``."""

    def __init__(self, signum: int, word: str) -> None:
        super().__init__()
        self.signum = signum
        self.word = word
        self.sent = 0

    def emit(self, record: logging.LogRecord) -> None:
        if self.word in record.getMessage():
            self.sent += 1
            signal.raise_signal(self.signum)


@SIGNALS
def test_a_signal_while_the_finished_line_is_logged_keeps_the_success(
    signum: int, stop: type[BaseException]
) -> None:
    logged = Task("logged", lambda: "value")
    handler = SignalOnRecord(signum, "Finished")
    logged.logger.addHandler(handler)
    try:
        with Process([logged, Task("next", lambda: 1)]) as process, pytest.raises(stop) as caught:
            process.run(parallel=False)
    finally:
        logged.logger.removeHandler(handler)

    assert handler.sent == 1
    report = report_of(caught)
    assert report.entries["logged"].status is TaskStatus.SUCCESS
    assert report.entries["logged"].result == "value"
    assert report.entries["next"].status is TaskStatus.SKIPPED


def test_a_signal_while_a_retry_is_announced_keeps_the_tasks_own_failure() -> None:
    def refuses() -> None:
        raise ConnectionError("refused")

    def on_event(event: TaskEvent) -> None:
        if event.kind is EventKind.RETRYING:
            signal.raise_signal(signal.SIGTERM)

    tasks = [Task("flaky", refuses, retries=2)]
    with Process(tasks) as process, pytest.raises(RunTerminated) as caught:
        process.run(parallel=False, on_event=on_event)

    flaky = caught.value.report.entries["flaky"]
    assert flaky.status is TaskStatus.ERRORED
    assert flaky.attempts == 1  # the retry never began: nothing was cut off
    assert flaky.error is not None
    assert flaky.error.headline == "ConnectionError: refused"


def test_a_signal_while_a_failure_is_announced_still_skips_its_dependants_because_of_it() -> None:
    def on_event(event: TaskEvent) -> None:
        if event.kind is EventKind.FINISHED and event.task_name == "broken":
            signal.raise_signal(signal.SIGTERM)

    def broken() -> None:
        raise ValueError("boom")

    tasks = [
        Task("broken", broken),
        Task("needs_it", lambda: 1, dependencies=[TaskDependency("broken")]),
    ]
    with Process(tasks) as process, pytest.raises(RunTerminated) as caught:
        process.run(parallel=False, on_event=on_event)

    report = caught.value.report
    needs_it = report.entries["needs_it"]
    assert (needs_it.skip_reason, needs_it.skip_cause) == (SkipReason.UPSTREAM_FAILED, "broken")
    error = report.entries["broken"].error
    assert error is not None
    assert error.downstream_impact == ["needs_it"]


@SIGNALS
def test_a_signal_as_a_task_is_about_to_start_keeps_its_code_from_running(
    signum: int, stop: type[BaseException]
) -> None:
    ran = []

    def on_event(event: TaskEvent) -> None:
        if event.kind is EventKind.STARTED:
            signal.raise_signal(signum)

    process = Process([Task("never_runs", lambda: ran.append(1))])
    with process, pytest.raises(stop) as caught:
        process.run(parallel=False, on_event=on_event)

    assert ran == []
    assert report_of(caught).entries["never_runs"].status is TaskStatus.ERRORED


def test_ctrl_c_in_a_tasks_code_still_stops_it_there() -> None:
    after = []

    def interrupted() -> None:
        signal.raise_signal(signal.SIGINT)
        after.append("went on")

    process = Process([Task("interrupted", interrupted)])
    with process, pytest.raises(KeyboardInterrupt) as caught:
        process.run(parallel=False)

    assert after == []
    entry = report_of(caught).entries["interrupted"]
    assert entry.status is TaskStatus.ERRORED
    assert entry.error is not None
    assert entry.error.headline.startswith("KeyboardInterrupt")


def test_a_run_leaves_a_ctrl_c_handler_of_its_callers_alone() -> None:
    pressed = []

    def own_ctrl_c(signum: int, frame: FrameType | None) -> None:
        pressed.append(signum)

    before = signal.signal(signal.SIGINT, own_ctrl_c)
    try:
        during: list[Any] = []

        def look() -> None:
            during.append(signal.getsignal(signal.SIGINT))
            signal.raise_signal(signal.SIGINT)

        report = Process([Task("look", look)]).run(parallel=False)
        assert report.ok
        assert during == [own_ctrl_c]
        assert pressed == [signal.SIGINT]
        assert signal.getsignal(signal.SIGINT) is own_ctrl_c
    finally:
        signal.signal(signal.SIGINT, before)
