"""SPEC §0 and §2: a result-passing edge that would silently only order, lose a result or
pass it under a name no parameter can take is refused when the graph is built, naming the
task and the fix."""

from __future__ import annotations

import pytest

from processes import Process, Task, TaskDependency


def load(rows: object = None, extra: object = None, **named: object) -> object:
    return rows


def upstream(name: str) -> Task:
    return Task(name, lambda: name)


def test_a_keyword_name_without_the_flag_is_refused() -> None:
    with pytest.raises(ValueError, match=r"Task 'load': dependency 'fetch'") as raised:
        Task("load", load, dependencies=[TaskDependency("fetch", additional_kwarg_name="rows")])
    assert "use_result_as_additional_kwargs=True" in str(raised.value)


@pytest.mark.parametrize("keyword", ["  ", "a-b", "1st", "rows "])
def test_a_keyword_that_is_not_an_identifier_is_refused(keyword: str) -> None:
    dependency = TaskDependency(
        "fetch", use_result_as_additional_kwargs=True, additional_kwarg_name=keyword
    )
    with pytest.raises(ValueError, match="not a Python identifier") as raised:
        Task("load", load, dependencies=[dependency])
    assert "Task 'load'" in str(raised.value)
    assert repr(keyword) in str(raised.value)


def test_two_edges_into_one_keyword_are_refused() -> None:
    dependencies = [
        TaskDependency(
            "fetch_a", use_result_as_additional_kwargs=True, additional_kwarg_name="rows"
        ),
        TaskDependency(
            "fetch_b", use_result_as_additional_kwargs=True, additional_kwarg_name="rows"
        ),
    ]
    with pytest.raises(ValueError, match="'fetch_a' and 'fetch_b' both pass") as raised:
        Task("load", load, dependencies=dependencies)
    assert "Task 'load'" in str(raised.value)
    assert "its own additional_kwarg_name" in str(raised.value)


def test_a_keyword_the_tasks_own_kwargs_hold_is_refused() -> None:
    dependency = TaskDependency(
        "fetch", use_result_as_additional_kwargs=True, additional_kwarg_name="rows"
    )
    with pytest.raises(ValueError, match="Task 'load': dependency 'fetch' passes its result"):
        Task("load", load, kwargs={"rows": []}, dependencies=[dependency])
    task = Task("load", load, dependencies=[dependency])
    with pytest.raises(ValueError, match="own kwargs already hold"):
        task.kwargs = {"rows": []}
    assert task.kwargs == {}  # left as it was


def test_an_empty_keyword_with_the_flag_is_still_the_type_error_of_spec_2() -> None:
    with pytest.raises(TypeError, match="non-empty additional_kwarg_name"):
        TaskDependency("fetch", use_result_as_additional_kwargs=True)


def test_refused_when_added_to_a_process_and_the_process_is_left_as_it_was() -> None:
    process = Process([upstream("fetch"), upstream("fetch_b"), Task("load", load)])
    with pytest.raises(ValueError, match="Task 'load': dependency 'fetch'"):
        process.add_task_dependency("load", TaskDependency("fetch", additional_kwarg_name="rows"))
    process.add_task_dependency(
        "load",
        TaskDependency("fetch", use_result_as_additional_kwargs=True, additional_kwarg_name="rows"),
    )
    with pytest.raises(ValueError, match="both pass their result as keyword 'rows'"):
        process.add_task_dependency(
            "load",
            TaskDependency(
                "fetch_b", use_result_as_additional_kwargs=True, additional_kwarg_name="rows"
            ),
        )
    assert [d.task_name for d in process.get_task("load").dependencies] == ["fetch"]


def test_valid_keyword_edges_still_pass_every_result() -> None:
    dependencies = [
        TaskDependency("fetch", use_result_as_additional_kwargs=True, additional_kwarg_name="rows"),
        TaskDependency(
            "fetch_b",
            use_result_as_additional_args=True,
            use_result_as_additional_kwargs=True,
            additional_kwarg_name="extra",
        ),
        TaskDependency("fetch_c"),  # ordering only
    ]
    seen: list[tuple[object, ...]] = []

    def take(*args: object, **kwargs: object) -> None:
        seen.append((args, kwargs))

    tasks = [
        upstream("fetch"),
        upstream("fetch_b"),
        upstream("fetch_c"),
        Task("load", take, kwargs={"mode": "full"}, dependencies=dependencies),
    ]
    with Process(tasks) as process:
        assert process.run().ok
    assert seen == [(("fetch_b",), {"mode": "full", "rows": "fetch", "extra": "fetch_b"})]
