"""How a run can end (SPEC §11): the run's deadline, cleanup and failure-only tasks
(``run_when``), why each skipped task was skipped, and what fail-fast, Ctrl-C, SIGTERM
and the deadline do to cleanup tasks. SIGTERM in a real script: test_sigterm.py.

Threads are ordered with Events; where a deadline must really pass, it is short and the
bounds are generous.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import executor_jobs as jobs
import pytest

from processes import (
    Process,
    ProcessExecutionReport,
    RunTerminated,
    SkipReason,
    StopReason,
    Task,
    TaskDependency,
    TaskStatus,
)

# The thread method of pytest-timeout leaves SIGALRM alone, so that a sequential run's
# deadline is kept by it here, as in a script (test_sequential_deadline.py has the rest).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300, method="thread")]

GENEROUS_SECONDS = 20.0
DEADLINE_SECONDS = 0.5
BOTH_LOOPS = pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])


def after(*names: str, results: bool = False) -> list[TaskDependency]:
    return [TaskDependency(name, use_result_as_additional_args=results) for name in names]


def broken(*_: Any) -> None:
    raise ValueError("boom")


def received(*values: Any) -> tuple[Any, ...]:
    return values


def statuses(report: ProcessExecutionReport) -> dict[str, str]:
    return {name: entry.status.value for name, entry in report.entries.items()}


def skips(report: ProcessExecutionReport) -> dict[str, tuple[SkipReason | None, str]]:
    return {name: (e.skip_reason, e.skip_cause) for name, e in report.skipped.items()}


def impact(report: ProcessExecutionReport, name: str) -> list[str]:
    error = report.entries[name].error
    assert error is not None
    return error.downstream_impact


# -- the run's deadline ---------------------------------------------------------------------


@BOTH_LOOPS
def test_the_deadline_abandons_a_hanging_task_and_skips_what_never_started(
    parallel: bool,
) -> None:
    release = threading.Event()
    tasks = [
        Task("quick", lambda: "done"),
        Task("hangs", release.wait, dependencies=after("quick")),
        Task("needs_it", lambda: 1, dependencies=after("hangs")),
        Task("independent_later", lambda: 2, dependencies=after("quick")),
    ]
    try:
        with Process(tasks) as process:
            report = process.run(parallel=parallel, max_workers=1, deadline=DEADLINE_SECONDS)
    finally:
        release.set()

    assert report.stopped_by is StopReason.DEADLINE
    assert statuses(report) == {
        "quick": "success",
        "hangs": "errored",
        "needs_it": "skipped",
        "independent_later": "skipped",
    }
    hangs = report.entries["hangs"]
    assert hangs.error is not None
    assert hangs.error.exception_type == "TimeoutError"
    assert hangs.error.headline.startswith("TimeoutError: the run's deadline passed after ")
    assert f"(deadline={DEADLINE_SECONDS:g} s)" in hangs.error.exception
    assert hangs.attempts == 1
    # The one downstream of the abandoned task is skipped because of it; the other
    # never started because the deadline had passed.
    assert skips(report) == {
        "needs_it": (SkipReason.UPSTREAM_FAILED, "hangs"),
        "independent_later": (SkipReason.DEADLINE, ""),
    }
    assert impact(report, "hangs") == ["needs_it"]
    assert ProcessExecutionReport.from_json(report.to_json()) == report


@BOTH_LOOPS
def test_the_deadline_cancels_a_waiting_retry(parallel: bool) -> None:
    calls = []

    def refuses() -> None:
        calls.append(1)
        raise ConnectionError("refused")

    tasks = [
        Task("waits_an_hour", refuses, retries=3, retry_delay=3600),
        Task("after_it", lambda: 1, dependencies=after("waits_an_hour")),
    ]
    started = time.monotonic()
    with Process(tasks) as process:
        report = process.run(parallel=parallel, deadline=DEADLINE_SECONDS)

    assert time.monotonic() - started < GENEROUS_SECONDS  # not an hour
    assert report.stopped_by is StopReason.DEADLINE
    entry = report.entries["waits_an_hour"]
    assert entry.status is TaskStatus.ERRORED
    assert entry.attempts == 1 == len(calls)
    assert entry.error is not None
    assert entry.error.headline == "ConnectionError: refused"  # its last failure
    assert skips(report) == {"after_it": (SkipReason.UPSTREAM_FAILED, "waits_an_hour")}


def test_a_sequential_retry_due_after_the_deadline_waits_only_until_the_deadline() -> None:
    waits: list[float] = []
    tasks = [Task("flaky", broken, retries=1, retry_on=(ValueError,), retry_delay=3600)]
    with Process(tasks) as process:
        report = process.run(parallel=False, deadline=30, sleep=waits.append)

    assert len(waits) == 1
    assert 0 < waits[0] <= 30  # what was left of the deadline, not the hour
    assert report.stopped_by is StopReason.DEADLINE
    assert report.entries["flaky"].status is TaskStatus.ERRORED
    assert report.entries["flaky"].attempts == 1


def test_the_deadline_on_a_process_pool() -> None:
    with ProcessPoolExecutor(1) as executor:
        tasks = [
            Task("sleeps", time.sleep, args=(3,)),
            Task("afterwards", jobs.numbers, args=(2,), dependencies=after("sleeps")),
        ]
        with Process(tasks) as process:
            report = process.run(executor=executor, deadline=DEADLINE_SECONDS)

    assert report.stopped_by is StopReason.DEADLINE
    sleeps = report.entries["sleeps"]
    assert sleeps.status is TaskStatus.ERRORED
    assert sleeps.error is not None
    assert "deadline" in sleeps.error.exception
    assert skips(report) == {"afterwards": (SkipReason.UPSTREAM_FAILED, "sleeps")}


@BOTH_LOOPS
def test_a_run_within_its_deadline_is_not_stopped(parallel: bool) -> None:
    tasks = [Task("a", lambda: 1), Task("b", received, dependencies=after("a", results=True))]
    with Process(tasks) as process:
        report = process.run(parallel=parallel, deadline=GENEROUS_SECONDS)

    assert report.ok
    assert report.stopped_by is None
    assert report.entries["b"].result == (1,)


def test_a_timeout_shorter_than_the_deadline_still_times_the_attempt_out() -> None:
    release = threading.Event()
    tasks = [Task("slow", release.wait, timeout=0.2), Task("next", lambda: "ran")]
    try:
        with Process(tasks) as process:
            report = process.run(parallel=False, deadline=GENEROUS_SECONDS)
    finally:
        release.set()

    slow = report.entries["slow"]
    assert slow.error is not None
    assert "timed out" in slow.error.exception
    assert "deadline" not in slow.error.exception
    assert report.entries["next"].result == "ran"
    assert report.stopped_by is None


@pytest.mark.parametrize(
    ("deadline", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (float("nan"), ValueError),
        ("5", TypeError),
        (True, TypeError),
        ([5], TypeError),
    ],
)
def test_a_bad_deadline_is_refused_naming_it(deadline: Any, error: type[Exception]) -> None:
    ran = []
    process = Process([Task("a", lambda: ran.append(1))])
    with pytest.raises(error, match="deadline"):
        process.run(deadline=deadline)
    assert ran == []


# -- run_when -------------------------------------------------------------------------------


@BOTH_LOOPS
def test_a_cleanup_task_runs_after_a_failure_and_is_not_counted_as_skipped(
    parallel: bool,
) -> None:
    tasks = [
        Task("acquire", lambda: "lock-7"),
        Task("work", broken, dependencies=after("acquire", results=True)),
        Task("publish", lambda *_: "published", dependencies=after("work", results=True)),
        Task(
            "release",
            received,
            dependencies=after("acquire", "work", results=True),
            run_when="all_done",
        ),
        Task("report_release", received, dependencies=after("release", results=True)),
    ]
    with Process(tasks) as process:
        report = process.run(parallel=parallel, max_workers=3)

    assert statuses(report) == {
        "acquire": "success",
        "work": "errored",
        "publish": "skipped",
        "release": "success",
        "report_release": "success",
    }
    # The upstream result that never came is passed as None.
    assert report.entries["release"].result == ("lock-7", None)
    assert report.entries["report_release"].result == (("lock-7", None),)
    assert set(report.skipped) == {"publish"}
    assert impact(report, "work") == ["publish"]
    assert skips(report) == {"publish": (SkipReason.UPSTREAM_FAILED, "work")}


@BOTH_LOOPS
def test_a_failure_only_task_runs_only_when_an_upstream_task_failed(parallel: bool) -> None:
    tasks = [
        Task("charge", broken),
        Task("ship", lambda: "shipped"),
        Task("refund", lambda: "refunded", dependencies=after("charge"), run_when="any_failed"),
        Task("apologise", lambda: "sorry", dependencies=after("ship"), run_when="any_failed"),
        Task("after_apology", lambda: 1, dependencies=after("apologise")),
    ]
    with Process(tasks) as process:
        report = process.run(parallel=parallel)

    assert statuses(report) == {
        "charge": "errored",
        "ship": "success",
        "refund": "success",
        "apologise": "skipped",
        "after_apology": "skipped",
    }
    assert skips(report) == {
        "apologise": (SkipReason.CONDITION_NOT_MET, ""),
        "after_apology": (SkipReason.CONDITION_NOT_MET, ""),  # for the same reason
    }
    assert impact(report, "charge") == []  # refund ran: nothing was skipped because of it


def test_a_failure_only_task_also_runs_when_its_upstream_task_was_skipped() -> None:
    tasks = [
        Task("extract", broken),
        Task("load", lambda: 1, dependencies=after("extract")),
        Task("alert", lambda: "alerted", dependencies=after("load"), run_when="any_failed"),
    ]
    report = Process(tasks).run(parallel=False)

    assert statuses(report) == {"extract": "errored", "load": "skipped", "alert": "success"}
    assert impact(report, "extract") == ["load"]


def test_a_cleanup_task_that_fails_skips_what_waits_for_it() -> None:
    tasks = [
        Task("work", broken),
        Task("cleanup", broken, dependencies=after("work"), run_when="all_done"),
        Task("after_cleanup", lambda: 1, dependencies=after("cleanup")),
    ]
    report = Process(tasks).run(parallel=False)

    assert statuses(report) == {
        "work": "errored",
        "cleanup": "errored",
        "after_cleanup": "skipped",
    }
    assert impact(report, "work") == []
    assert impact(report, "cleanup") == ["after_cleanup"]
    assert skips(report) == {"after_cleanup": (SkipReason.UPSTREAM_FAILED, "cleanup")}


@BOTH_LOOPS
def test_skip_cause_names_the_root_failure_and_every_failure_lists_what_it_skipped(
    parallel: bool,
) -> None:
    tasks = [
        Task("first_failure", broken),
        Task("second_failure", broken),
        Task("middle", lambda: 1, dependencies=after("first_failure")),
        Task("joined", lambda: 1, dependencies=after("second_failure", "middle")),
        Task("end", lambda: 1, dependencies=after("joined")),
    ]
    with Process(tasks) as process:
        report = process.run(parallel=parallel, max_workers=2)

    # Each skipped task names one root: the earliest failure in topological order.
    assert skips(report) == {
        "middle": (SkipReason.UPSTREAM_FAILED, "first_failure"),
        "joined": (SkipReason.UPSTREAM_FAILED, "first_failure"),
        "end": (SkipReason.UPSTREAM_FAILED, "first_failure"),
    }
    # Each failure lists every task it skipped, so both list "joined" and "end".
    assert impact(report, "first_failure") == ["middle", "joined", "end"]
    assert impact(report, "second_failure") == ["joined", "end"]


def test_run_when_is_checked_when_built_and_when_set() -> None:
    with pytest.raises(ValueError, match="all_succeeded, all_done, any_failed") as caught:
        Task("cleanup", lambda: 1, run_when="always")
    assert "cleanup" in str(caught.value)
    with pytest.raises(TypeError, match="run_when must be a str, one of"):
        Task("cleanup", lambda: 1, run_when=None)  # type: ignore[arg-type]

    task = Task("cleanup", lambda: 1)
    assert task.run_when == "all_succeeded"
    task.run_when = "all_done"
    assert task.run_when == "all_done"
    with pytest.raises(ValueError, match="run_when must be one of"):
        task.run_when = "ALL_DONE"
    assert task.run_when == "all_done"


def test_run_when_is_keyword_only() -> None:
    # The ten positional parameters of v7, then one more.
    positional: list[Any] = ["a", lambda: 1, None, (), None, None, None, None, 0, None]
    with pytest.raises(TypeError):
        Task(*[*positional, "all_done"])


# -- what stops do to cleanup tasks -----------------------------------------------------------


@BOTH_LOOPS
def test_cleanup_still_runs_after_a_fail_fast_stop_and_keeps_its_retries(
    parallel: bool,
) -> None:
    cleanup_calls = []

    def cleanup_flaky_once() -> str:
        cleanup_calls.append(1)
        if len(cleanup_calls) == 1:
            raise ConnectionError("lock server busy")
        return "released"

    tasks = [
        Task("acquire", lambda: "lock"),
        Task("work", broken, dependencies=after("acquire")),
        Task("other_work", lambda: 1, dependencies=after("acquire")),
        Task("later", lambda: 1, dependencies=after("other_work")),
        Task(
            "release",
            cleanup_flaky_once,
            dependencies=after("work", "later"),
            run_when="all_done",
            retries=1,
        ),
        Task("after_release", lambda: 1, dependencies=after("release")),
    ]
    with Process(tasks) as process:
        report = process.run(parallel=parallel, max_workers=1, fail_fast=True)

    assert report.stopped_by is StopReason.FAIL_FAST
    assert report.entries["release"].status is TaskStatus.SUCCESS
    assert report.entries["release"].attempts == 2
    assert report.entries["work"].status is TaskStatus.ERRORED
    # Fail-fast stopped the rest; only the cleanup task (a rule) still ran.
    assert skips(report)["after_release"] == (SkipReason.FAIL_FAST, "")
    assert set(report.skipped) >= {"after_release"}
    assert "release" not in report.skipped


@BOTH_LOOPS
def test_cleanup_never_runs_after_ctrl_c(parallel: bool) -> None:
    def pressed_ctrl_c() -> None:
        raise KeyboardInterrupt

    tasks = [
        Task("interrupted", pressed_ctrl_c),
        Task("release", lambda: "released", dependencies=after("interrupted"), run_when="all_done"),
        Task("untouched", lambda: 1, dependencies=after("release")),
    ]
    with Process(tasks) as process, pytest.raises(KeyboardInterrupt) as caught:
        process.run(parallel=parallel)

    report = caught.value.report  # type: ignore[attr-defined]
    assert report.stopped_by is StopReason.INTERRUPTED
    assert statuses(report) == {
        "interrupted": "errored",
        "release": "skipped",
        "untouched": "skipped",
    }
    assert skips(report) == {
        "release": (SkipReason.INTERRUPTED, ""),
        "untouched": (SkipReason.INTERRUPTED, ""),
    }


def test_cleanup_never_runs_after_sigterm() -> None:
    # A sequential attempt runs in the main thread: the signal arrives inside the task.
    def terminated() -> None:
        signal.raise_signal(signal.SIGTERM)

    tasks = [
        Task("terminated", terminated),
        Task("release", lambda: "released", dependencies=after("terminated"), run_when="all_done"),
        Task("independent", lambda: 1),
    ]
    with Process(tasks) as process, pytest.raises(RunTerminated) as caught:
        process.run(parallel=False)

    stop = caught.value
    assert stop.code == 143
    assert stop.signal is signal.SIGTERM
    assert isinstance(stop, SystemExit)
    report = stop.report
    assert isinstance(report, ProcessExecutionReport)
    assert report.stopped_by is StopReason.TERMINATED
    assert statuses(report) == {
        "terminated": "errored",
        "independent": "skipped",
        "release": "skipped",
    }
    assert skips(report)["release"] == (SkipReason.TERMINATED, "")
    error = report.entries["terminated"].error
    assert error is not None
    assert "SIGTERM" in error.exception


def test_cleanup_never_runs_after_the_deadline() -> None:
    release = threading.Event()
    tasks = [
        Task("hangs", release.wait),
        Task("cleanup", lambda: "cleaned", dependencies=after("hangs"), run_when="all_done"),
    ]
    try:
        report = Process(tasks).run(parallel=True, deadline=DEADLINE_SECONDS)
    finally:
        release.set()

    assert report.stopped_by is StopReason.DEADLINE
    assert skips(report) == {"cleanup": (SkipReason.DEADLINE, "")}
    assert impact(report, "hangs") == []


def test_fail_fast_skips_say_so() -> None:
    tasks = [Task("bad", broken), Task("unrelated", lambda: 1)]
    report = Process(tasks).run(parallel=False, fail_fast=True)

    assert report.stopped_by is StopReason.FAIL_FAST
    assert skips(report) == {"unrelated": (SkipReason.FAIL_FAST, "")}
    assert ProcessExecutionReport.from_json(report.to_json()).stopped_by is StopReason.FAIL_FAST


def test_a_run_that_nothing_stopped_says_so() -> None:
    tasks = [Task("bad", broken), Task("after_bad", lambda: 1, dependencies=after("bad"))]
    report = Process(tasks).run(parallel=False)

    assert report.stopped_by is None
    assert skips(report) == {"after_bad": (SkipReason.UPSTREAM_FAILED, "bad")}


def test_the_text_view_says_why_each_task_was_skipped() -> None:
    tasks = [
        Task("bad", broken),
        Task("after_bad", lambda: 1, dependencies=after("bad")),
        Task("compensate", lambda: 1, dependencies=after("unrelated"), run_when="any_failed"),
        Task("unrelated", lambda: 1),
        Task("later", lambda: 1, dependencies=after("unrelated")),
    ]
    text = Process(tasks).run(parallel=False).to_text(color=False)
    lines = {line.split()[1]: line for line in text.splitlines() if "SKIPPED" in line}

    assert lines["after_bad"].endswith("(because of bad)")
    assert lines["compensate"].endswith("(skipped: nothing upstream failed)")

    fast = Process(tasks).run(parallel=False, fail_fast=True).to_text(color=False)
    (later,) = [line for line in fast.splitlines() if line.split()[1:2] == ["later"]]
    assert later.endswith("(skipped: fail-fast)")
