"""``TaskDependency(for_each=...)`` and ``Task(item_key=..., max_failed=...)``: checked as
SPEC §15 says, when the task is built, added, or the process built."""

from __future__ import annotations

import threading

import pytest

from processes import Process, Task, TaskDependency


def _noop(*args: object) -> None:
    return None


def test_for_each_is_keyword_only_false_by_default_and_a_bool() -> None:
    assert TaskDependency("a", True).for_each is False
    assert TaskDependency("a", True, for_each=True).for_each is True
    with pytest.raises(TypeError, match="for_each must be a bool"):
        TaskDependency("a", True, for_each=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TaskDependency("a", True, False, "", True)  # type: ignore[misc]
    assert TaskDependency("a", True, for_each=True) != TaskDependency("a", True)
    assert "for_each=True" in repr(TaskDependency("a", True, for_each=True))
    assert "for_each" not in repr(TaskDependency("a", True))


def test_a_for_each_edge_must_pass_a_result_naming_the_task() -> None:
    with pytest.raises(ValueError, match=r"Task 'load': dependency 'files' has for_each=True"):
        Task("load", _noop, dependencies=[TaskDependency("files", for_each=True)])
    Task("load", _noop, dependencies=[TaskDependency("files", True, for_each=True)])
    Task(
        "load",
        _noop,
        dependencies=[
            TaskDependency("files", False, True, "name", for_each=True),
        ],
    )


def test_at_most_one_for_each_edge_per_task() -> None:
    deps = [
        TaskDependency("a", True, for_each=True),
        TaskDependency("b", True, for_each=True),
    ]
    with pytest.raises(ValueError, match=r"Task 'load': at most one .* 'a' and 'b'"):
        Task("load", _noop, dependencies=deps)
    task = Task("load", _noop, dependencies=[TaskDependency("a", True, for_each=True)])
    with pytest.raises(ValueError, match="Task 'load'"):
        task.dependencies = deps
    assert len(task.dependencies) == 1  # left as it was


def test_an_edge_added_later_is_checked_when_the_task_is_added() -> None:
    process = Process([Task("a", _noop), Task("b", _noop)])
    process.add_task(Task("c", _noop, dependencies=[TaskDependency("a", True, for_each=True)]))
    with pytest.raises(ValueError, match="Task 'c': at most one"):
        process.add_task_dependency("c", TaskDependency("b", True, for_each=True))
    assert [d.task_name for d in process.get_task("c").dependencies] == ["a"]


def test_item_key_and_max_failed_defaults_and_checks() -> None:
    task = Task("load", _noop)
    assert task.item_key is None
    assert task.max_failed == 0
    task = Task("load", _noop, item_key=str.upper, max_failed=0.25)
    assert task.item_key is str.upper
    assert task.max_failed == 0.25
    assert Task("load", _noop, max_failed=3).max_failed == 3
    assert Task("load", _noop, max_failed=1.0).max_failed == 1.0
    with pytest.raises(TypeError, match="Task 'load': item_key must be a callable"):
        Task("load", _noop, item_key="name")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Task 'load': max_failed must be an int >= 0"):
        Task("load", _noop, max_failed=-1)
    with pytest.raises(ValueError, match=r"Task 'load': max_failed as a float .* \[0, 1\]"):
        Task("load", _noop, max_failed=1.5)
    for wrong in (True, "1", None):
        with pytest.raises(TypeError, match="Task 'load': max_failed must be"):
            Task("load", _noop, max_failed=wrong)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Task("load", _noop, None, (), None, None, None, None, 0, None, 0)  # type: ignore[misc]


def test_item_key_and_max_failed_are_checked_when_set() -> None:
    task = Task("load", _noop)
    task.max_failed = 2
    task.item_key = str
    assert (task.max_failed, task.item_key) == (2, str)
    with pytest.raises(ValueError, match="Task 'load'"):
        task.max_failed = -2
    assert task.max_failed == 2


def test_parallel_none_counts_the_declared_tasks_not_the_items_found_at_run_time() -> None:
    # SPEC §3: parallel from 10 tasks of the process on; items are spawned after the run
    # chose its driver, so 3 declared tasks run their 20 items in the calling thread.
    def thread_of(_item: int) -> int:
        return threading.get_ident()

    def tasks() -> list[Task]:
        return [
            Task("numbers", lambda: list(range(20))),
            Task("where", thread_of, dependencies=[TaskDependency("numbers", True, for_each=True)]),
            Task("count", len, dependencies=[TaskDependency("where", True)]),
        ]

    report = Process(tasks()).run()
    assert set(report.entries["where"].result.values()) == {threading.get_ident()}
    report = Process(tasks()).run(parallel=True, max_workers=4)
    assert threading.get_ident() not in set(report.entries["where"].result.values())
