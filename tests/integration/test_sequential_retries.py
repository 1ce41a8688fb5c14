"""A sequential run does not idle on a waiting retry: ready tasks run meanwhile."""

from __future__ import annotations

import pytest

from processes import Process, Task, TaskDependency, TaskStatus


def test_ready_tasks_run_while_a_retry_waits_and_dependants_wait_for_it() -> None:
    order: list[str] = []
    slept: list[float] = []
    calls = {"flaky": 0}

    def flaky() -> str:
        order.append("flaky")
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise ConnectionError("service warming up")
        return "ready"

    def step(name: str) -> None:
        order.append(name)

    tasks = [
        Task("flaky", flaky, retries=1, retry_delay=30),
        Task("after_flaky", step, args=("after_flaky",), dependencies=[TaskDependency("flaky")]),
        Task("independent_1", step, args=("independent_1",)),
        Task("independent_2", step, args=("independent_2",)),
    ]
    with Process(tasks) as process:
        report = process.run(parallel=False, sleep=slept.append)

    assert order == ["flaky", "independent_1", "independent_2", "flaky", "after_flaky"]
    assert report.ok
    assert report.entries["flaky"].attempts == 2
    # The loop slept only what was left of the 30 s after the independent tasks ran.
    (waited,) = slept
    assert 29 < waited <= 30


def test_fail_fast_ends_a_waiting_retry_with_its_last_failure() -> None:
    def down() -> None:
        raise ConnectionError("still down")

    def broken() -> None:
        raise ValueError("bad input")

    tasks = [
        Task("down", down, retries=3, retry_delay=10),
        Task("broken", broken),
        Task("never", lambda: None),
    ]
    with Process(tasks) as process:
        report = process.run(parallel=False, fail_fast=True, sleep=lambda _: None)

    assert report.entries["broken"].status is TaskStatus.ERRORED
    assert report.entries["down"].status is TaskStatus.ERRORED
    assert report.entries["down"].attempts == 1
    assert report.entries["never"].status is TaskStatus.SKIPPED


def test_fail_fast_does_not_wait_out_a_pending_retry() -> None:
    slept: list[float] = []

    def down() -> None:
        raise ConnectionError("still down")

    def broken() -> None:
        raise ValueError("bad input")

    tasks = [Task("down", down, retries=1, retry_delay=600), Task("broken", broken)]
    with Process(tasks) as process:
        report = process.run(parallel=False, fail_fast=True, sleep=slept.append)

    assert slept == []
    assert report.entries["down"].attempts == 1
    assert report.entries["down"].status is TaskStatus.ERRORED


def test_settings_changed_after_building_a_task_are_used() -> None:
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("not yet")
        return "up"

    task = Task("flaky", flaky)
    task.retries = 2
    with Process([task]) as process:
        report = process.run(parallel=False, sleep=lambda _: None)

    assert report.entries["flaky"].status is TaskStatus.SUCCESS
    assert report.entries["flaky"].attempts == 3


def test_a_dependency_added_to_a_task_after_building_is_validated_and_used() -> None:
    first = Task("first", lambda: 41)
    second = Task("second", lambda x: x + 1)
    process = Process([second, first])
    second.add_dependency(TaskDependency("first", use_result_as_additional_args=True))

    report = process.run()

    assert list(report.entries) == ["first", "second"]
    assert report.entries["second"].result == 42


def test_an_invalid_setting_is_refused_when_set_and_the_task_stays_valid() -> None:
    task = Task("t", lambda: 1, retries=1)
    with pytest.raises(TypeError, match=r"Task 't': retry_on must be None or a tuple"):
        task.retry_on = [ValueError]  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"Task 't': timeout must be a positive number"):
        task.timeout = "5"  # type: ignore[assignment]

    assert task.retry_on is None
    assert task.timeout is None
    assert Process([task]).run().ok


def test_a_swapped_dependency_is_validated_at_run() -> None:
    a, c = Task("a", lambda: "from a"), Task("c", lambda: "from c")
    b = Task("b", lambda x: x, dependencies=[TaskDependency("a", True)])
    process = Process([a, b, c])
    b.dependencies[0] = TaskDependency("c", use_result_as_additional_args=True)

    report = process.run()

    assert report.entries["b"].result == "from c"
    assert report.entries["b"].dependencies == ("c",)
