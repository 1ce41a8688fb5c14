"""Fan-out over random chains of mapped tasks and random item failures (SPEC §15),
sequential and on 1-8 workers.

A source lists random keys; a chain of 1-3 mapped tasks maps over it item by item, each
with random retries and ``max_failed``; each item fails a random number of its first
attempts; a plain task collects the last map's results. Every property is checked against
outcomes computed here from the rules alone: each item runs once plus its retries (calls
counted under a lock), statuses and ``max_failed`` exact, results in item order, and a
failed item skipping exactly its own downstream items.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processes import Process, Task, TaskDependency, TaskStatus


@dataclass(frozen=True)
class Case:
    keys: tuple[str, ...]
    #: Per mapped task: its retries, its max_failed, and per key the attempts that fail.
    retries: tuple[int, ...]
    max_failed: tuple[int | float, ...]
    failing: tuple[dict[str, int], ...]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    keys = tuple(draw(st.lists(st.sampled_from("abcdefghijkl"), max_size=10, unique=True)))
    depth = draw(st.integers(1, 3))
    retries = tuple(draw(st.integers(0, 2)) for _ in range(depth))
    limits = st.one_of(st.integers(0, 3), st.sampled_from([0.0, 0.25, 0.5]))
    max_failed = tuple(draw(limits) for _ in range(depth))
    failing = tuple(
        {key: draw(st.integers(0, 3) | st.just(0)) for key in keys} for _ in range(depth)
    )
    return Case(keys, retries, max_failed, failing)


@dataclass
class Expected:
    items: list[dict[str, TaskStatus]]  # per mapped task, key -> status
    calls: Counter[tuple[int, str]]
    mapped: list[TaskStatus]
    results: list[dict[str, str]]


def expected(case: Case) -> Expected:
    items: list[dict[str, TaskStatus]] = []
    calls: Counter[tuple[int, str]] = Counter()
    mapped: list[TaskStatus] = []
    results: list[dict[str, str]] = []
    for level, retries in enumerate(case.retries):
        statuses: dict[str, TaskStatus] = {}
        values: dict[str, str] = {}
        for key in case.keys:
            if level and items[level - 1][key] is not TaskStatus.SUCCESS:
                statuses[key] = TaskStatus.SKIPPED  # only its own downstream item
                continue
            fails = case.failing[level][key]
            calls[level, key] = min(fails, retries) + 1
            if fails > retries:
                statuses[key] = TaskStatus.ERRORED
            else:
                statuses[key] = TaskStatus.SUCCESS
                upstream = results[level - 1][key] if level else key
                values[key] = f"m{level}({upstream})"
        not_ok = sum(status is not TaskStatus.SUCCESS for status in statuses.values())
        limit = case.max_failed[level]
        within = not_ok <= (limit * len(case.keys) if isinstance(limit, float) else limit)
        items.append(statuses)
        mapped.append(TaskStatus.SUCCESS if within else TaskStatus.ERRORED)
        results.append(values)
    return Expected(items, calls, mapped, results)


def build(case: Case, calls: Counter[tuple[int, str]]) -> list[Task]:
    lock = threading.Lock()
    seen: Counter[tuple[int, str]] = Counter()  # attempts so far, for the failures

    def step(level: int) -> Any:
        def call(value: str) -> str:
            key = value if level == 0 else value.split("(")[-1].rstrip(")")
            with lock:
                calls[level, key] += 1
                seen[level, key] += 1
                attempt = seen[level, key]
            if attempt <= case.failing[level][key]:
                raise ConnectionError(f"m{level}[{key}] attempt {attempt} failed")
            return f"m{level}({value})"

        return call

    tasks = [Task("source", lambda: list(case.keys))]
    for level, retries in enumerate(case.retries):
        upstream = "source" if level == 0 else f"m{level - 1}"
        tasks.append(
            Task(
                f"m{level}",
                step(level),
                dependencies=[
                    TaskDependency(upstream, use_result_as_additional_args=True, for_each=True)
                ],
                retries=retries,
                retry_delay=0,
                max_failed=case.max_failed[level],
            )
        )
    last = f"m{len(case.retries) - 1}"
    tasks.append(
        Task(
            "collect",
            lambda results: list(results.items()),
            dependencies=[TaskDependency(last, use_result_as_additional_args=True)],
        )
    )
    return tasks


def check(case: Case, workers: int | None) -> None:
    calls: Counter[tuple[int, str]] = Counter()
    with Process(build(case, calls)) as process:
        if workers is None:
            report = process.run(parallel=False)
        else:
            report = process.run(parallel=True, max_workers=workers)
    want = expected(case)

    assert calls == want.calls  # every item once, plus its retries; skipped ones never
    depth = len(case.retries)
    names = ["source"]
    for level in range(depth):
        names += [f"m{level}", *(f"m{level}[{key}]" for key in case.keys)]
    assert list(report.entries) == [*names, "collect"]
    for level in range(depth):
        mapped = report.entries[f"m{level}"]
        assert mapped.status is want.mapped[level], (level, report.to_text(color=False))
        for key, status in want.items[level].items():
            item = report.entries[f"m{level}[{key}]"]
            assert (item.status, item.mapped_task, item.item_key) == (status, f"m{level}", key)
            if status is not TaskStatus.SKIPPED:
                assert item.attempts == want.calls[level, key]
            else:  # blamed on the failed item upstream of it, with the same key
                root = next(j for j in range(level) if want.items[j][key] is TaskStatus.ERRORED)
                assert item.skip_cause == f"m{root}[{key}]"
        if mapped.status is TaskStatus.SUCCESS:
            assert mapped.result == want.results[level]
            assert list(mapped.result) == [k for k in case.keys if k in want.results[level]]
    collect = report.entries["collect"]
    if want.mapped[-1] is TaskStatus.SUCCESS:
        assert collect.status is TaskStatus.SUCCESS
        assert collect.result == list(want.results[-1].items())  # in item order
    else:
        assert collect.status is TaskStatus.SKIPPED
    item_failed = any(
        status is not TaskStatus.SUCCESS for statuses in want.items for status in statuses.values()
    )
    assert report.ok is (not item_failed and TaskStatus.ERRORED not in want.mapped)


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(cases())
def test_items_sequentially(case: Case) -> None:
    check(case, None)


@PROPERTY
@given(cases(), st.integers(1, 8))
def test_items_on_1_to_8_workers(case: Case, workers: int) -> None:
    check(case, workers)
