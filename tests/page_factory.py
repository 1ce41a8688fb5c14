"""Build reports straight from the report model, for the HTML, Mermaid and file tests.

No process runs here: timestamps, dependencies, retries and failures are chosen, so the
tests know exactly what the page must show.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from processes import ErrorData, ProcessExecutionReport, TaskReportEntry, TaskStatus

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def error_for(name: str, message: str, impact: tuple[str, ...] = ()) -> ErrorData:
    return ErrorData(
        task_name=name,
        function=f"jobs.{name}",
        args=(1,),
        kwargs={},
        downstream_impact=impact,
        exception=f"ValueError: {message}",
        traceback_str=(
            "Traceback (most recent call last):\n"
            f'  File "jobs.py", line 12, in {name}\n'
            f"    raise ValueError({message!r})\n"
            f"ValueError: {message}\n"
        ),
        traced_vars={"row": "{'id': 7}", "limit": "10"},
        traced_vars_location="jobs.py:12",
        exception_type="ValueError",
    )


def entry(
    name: str,
    status: TaskStatus = TaskStatus.SUCCESS,
    *,
    start: float | None = 0.0,
    seconds: float = 1.0,
    dependencies: tuple[str, ...] = (),
    attempts: int | None = None,
    attempt_errors: tuple[str, ...] = (),
    error: ErrorData | None = None,
) -> TaskReportEntry:
    """Return an entry that ran from ``T0 + start`` for ``seconds`` (never ran if skipped)."""
    ran = status in (TaskStatus.SUCCESS, TaskStatus.ERRORED) and start is not None
    started = T0 + timedelta(seconds=start) if ran and start is not None else None
    finished = started + timedelta(seconds=seconds) if started else None
    if status is TaskStatus.ERRORED and error is None:
        error = error_for(name, f"{name} broke")
    return TaskReportEntry(
        name=name,
        function=f"jobs.{name}",
        args=(),
        kwargs={},
        status=status,
        elapsed_seconds=seconds if ran else 0.0,
        attempts=(1 if ran else 0) if attempts is None else attempts,
        result=42 if status is TaskStatus.SUCCESS else None,
        error=error,
        started_at=started,
        finished_at=finished,
        dependencies=dependencies,
        attempt_errors=attempt_errors,
    )


def report_of(*entries: TaskReportEntry, name: str = "nightly") -> ProcessExecutionReport:
    ends = [e.finished_at for e in entries if e.finished_at]
    return ProcessExecutionReport(
        entries={e.name: e for e in entries},
        process_name=name,
        started_at=T0,
        finished_at=max(ends, default=T0),
    )


def small_report() -> ProcessExecutionReport:
    """extract -> (clean, fetch) -> load -> publish; fetch fails after retries."""
    return report_of(
        entry("extract", start=0, seconds=2),
        entry("clean", start=2.5, seconds=1, dependencies=("extract",)),
        entry(
            "fetch",
            TaskStatus.ERRORED,
            start=2,
            seconds=3,
            dependencies=("extract",),
            attempts=3,
            attempt_errors=("ConnectionError: reset", "ConnectionError: reset", "boom"),
            error=error_for("fetch", "boom", impact=("load", "publish")),
        ),
        entry("load", TaskStatus.SKIPPED, dependencies=("clean", "fetch")),
        entry("publish", TaskStatus.SKIPPED, dependencies=("load",)),
        entry("audit", start=0.5, seconds=0.2, attempts=2, attempt_errors=("TimeoutError",)),
    )


def big_report(
    size: int, *, failures: int, seed: int = 7, fan_in: int = 3, layers: int = 8
) -> ProcessExecutionReport:
    """A layered DAG of ``size`` tasks; ``failures`` of them error and skip their dependants.

    Deterministic for a given seed. Every task depends on up to ``fan_in`` tasks of earlier
    layers; start times follow the layering, with jitter so the order is not the names'.
    """
    rng = random.Random(seed)
    names = [f"task_{i:05d}" for i in range(size)]
    layer_of = {name: min(layers - 1, i * layers // size) for i, name in enumerate(names)}
    by_layer: dict[int, list[str]] = {}
    for name in names:
        by_layer.setdefault(layer_of[name], []).append(name)
    failing = set(rng.sample(names[: size * 3 // 4], failures))
    status: dict[str, TaskStatus] = {}
    impact: dict[str, list[str]] = {name: [] for name in names}
    roots: dict[str, set[str]] = {}  # the errored tasks that a skipped task is blocked by
    entries: list[TaskReportEntry] = []
    for name in names:
        layer = layer_of[name]
        earlier = [n for lay in range(max(0, layer - 2), layer) for n in by_layer[lay]]
        deps = tuple(sorted(rng.sample(earlier, min(fan_in, len(earlier))))) if earlier else ()
        blocked = [d for d in deps if status[d] is not TaskStatus.SUCCESS]
        start = layer * 10 + rng.random() * 8
        if blocked:
            status[name] = TaskStatus.SKIPPED
            roots[name] = {r for d in blocked for r in roots[d]}
            for root in roots[name]:
                impact[root].append(name)
            entries.append(entry(name, TaskStatus.SKIPPED, dependencies=deps))
        elif name in failing:
            status[name] = TaskStatus.ERRORED
            roots[name] = {name}
            entries.append(
                entry(
                    name,
                    TaskStatus.ERRORED,
                    start=start,
                    seconds=1.5,
                    dependencies=deps,
                    attempts=2,
                    attempt_errors=("ConnectionError: reset", f"ValueError: {name} broke"),
                )
            )
        else:
            status[name] = TaskStatus.SUCCESS
            entries.append(entry(name, start=start, seconds=rng.random() * 2, dependencies=deps))
    final = [
        replace(e, error=error_for(e.name, f"{e.name} broke", tuple(impact[e.name])))
        if e.status is TaskStatus.ERRORED
        else e
        for e in entries
    ]
    return report_of(*final, name="big-run")
