"""Properties of runs over random DAGs with failing and flaky tasks (SPEC §2, §3, §6).

Sequential, parallel with 1-8 workers and on a caller's executor: a task starts only
after its upstream tasks finished, runs at most once plus its retries, is skipped exactly
when it depends (transitively) on an errored task, gets its upstream results, and the
report lists the entries in a topological order.
"""

from __future__ import annotations

import heapq
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processes import Process, ProcessExecutionReport, Task, TaskDependency, TaskStatus


@dataclass(frozen=True)
class Dep:
    upstream: int
    as_args: bool
    as_kwargs: bool
    upper_case: bool  # refer to the upstream by an upper-cased name


@dataclass(frozen=True)
class Spec:
    deps: tuple[Dep, ...]
    behaviour: str  # "ok", "fail" (ValueError, never retried), "flaky" (ConnectionError)
    failures: int  # how many times a flaky task fails before it succeeds
    retries: int


@dataclass(frozen=True)
class Scenario:
    specs: tuple[Spec, ...]
    given_order: tuple[int, ...]
    mode: str  # "sequential", "parallel", "executor"
    workers: int


def name(i: int) -> str:
    return f"t{i}"


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    n = draw(st.integers(min_value=1, max_value=12))
    specs = []
    for i in range(n):
        ups = draw(st.lists(st.integers(0, i - 1), max_size=min(3, i), unique=True)) if i else []
        deps = tuple(
            Dep(u, draw(st.booleans()), draw(st.booleans()), draw(st.booleans())) for u in ups
        )
        behaviour = draw(st.sampled_from(["ok", "ok", "ok", "fail", "flaky"]))
        failures = draw(st.integers(1, 3)) if behaviour == "flaky" else 0
        retries = draw(st.integers(0, 3))
        specs.append(Spec(deps, behaviour, failures, retries))
    given_order = tuple(draw(st.one_of(st.just(list(range(n))), st.permutations(range(n)))))
    mode = draw(st.sampled_from(["sequential", "parallel", "parallel", "executor"]))
    workers = draw(st.integers(1, 8))
    return Scenario(tuple(specs), given_order, mode, workers)


