"""The dependency graph: topological order, missing upstreams, cycles, dependants (SPEC §3)."""

from __future__ import annotations

import itertools

import pytest

from processes import (
    CircularDependencyError,
    DependencyNotFoundError,
    Process,
    Task,
    TaskDependency,
)
from processes.graph import TaskGraph


def noop() -> None:
    return None


def _cycle_in_message(message: str) -> list[str]:
    prefix = "Circular dependency detected."
    assert message.startswith(prefix)
    arrows = [part for part in message[len(prefix) :].split() if part != "->"]
    return arrows


def _assert_closed_cycle(named: list[str], upstreams: dict[str, list[str]]) -> None:
    """``named`` is a -> b -> ... -> a and every arrow is one edge, all in one direction."""
    assert len(named) >= 3 or (len(named) == 2 and named[0] == named[1])
    assert named[0] == named[-1], named
    pairs = list(itertools.pairwise(named))
    flows = all(a in upstreams[b] for a, b in pairs)  # a -> b: b depends on a
    depends = all(b in upstreams[a] for a, b in pairs)  # a -> b: a depends on b
    assert flows or depends, named
    assert len(set(named[:-1])) == len(named) - 1, "a cycle visits each task once"


def _dependant_names(graph: TaskGraph, name: str) -> list[str]:
    return [graph.order[i] for i in graph.all_dependants(graph.position[name])]


# -- order -----------------------------------------------------------------------------------


def test_given_order_is_kept_when_already_topological() -> None:
    upstreams = {"e": [], "d": [], "c": ["e"], "b": ["d"], "a": []}
    assert TaskGraph(upstreams).order == ["e", "d", "c", "b", "a"]


def test_independent_tasks_keep_the_given_order() -> None:
    names = ["zeta", "alpha", "mid", "beta"]
    assert TaskGraph({n: [] for n in names}).order == names


def test_upstream_given_later_moves_before_its_dependant() -> None:
    upstreams = {"b": ["a"], "a": [], "c": []}
    assert TaskGraph(upstreams).order == ["a", "b", "c"]


def test_ties_are_broken_by_given_position() -> None:
    # After "root" finishes, "y" and "x" are both ready: "y" was given first.
    upstreams = {"root": [], "y": ["root"], "x": ["root"], "late": []}
    order = TaskGraph(upstreams).order
    assert order == ["root", "y", "x", "late"]


def test_order_respects_every_edge_of_a_diamond_given_backwards() -> None:
    upstreams = {"sink": ["left", "right"], "right": ["src"], "left": ["src"], "src": []}
    order = TaskGraph(upstreams).order
    position = {name: i for i, name in enumerate(order)}
    for name, ups in upstreams.items():
        for up in ups:
            assert position[up] < position[name]
    assert order == ["src", "right", "left", "sink"]


def test_process_tasks_are_in_topological_order_with_ties_in_given_order() -> None:
    tasks = [
        Task("load", noop, dependencies=[TaskDependency("transform")]),
        Task("Fetch", noop),
        Task("transform", noop, dependencies=[TaskDependency("fetch")]),
        Task("audit", noop),
    ]
    assert [t.name for t in Process(tasks).tasks] == ["fetch", "transform", "load", "audit"]


# -- missing upstreams -----------------------------------------------------------------------


def test_dependency_not_found_carries_task_and_missing_name() -> None:
    with pytest.raises(DependencyNotFoundError) as excinfo:
        TaskGraph({"a": [], "b": ["a", "ghost"]})
    assert excinfo.value.task_name == "b"
    assert excinfo.value.missing_dep == "ghost"
    assert "b" in str(excinfo.value)
    assert "ghost" in str(excinfo.value)


def test_dependency_not_found_through_process_is_lower_cased() -> None:
    tasks = [Task("Load", noop, dependencies=[TaskDependency("GHOST")])]
    with pytest.raises(DependencyNotFoundError) as excinfo:
        Process(tasks)
    assert excinfo.value.task_name == "load"
    assert excinfo.value.missing_dep == "ghost"


# -- cycles ----------------------------------------------------------------------------------


def test_cycle_message_names_the_cycle() -> None:
    upstreams = {"a": ["c"], "b": ["a"], "c": ["b"]}
    with pytest.raises(CircularDependencyError) as excinfo:
        TaskGraph(upstreams)
    named = _cycle_in_message(str(excinfo.value))
    _assert_closed_cycle(named, upstreams)
    assert set(named) == {"a", "b", "c"}


def test_cycle_message_leaves_out_tasks_outside_the_cycle() -> None:
    upstreams = {
        "start": [],
        "p": ["start", "r"],
        "q": ["p"],
        "r": ["q"],
        "after": ["q"],
        "free": [],
    }
    with pytest.raises(CircularDependencyError) as excinfo:
        TaskGraph(upstreams)
    named = _cycle_in_message(str(excinfo.value))
    _assert_closed_cycle(named, upstreams)
    assert set(named) == {"p", "q", "r"}


def test_two_task_cycle() -> None:
    upstreams = {"a": ["b"], "b": ["a"]}
    with pytest.raises(CircularDependencyError) as excinfo:
        TaskGraph(upstreams)
    named = _cycle_in_message(str(excinfo.value))
    assert len(named) == 3
    _assert_closed_cycle(named, upstreams)


def test_cycle_through_process_is_a_value_error_too() -> None:
    tasks = [
        Task("a", noop, dependencies=[TaskDependency("b")]),
        Task("b", noop, dependencies=[TaskDependency("a")]),
    ]
    with pytest.raises(CircularDependencyError, match=r"^Circular dependency detected\."):
        Process(tasks)
    with pytest.raises(ValueError, match=r"^Circular dependency detected\."):
        Process(tasks)


# -- dependants ------------------------------------------------------------------------------


def test_dependants_of_is_transitive_and_excludes_others() -> None:
    graph = TaskGraph(
        {
            "a": [],
            "b": ["a"],
            "c": ["b"],
            "d": ["a", "x"],
            "x": [],
            "e": ["x"],
            "f": ["c", "e"],
        }
    )
    assert set(_dependant_names(graph, "a")) == {"b", "c", "d", "f"}
    assert set(_dependant_names(graph, "x")) == {"d", "e", "f"}
    assert _dependant_names(graph, "f") == []


def test_dependants_of_lists_each_task_once_in_topological_order() -> None:
    graph = TaskGraph({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": ["d", "a"]})
    assert _dependant_names(graph, "a") == ["b", "c", "d", "e"]


# -- positions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "upstreams",
    [
        {"a": [], "b": [], "c": ["b", "a"], "d": ["c", "a"]},  # given in dependency order
        {"d": ["c", "a"], "c": ["b", "a"], "b": [], "a": []},  # given backwards: reordered
    ],
)
def test_positions_line_up_with_the_dependencies_as_listed(
    upstreams: dict[str, list[str]],
) -> None:
    graph = TaskGraph(upstreams)
    for i, name in enumerate(graph.order):
        assert graph.position[name] == i
        assert graph.upstream_names[i] == tuple(upstreams[name])
        assert [graph.order[up] for up in graph.upstreams[i]] == upstreams[name]
        children = [j for j, ups in enumerate(graph.upstreams) if i in ups]
        assert graph.dependants[i] == tuple(children)  # ascending; () for a leaf
