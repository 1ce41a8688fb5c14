"""``run_when`` over random graphs, failures and rules, on both loops (SPEC §11).

Every property checks the run against outcomes computed here, from the rules alone:
which tasks run, what they receive, which are skipped and why, and which failure each
skipped task is blamed on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processes import Process, SkipReason, Task, TaskDependency, TaskStatus

RULES = ("all_succeeded", "all_done", "any_failed")
ANY_RULE = st.sampled_from(RULES)


@dataclass(frozen=True)
class Case:
    upstreams: tuple[tuple[int, ...], ...]  # of task i, all < i: the given order is topological
    fails: tuple[bool, ...]
    rules: tuple[str, ...]


@st.composite
def cases(draw: st.DrawFn, rules: st.SearchStrategy[str] = ANY_RULE) -> Case:
    count = draw(st.integers(1, 12))
    upstreams = tuple(
        tuple(sorted(draw(st.sets(st.integers(0, i - 1), max_size=3)))) if i else ()
        for i in range(count)
    )
    fails = tuple(draw(st.lists(st.booleans(), min_size=count, max_size=count)))
    chosen = tuple(draw(st.lists(rules, min_size=count, max_size=count)))
    return Case(upstreams, fails, chosen)


@dataclass
class Expected:
    status: list[TaskStatus]
    received: dict[int, tuple[Any, ...]]  # what each task that ran was called with
    reason: dict[int, SkipReason]
    roots: dict[int, set[int]]  # of each skipped task: the failures it is skipped for


def expected(case: Case) -> Expected:
    """The outcome of the run, from the rules of SPEC §11 alone."""
    status: list[TaskStatus] = []
    received: dict[int, tuple[Any, ...]] = {}
    reason: dict[int, SkipReason] = {}
    roots: dict[int, set[int]] = {}
    for i, ups in enumerate(case.upstreams):
        upstream_failed = any(status[up] is not TaskStatus.SUCCESS for up in ups)
        rule = case.rules[i]
        if rule == "all_done":
            runs = True
        elif rule == "any_failed":
            runs = upstream_failed
        else:
            runs = not upstream_failed
        if runs:
            status.append(TaskStatus.ERRORED if case.fails[i] else TaskStatus.SUCCESS)
            received[i] = tuple(
                f"t{up}" if status[up] is TaskStatus.SUCCESS else None for up in ups
            )
            continue
        status.append(TaskStatus.SKIPPED)
        mine: set[int] = set()
        for up in ups:
            if status[up] is TaskStatus.ERRORED:
                mine.add(up)
            elif status[up] is TaskStatus.SKIPPED:
                mine |= roots[up]
        if rule == "all_succeeded" and mine:
            reason[i], roots[i] = SkipReason.UPSTREAM_FAILED, mine
        else:  # nothing failed: an any_failed condition, here or further up
            reason[i], roots[i] = SkipReason.CONDITION_NOT_MET, set()
    return Expected(status, received, reason, roots)


def build(case: Case, calls: dict[str, tuple[Any, ...]]) -> list[Task]:
    def function(name: str, fails: bool) -> Any:
        def call(*args: Any) -> str:
            calls[name] = args
            if fails:
                raise ValueError(f"{name} failed")
            return name

        return call

    return [
        Task(
            f"t{i}",
            function(f"t{i}", case.fails[i]),
            dependencies=[
                TaskDependency(f"t{up}", use_result_as_additional_args=True) for up in ups
            ],
            run_when=case.rules[i],
        )
        for i, ups in enumerate(case.upstreams)
    ]


def check(case: Case, workers: int) -> None:
    calls: dict[str, tuple[Any, ...]] = {}
    with Process(build(case, calls)) as process:
        report = process.run(parallel=workers > 1, max_workers=workers)
    want = expected(case)

    assert [entry.status for entry in report.entries.values()] == want.status
    assert calls == {f"t{i}": args for i, args in want.received.items()}
    assert report.stopped_by is None
    for i, status in enumerate(want.status):
        entry = report.entries[f"t{i}"]
        if status is TaskStatus.SKIPPED:
            assert entry.skip_reason is want.reason[i]
            # The root failure named is the earliest of them in topological order.
            root = f"t{min(want.roots[i])}" if want.roots[i] else ""
            assert entry.skip_cause == root
        else:
            assert entry.skip_reason is None
            assert entry.skip_cause == ""
        if status is TaskStatus.ERRORED:
            assert entry.error is not None
            blamed = [f"t{j}" for j, roots in sorted(want.roots.items()) if i in roots]
            assert entry.error.downstream_impact == blamed
    # ``skipped`` and the failures' impacts agree: every task skipped because of a
    # failure is listed by it, and a task with a rule that ran is in neither.
    listed = {
        name for e in report.errored.values() if e.error for name in e.error.downstream_impact
    }
    assert listed == {
        name for name, e in report.skipped.items() if e.skip_reason is SkipReason.UPSTREAM_FAILED
    }


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(case=cases())
def test_a_sequential_run_follows_the_rules(case: Case) -> None:
    check(case, workers=1)


@PROPERTY
@given(case=cases(), workers=st.integers(2, 8))
def test_a_parallel_run_follows_the_rules(case: Case, workers: int) -> None:
    check(case, workers)


@PROPERTY
@given(case=cases(rules=st.just("all_succeeded")), workers=st.integers(1, 8))
def test_without_rules_a_failure_skips_exactly_its_transitive_dependants(
    case: Case, workers: int
) -> None:
    # v7's behaviour, unchanged when no task sets run_when.
    with Process(build(case, {})) as process:
        report = process.run(parallel=workers > 1, max_workers=workers)
        dependants = {
            name: {task.name for task in process.get_dependant_tasks(name)}
            for name in report.errored
        }

    skipped = set().union(*dependants.values()) if dependants else set()
    assert set(report.skipped) == skipped
    for name, entry in report.errored.items():
        assert entry.error is not None
        assert set(entry.error.downstream_impact) == dependants[name]
    for entry in report.skipped.values():
        assert entry.skip_reason is SkipReason.UPSTREAM_FAILED
        assert entry.skip_cause in report.errored