class Journal:
    """What the task functions saw, in the order it happened across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []  # ("start" | "finish", name)
        self.calls: Counter[str] = Counter()
        self.received: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = defaultdict(list)
        self.active = 0
        self.max_active = 0


class Probe:
    """A task function that records its calls and fails as its spec says."""

    def __init__(self, journal: Journal, task_name: str, spec: Spec) -> None:
        self.journal = journal
        self.task_name = task_name
        self.spec = spec

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        journal = self.journal
        with journal.lock:
            journal.events.append(("start", self.task_name))
            journal.active += 1
            journal.max_active = max(journal.max_active, journal.active)
            journal.calls[self.task_name] += 1
            call = journal.calls[self.task_name]
            journal.received[self.task_name].append((args, dict(kwargs)))
        try:
            if self.spec.behaviour == "fail":
                raise ValueError(f"{self.task_name} fails")
            if self.spec.behaviour == "flaky" and call <= self.spec.failures:
                raise ConnectionError(f"{self.task_name} attempt {call} refused")
            return f"r-{self.task_name}"
        finally:
            with journal.lock:
                journal.events.append(("finish", self.task_name))
                journal.active -= 1


def build(scenario: Scenario, journal: Journal) -> list[Task]:
    tasks = []
    for i in scenario.given_order:
        spec = scenario.specs[i]
        dependencies = [
            TaskDependency(
                name(d.upstream).upper() if d.upper_case else name(d.upstream),
                use_result_as_additional_args=d.as_args,
                use_result_as_additional_kwargs=d.as_kwargs,
                additional_kwarg_name=f"k_{name(d.upstream)}" if d.as_kwargs else "",
            )
            for d in spec.deps
        ]
        tasks.append(
            Task(
                name(i),
                Probe(journal, name(i), spec),
                args=(f"own-{name(i)}",),
                dependencies=dependencies,
                retries=spec.retries,
            )
        )
    return tasks


def expected_outcomes(specs: tuple[Spec, ...]) -> dict[str, tuple[TaskStatus, int]]:
    """The status and number of attempts of every task; generation order is topological."""
    outcome: dict[str, tuple[TaskStatus, int]] = {}
    for i, spec in enumerate(specs):
        if any(outcome[name(d.upstream)][0] is not TaskStatus.SUCCESS for d in spec.deps):
            outcome[name(i)] = (TaskStatus.SKIPPED, 0)
        elif spec.behaviour == "ok":
            outcome[name(i)] = (TaskStatus.SUCCESS, 1)
        elif spec.behaviour == "fail":
            outcome[name(i)] = (TaskStatus.ERRORED, 1)
        elif spec.failures <= spec.retries:
            outcome[name(i)] = (TaskStatus.SUCCESS, spec.failures + 1)
        else:
            outcome[name(i)] = (TaskStatus.ERRORED, spec.retries + 1)
    return outcome


def transitive_dependants(upstreams: dict[str, list[str]], roots: set[str]) -> set[str]:
    children: dict[str, list[str]] = defaultdict(list)
    for task, ups in upstreams.items():
        for up in ups:
            children[up].append(task)
    seen: set[str] = set()
    stack = [child for root in roots for child in children[root]]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(children[node])
    return seen


def run(scenario: Scenario, tasks: list[Task]) -> ProcessExecutionReport:
    process = Process(tasks, name="property")
    if scenario.mode == "sequential":
        return process.run(parallel=False)
    if scenario.mode == "parallel":
        return process.run(parallel=True, max_workers=scenario.workers)
    with ThreadPoolExecutor(scenario.workers) as executor:
        return process.run(executor=executor, max_workers=scenario.workers)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_runs_over_random_graphs(scenario: Scenario) -> None:
    journal = Journal()
    report = run(scenario, build(scenario, journal))
    specs = scenario.specs
    n = len(specs)
    upstreams = {name(i): [name(d.upstream) for d in spec.deps] for i, spec in enumerate(specs)}

    # Entries: every task once, in a topological order; the given order when it is one.
    order = list(report.entries)
    assert sorted(order) == sorted(name(i) for i in range(n))
    position = {task: p for p, task in enumerate(order)}
    for task, ups in upstreams.items():
        for up in ups:
            assert position[up] < position[task], (up, task, order)
    given = [name(i) for i in scenario.given_order]
    given_position = {task: p for p, task in enumerate(given)}
    if all(given_position[up] < given_position[t] for t, ups in upstreams.items() for up in ups):
        assert order == given

    # Never more attempts at once than workers.
    limit = 1 if scenario.mode == "sequential" else scenario.workers
    assert journal.max_active <= limit

    # Statuses and attempts follow from the graph and the behaviours alone.
    expected = expected_outcomes(specs)
    assert {t: e.status for t, e in report.entries.items()} == {
        t: status for t, (status, _) in expected.items()
    }
    for task, (status, attempts) in expected.items():
        entry = report.entries[task]
        assert journal.calls[task] == attempts, task
        assert entry.attempts == attempts, task
        failed_attempts = attempts - 1 if status is TaskStatus.SUCCESS else attempts
        assert len(entry.attempt_errors) == failed_attempts, task
        assert entry.dependencies == tuple(upstreams[task])

    # Skipped is exactly the transitive dependants of the errored tasks.
    errored = set(report.errored)
    assert set(report.skipped) == transitive_dependants(upstreams, errored)
    for task in errored:
        error = report.entries[task].error
        assert error is not None
        assert set(error.downstream_impact) == transitive_dependants(upstreams, {task})

    # A task starts only after each of its upstream tasks finished (every attempt).
    last_finish: dict[str, int] = {}
    first_start: dict[str, int] = {}
    for index, (kind, task) in enumerate(journal.events):
        if kind == "finish":
            last_finish[task] = index
        else:
            first_start.setdefault(task, index)
    for task, start in first_start.items():
        for up in upstreams[task]:
            assert up in last_finish, (up, task)
            assert last_finish[up] < start, (up, task, journal.events)

    # Results flow along the edges, into args (in dependency order) and kwargs.
    for i, spec in enumerate(specs):
        task = name(i)
        upstream_results = [f"r-{name(d.upstream)}" for d in spec.deps if d.as_args]
        expected_args = (f"own-{task}", *upstream_results)
        expected_kwargs = {
            f"k_{name(d.upstream)}": f"r-{name(d.upstream)}" for d in spec.deps if d.as_kwargs
        }
        for args, kwargs in journal.received[task]:
            assert args == expected_args, task
            assert kwargs == expected_kwargs, task
        entry = report.entries[task]
        if entry.status is TaskStatus.SUCCESS:
            assert entry.result == f"r-{task}"
        else:
            assert entry.result is None


@st.composite
def dags(draw: st.DrawFn) -> tuple[dict[str, list[str]], list[str]]:
    n = draw(st.integers(min_value=0, max_value=25))
    upstreams = {
        name(i): [
            name(u) for u in draw(st.lists(st.integers(0, i - 1), max_size=min(3, i), unique=True))
        ]
        if i
        else []
        for i in range(n)
    }
    given = [name(i) for i in draw(st.permutations(range(n)))]
    return upstreams, given


def kahn_by_given_position(upstreams: dict[str, list[str]], given: list[str]) -> list[str]:
    position = {task: p for p, task in enumerate(given)}
    waiting = {task: len(upstreams[task]) for task in given}
    children: dict[str, list[str]] = defaultdict(list)
    for task in given:
        for up in upstreams[task]:
            children[up].append(task)
    ready = [position[t] for t in given if waiting[t] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        task = given[heapq.heappop(ready)]
        order.append(task)
        for child in children[task]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, position[child])
    return order


@settings(max_examples=200, deadline=None)
@given(dags())
def test_process_order_is_topological_and_keeps_given_order_among_ties(
    dag: tuple[dict[str, list[str]], list[str]],
) -> None:
    upstreams, given = dag
    tasks = [Task(t, len, dependencies=[TaskDependency(up) for up in upstreams[t]]) for t in given]
    process = Process(tasks)
    order = [t.name for t in process.tasks]
    position = {t: p for p, t in enumerate(order)}
    assert sorted(order) == sorted(given)
    for task, ups in upstreams.items():
        for up in ups:
            assert position[up] < position[task]
    # Among the tasks ready at any point, the one given first comes first.
    assert order == kahn_by_given_position(upstreams, given)
    for task in given:
        dependants = {t.name for t in process.get_dependant_tasks(task)}
        assert dependants == transitive_dependants(upstreams, {task})
