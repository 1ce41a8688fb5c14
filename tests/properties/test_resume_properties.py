"""Resume over random DAGs (SPEC §12, issue 11 item 5): run with random failures, fix
them, resume. No task that succeeded before runs again, every other task runs once, and
every result equals that of a clean full run; sequential, parallel with 1-8 workers and
on a caller's executor, from the report object, from its JSON, or from its run id in a
real history file. With random run_when rules too: a cleanup or compensation is reused
only when all its upstream tasks are, and otherwise follows its rule again after them.

Each result spells out the results it was computed from, so an upstream result that was
lost or passed wrongly shows in every task downstream of it.
"""

from __future__ import annotations

import tempfile
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processes import (
    Process,
    ProcessExecutionReport,
    RunHistory,
    Task,
    TaskDependency,
    TaskStatus,
)
from processes.resume import HIDDEN_AS_SECRET


@dataclass(frozen=True)
class Edge:
    upstream: int
    as_args: bool
    kwarg: str  # "" (none), "plain" or "secret": the keyword's name looks like a secret


@dataclass(frozen=True)
class Graph:
    edges: tuple[tuple[Edge, ...], ...]  # per task, its upstream tasks (earlier ones)
    failing: frozenset[int]  # fail in the first run only
    mode: str  # "sequential", "parallel", "executor"
    workers: int
    source: str  # resume from the "report", its "json" round trip, or its run id in a "history"


def name(i: int) -> str:
    return f"t{i}"


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    n = draw(st.integers(min_value=1, max_value=10))
    edges = []
    for i in range(n):
        ups = draw(st.lists(st.integers(0, i - 1), max_size=min(3, i), unique=True)) if i else []
        edges.append(
            tuple(
                Edge(
                    up,
                    draw(st.booleans()),
                    draw(st.sampled_from(["", "", "plain", "secret"])),
                )
                for up in ups
            )
        )
    failing = draw(st.frozensets(st.integers(0, n - 1), max_size=n))
    mode = draw(st.sampled_from(["sequential", "parallel", "executor"]))
    source = draw(st.sampled_from(["report", "json", "history"]))
    return Graph(tuple(edges), failing, mode, draw(st.integers(1, 8)), source)


class Calls:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()


class Step:
    """Return ``name(inputs...)``; raise instead while ``broken``."""

    def __init__(self, task_name: str, calls: Calls, broken: bool) -> None:
        self.task_name = task_name
        self.calls = calls
        self.broken = broken

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        with self.calls.lock:
            self.calls.counts[self.task_name] += 1
        if self.broken:
            raise ValueError(f"{self.task_name} is broken")
        # Keywords by value only: "api_token_0=..." in a result would be masked as a secret.
        inputs = [*map(str, args), *(f"{kwargs[key]}" for key in sorted(kwargs))]
        return f"{self.task_name}({', '.join(inputs)})"


def build(graph: Graph, calls: Calls, *, broken: frozenset[int]) -> list[Task]:
    tasks = []
    for i, edges in enumerate(graph.edges):
        dependencies = [
            TaskDependency(
                name(edge.upstream),
                use_result_as_additional_args=edge.as_args,
                use_result_as_additional_kwargs=bool(edge.kwarg),
                additional_kwarg_name=(
                    f"api_token_{edge.upstream}" if edge.kwarg == "secret" else f"k{edge.upstream}"
                )
                if edge.kwarg
                else "",
            )
            for edge in edges
        ]
        step = Step(name(i), calls, i in broken)
        tasks.append(Task(name(i), step, args=(f"own{i}",), dependencies=dependencies))
    return tasks


def run(graph: Graph, tasks: list[Task], **options: Any) -> ProcessExecutionReport:
    process = Process(tasks, name="resume-property")
    if graph.mode == "sequential":
        return process.run(parallel=False, **options)
    if graph.mode == "parallel":
        return process.run(parallel=True, max_workers=graph.workers, **options)
    with ThreadPoolExecutor(graph.workers) as executor:
        return process.run(executor=executor, max_workers=graph.workers, **options)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_resume_after_a_fix_runs_only_what_did_not_succeed(graph: Graph) -> None:
    clean = run(graph, build(graph, Calls(), broken=frozenset()))
    calls = Calls()
    if graph.source == "history":
        with tempfile.TemporaryDirectory() as folder, RunHistory(Path(folder, "h.db")) as history:
            first = run(graph, build(graph, Calls(), broken=graph.failing), history=history)
            resumed = run(
                graph,
                build(graph, calls, broken=frozenset()),
                resume=first.run_id,
                history=history,
            )
    else:
        first = run(graph, build(graph, Calls(), broken=graph.failing))
        earlier = (
            ProcessExecutionReport.from_json(first.to_json()) if graph.source == "json" else first
        )
        resumed = run(graph, build(graph, calls, broken=frozenset()), resume=earlier)

    # A result some task receives under a secret-looking keyword is hidden in the
    # report: that task cannot be restored from it and runs again.
    hidden = {
        name(edge.upstream) for edges in graph.edges for edge in edges if edge.kwarg == "secret"
    }
    succeeded = set(first.successes)
    reusable = succeeded - hidden
    for i in range(len(graph.edges)):
        task = name(i)
        entry = resumed.entries[task]
        if task in reusable:
            assert calls.counts[task] == 0, task
            assert (entry.reused, entry.attempts, entry.elapsed_seconds) == (True, 0, 0.0)
            assert entry.rerun_reason == ""
        else:
            assert calls.counts[task] == 1, task
            assert (entry.reused, entry.attempts) == (False, 1), task
            if task not in succeeded:
                assert entry.rerun_reason == "", task
            elif graph.source == "history":
                assert entry.rerun_reason.endswith("hidden as a secret"), task
            else:
                assert entry.rerun_reason == HIDDEN_AS_SECRET, task
    assert resumed.ok
    assert list(resumed.entries) == list(clean.entries)
    assert {task: e.result for task, e in resumed.entries.items()} == {
        task: e.result for task, e in clean.entries.items()
    }
    assert all(e.status is TaskStatus.SUCCESS for e in resumed.entries.values())


