"""Attempts queued in the run's own pool behind busy workers (tasks nobody watches).

A queued attempt keeps the times it really ran, and one no worker has begun when the run
stops (deadline, Ctrl-C, SIGTERM) never runs: its task is skipped, not cut off.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from processes import Process, RunTerminated, SkipReason, StopReason, Task, TaskStatus

GENEROUS_SECONDS = 20.0
QUEUED = [f"queued{i}" for i in range(5)]


class Ran:
    """Quick tasks that record that they ran."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def task(self, name: str) -> Task:
        def quick() -> str:
            self.names.append(name)
            return name

        return Task(name, quick)


def _queued_behind(busy: list[Task], ran: Ran) -> list[Task]:
    # Two workers, both busy: every quick task is submitted at once and waits queued.
    return [*busy, *(ran.task(name) for name in QUEUED)]


def test_a_queued_attempt_starts_when_a_worker_takes_it_not_when_submitted() -> None:
    go = threading.Event()
    started = [threading.Event(), threading.Event()]
    released_at: list[datetime] = []

    def busy(index: int) -> Callable[[], int]:
        def hold() -> int:
            started[index].set()
            assert go.wait(GENEROUS_SECONDS)
            return index

        return hold

    def release() -> None:
        assert all(event.wait(GENEROUS_SECONDS) for event in started)
        released_at.append(datetime.now(UTC))
        go.set()

    ran = Ran()
    tasks = _queued_behind([Task("busy0", busy(0)), Task("busy1", busy(1))], ran)
    releaser = threading.Thread(target=release)
    releaser.start()
    try:
        with Process(tasks) as process:
            report = process.run(parallel=True, max_workers=2)
    finally:
        go.set()
        releaser.join()

    assert report.ok
    assert sorted(ran.names) == QUEUED
    for name in QUEUED:
        entry = report.entries[name]
        assert entry.started_at is not None
        assert entry.finished_at is not None
        # Submitted before either busy task began, begun only once one of them was done.
        assert entry.started_at >= released_at[0], name
        assert entry.started_at <= entry.finished_at


def _blocking(release: threading.Event) -> Callable[[], None]:
    def hangs() -> None:
        release.wait(GENEROUS_SECONDS)

    return hangs


@pytest.mark.integration
def test_at_the_deadline_queued_attempts_never_begin_and_their_tasks_are_skipped() -> None:
    release = threading.Event()
    ran = Ran()
    tasks = _queued_behind(
        [Task("hang0", _blocking(release)), Task("hang1", _blocking(release))], ran
    )
    try:
        with Process(tasks) as process:
            report = process.run(parallel=True, max_workers=2, deadline=0.5)
    finally:
        release.set()

    assert report.stopped_by is StopReason.DEADLINE
    assert ran.names == []
    for name in ("hang0", "hang1"):
        error = report.entries[name].error
        assert error is not None
        assert "deadline" in error.exception
    for name in QUEUED:
        entry = report.entries[name]
        assert entry.status is TaskStatus.SKIPPED, name
        assert entry.skip_reason is SkipReason.DEADLINE
        assert entry.attempts == 0


@pytest.mark.integration
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_skips_the_queued_attempts_and_cuts_off_the_running(signum: int) -> None:
    release = threading.Event()
    main = threading.get_ident()
    signalled = threading.Event()

    def stops_the_run() -> None:
        signal.pthread_kill(main, signum)  # as a user or a supervisor would, at the main thread
        signalled.set()
        release.wait(GENEROUS_SECONDS)  # keeps its worker busy: nothing queued can begin

    def hangs() -> None:
        assert signalled.wait(GENEROUS_SECONDS)
        release.wait(GENEROUS_SECONDS)

    ran = Ran()
    tasks = _queued_behind([Task("hangs", hangs), Task("stops", stops_the_run)], ran)
    expected: type[BaseException] = KeyboardInterrupt if signum == signal.SIGINT else RunTerminated
    try:
        with Process(tasks) as process, pytest.raises(expected) as caught:
            process.run(parallel=True, max_workers=2)
    finally:
        release.set()

    report = caught.value.report  # type: ignore[attr-defined]
    assert ran.names == []
    assert report.entries["hangs"].status is TaskStatus.ERRORED
    assert report.entries["stops"].status is TaskStatus.ERRORED
    reason = SkipReason.INTERRUPTED if signum == signal.SIGINT else SkipReason.TERMINATED
    for name in QUEUED:
        entry = report.entries[name]
        assert entry.status is TaskStatus.SKIPPED, name
        assert entry.skip_reason is reason
        assert entry.attempts == 0