# -- with run_when -------------------------------------------------------------------------

RULES = ("all_succeeded", "all_done", "any_failed")


@dataclass(frozen=True)
class RuledGraph:
    upstreams: tuple[tuple[int, ...], ...]  # of task i, all < i
    rules: tuple[str, ...]
    failing_first: frozenset[int]
    failing_again: frozenset[int]  # fail in the resumed run (not fixed, or newly broken)
    workers: int  # 1: sequential


@st.composite
def ruled_graphs(draw: st.DrawFn) -> RuledGraph:
    n = draw(st.integers(1, 10))
    upstreams = tuple(
        tuple(sorted(draw(st.sets(st.integers(0, i - 1), max_size=3)))) if i else ()
        for i in range(n)
    )
    rules = tuple(draw(st.lists(st.sampled_from(RULES), min_size=n, max_size=n)))
    failing = st.frozensets(st.integers(0, n - 1), max_size=n)
    return RuledGraph(upstreams, rules, draw(failing), draw(failing), draw(st.integers(1, 4)))


class Recorded:
    """Return ``name(inputs...)``, or raise while broken; record what each call received."""

    def __init__(self, task_name: str, received: dict[str, tuple[Any, ...]], broken: bool):
        self.task_name = task_name
        self.received = received
        self.broken = broken

    def __call__(self, *args: Any) -> str:
        self.received[self.task_name] = args
        if self.broken:
            raise ValueError(f"{self.task_name} is broken")
        return f"{self.task_name}({', '.join(map(str, args))})"


def ruled_tasks(
    graph: RuledGraph, received: dict[str, tuple[Any, ...]], broken: frozenset[int]
) -> list[Task]:
    return [
        Task(
            name(i),
            Recorded(name(i), received, i in broken),
            dependencies=[
                TaskDependency(name(up), use_result_as_additional_args=True) for up in ups
            ],
            run_when=graph.rules[i],
        )
        for i, ups in enumerate(graph.upstreams)
    ]


def starts(rule: str, upstream_failed: bool) -> bool:
    if rule == "all_done":
        return True
    return upstream_failed if rule == "any_failed" else not upstream_failed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ruled_graphs())
def test_resume_follows_each_rule_again_after_an_upstream_task_that_runs_again(
    graph: RuledGraph,
) -> None:
    options: dict[str, Any] = (
        {"parallel": False} if graph.workers == 1 else {"max_workers": graph.workers}
    )
    first = Process(ruled_tasks(graph, {}, graph.failing_first)).run(**options)
    received: dict[str, tuple[Any, ...]] = {}
    resumed = Process(ruled_tasks(graph, received, graph.failing_again)).run(
        resume=first, **options
    )

    # What the resumed run must do, from SPEC §11 and §12 alone: a task with a rule is
    # reused only when all its upstream tasks are; any other only if none fails now.
    reused: list[bool] = []
    status: list[TaskStatus] = []
    for i, ups in enumerate(graph.upstreams):
        task = name(i)
        entry = resumed.entries[task]
        upstream_failed = any(status[up] is not TaskStatus.SUCCESS for up in ups)
        succeeded = first.entries[task].status is TaskStatus.SUCCESS
        if graph.rules[i] == "all_succeeded":
            reuse = succeeded and not upstream_failed
        else:
            reuse = succeeded and all(reused[up] for up in ups)
        reused.append(reuse)
        assert entry.reused is reuse, task
        if reuse:
            status.append(TaskStatus.SUCCESS)
            assert task not in received
            assert entry.rerun_reason == ""
        elif starts(graph.rules[i], upstream_failed):
            status.append(TaskStatus.ERRORED if i in graph.failing_again else TaskStatus.SUCCESS)
            # It ran after its upstream tasks, with their results of this run.
            assert received[task] == tuple(
                resumed.entries[name(up)].result if status[up] is TaskStatus.SUCCESS else None
                for up in ups
            )
            if succeeded:  # it ran again, so an upstream task ran again: named
                again = next(up for up in ups if not reused[up])
                assert entry.rerun_reason.startswith(
                    f"its upstream task {name(again)!r} runs again"
                ), task
            else:
                assert entry.rerun_reason == ""
        else:
            status.append(TaskStatus.SKIPPED)
            assert task not in received
        assert entry.status is status[i], task
