"""Process end to end, through the public names only (SPEC §3, §4, §6)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from processes import (
    CircularDependencyError,
    DependencyNotFoundError,
    ErrorData,
    Process,
    ProcessesError,
    ProcessExecutionReport,
    ProcessFailedError,
    Task,
    TaskDependency,
    TaskNotFoundError,
    TaskReportEntry,
    TaskResult,
    TaskStatus,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = pytest.mark.integration

TIMESTAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}"


def noop() -> None:
    return None


def const(value: object) -> Callable[[], object]:
    def func() -> object:
        return value

    return func


def boom(message: str = "boom") -> Callable[..., object]:
    def func(*args: object, **kwargs: object) -> object:
        raise ValueError(message)

    return func


class Recorder:
    """Callables that record their calls (thread-safe) and return a fixed value."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.threads: dict[str, int] = {}

    def __call__(self, name: str, value: object = None) -> Callable[..., object]:
        def func(*args: Any, **kwargs: Any) -> object:
            with self.lock:
                self.calls.append((name, args, kwargs))
                self.threads[name] = threading.get_ident()
            return value if value is not None else f"result of {name}"

        func.__name__ = name
        return func

    def count(self) -> Counter[str]:
        return Counter(name for name, _, _ in self.calls)

    def args_of(self, name: str) -> tuple[Any, ...]:
        return next(args for n, args, _ in self.calls if n == name)

    def kwargs_of(self, name: str) -> dict[str, Any]:
        return next(kwargs for n, _, kwargs in self.calls if n == name)


def statuses(report: ProcessExecutionReport) -> dict[str, TaskStatus]:
    return {name: entry.status for name, entry in report.entries.items()}


def snapshot(process: Process) -> list[tuple[int, str, list[tuple[object, ...]]]]:
    return [
        (
            id(task),
            task.name,
            [
                (
                    d.task_name,
                    d.use_result_as_additional_args,
                    d.use_result_as_additional_kwargs,
                    d.additional_kwarg_name,
                )
                for d in task.dependencies
            ],
        )
        for task in process.tasks
    ]


# -- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tasks",
    [(Task("a", noop),), [Task("a", noop), "b"], [noop], "a", None, {Task("a", noop)}],
)
def test_tasks_must_be_a_list_of_tasks(tasks: object) -> None:
    with pytest.raises(TypeError):
        Process(tasks)  # type: ignore[arg-type]


def test_empty_process_runs_to_an_empty_report() -> None:
    report = Process([]).run()
    assert report.entries == {}
    assert report.ok


def test_duplicate_task_name_message() -> None:
    with pytest.raises(ValueError, match=r"^Duplicate task name: x$"):
        Process([Task("x", noop), Task("y", noop), Task("X", noop)])


def test_unknown_upstream() -> None:
    tasks = [Task("a", noop), Task("b", noop, dependencies=[TaskDependency("nope")])]
    with pytest.raises(DependencyNotFoundError) as excinfo:
        Process(tasks)
    assert (excinfo.value.task_name, excinfo.value.missing_dep) == ("b", "nope")
    assert isinstance(excinfo.value, ProcessesError)


def test_cycle() -> None:
    tasks = [
        Task("a", noop, dependencies=[TaskDependency("c")]),
        Task("b", noop, dependencies=[TaskDependency("a")]),
        Task("c", noop, dependencies=[TaskDependency("b")]),
    ]
    with pytest.raises(CircularDependencyError) as excinfo:
        Process(tasks)
    message = str(excinfo.value)
    assert message.startswith("Circular dependency detected.")
    assert re.search(r"\b([abc]) -> [abc] -> [abc] -> \1\b", message), message


def test_names_are_case_insensitive_everywhere() -> None:
    rec = Recorder()
    tasks = [
        Task("Fetch", rec("fetch", 10)),
        Task(
            "LOAD",
            rec("load"),
            dependencies=[TaskDependency("FETCH", use_result_as_additional_args=True)],
        ),
    ]
    process = Process(tasks)
    assert process.get_task("fEtCh") is tasks[0]
    assert process.get_task("load") is tasks[1]
    assert [t.name for t in process.get_dependant_tasks("FETCH")] == ["load"]
    report = process.run()
    assert list(report.entries) == ["fetch", "load"]
    assert rec.args_of("load") == (10,)
    assert report.entries["load"].dependencies == ("fetch",)


def test_get_task_unknown_name() -> None:
    process = Process([Task("a", noop)])
    with pytest.raises(TaskNotFoundError):
        process.get_task("b")
    with pytest.raises(KeyError):
        process.get_task("b")


def test_get_dependant_tasks_is_transitive() -> None:
    process = Process(
        [
            Task("a", noop),
            Task("b", noop, dependencies=[TaskDependency("a")]),
            Task("c", noop, dependencies=[TaskDependency("b")]),
            Task("d", noop),
            Task("e", noop, dependencies=[TaskDependency("d"), TaskDependency("c")]),
        ]
    )
    assert {t.name for t in process.get_dependant_tasks("a")} == {"b", "c", "e"}
    assert {t.name for t in process.get_dependant_tasks("d")} == {"e"}
    assert process.get_dependant_tasks("e") == []
    assert all(isinstance(t, Task) for t in process.get_dependant_tasks("a"))
    with pytest.raises(TaskNotFoundError):
        process.get_dependant_tasks("zzz")


# -- mutations -------------------------------------------------------------------------------


def test_add_task_and_run() -> None:
    rec = Recorder()
    process = Process([Task("a", rec("a", 1))])
    process.add_task(
        Task("B", rec("b"), dependencies=[TaskDependency("A", use_result_as_additional_args=True)])
    )
    assert [t.name for t in process.tasks] == ["a", "b"]
    assert process.get_task("b").name == "b"
    report = process.run()
    assert statuses(report) == {"a": TaskStatus.SUCCESS, "b": TaskStatus.SUCCESS}
    assert rec.args_of("b") == (1,)


def test_remove_task() -> None:
    process = Process([Task("a", noop), Task("b", noop, dependencies=[TaskDependency("a")])])
    with pytest.raises(ValueError, match="b"):
        process.remove_task("A")
    process.remove_task("B")
    process.remove_task("a")
    assert process.tasks == []
    assert process.run().entries == {}


def test_add_task_dependency_passes_results() -> None:
    rec = Recorder()
    process = Process([Task("b", rec("b")), Task("a", rec("a", 5))])
    process.add_task_dependency(
        "B", TaskDependency("A", use_result_as_additional_kwargs=True, additional_kwarg_name="n")
    )
    assert [t.name for t in process.tasks] == ["a", "b"]
    assert [t.name for t in process.get_dependant_tasks("a")] == ["b"]
    process.run()
    assert rec.kwargs_of("b") == {"n": 5}


def takes_anything(*args: object, **kwargs: object) -> None:
    return None


def _mutable_process() -> Process:
    return Process(
        [
            Task("a", noop),
            Task(
                "b",
                takes_anything,
                dependencies=[TaskDependency("a", use_result_as_additional_args=True)],
            ),
            Task("c", noop, dependencies=[TaskDependency("b")]),
            Task("free", noop),
        ]
    )


INVALID_MUTATIONS: list[tuple[str, Callable[[Process], object], type[Exception]]] = [
    ("add duplicate", lambda p: p.add_task(Task("A", noop)), ValueError),
    ("add not a task", lambda p: p.add_task("d"), TypeError),  # type: ignore[arg-type]
    (
        "add with unknown upstream",
        lambda p: p.add_task(Task("d", noop, dependencies=[TaskDependency("ghost")])),
        DependencyNotFoundError,
    ),
    ("remove depended on", lambda p: p.remove_task("a"), ValueError),
    ("remove depended on (case)", lambda p: p.remove_task("B"), ValueError),
    ("remove unknown", lambda p: p.remove_task("ghost"), TaskNotFoundError),
    (
        "dependency making a cycle",
        lambda p: p.add_task_dependency("a", TaskDependency("c")),
        CircularDependencyError,
    ),
    (
        "dependency on itself",
        lambda p: p.add_task_dependency("a", TaskDependency("A")),
        CircularDependencyError,
    ),
    (
        "duplicate dependency",
        lambda p: p.add_task_dependency("b", TaskDependency("a")),
        ValueError,
    ),
    (
        "dependency on unknown",
        lambda p: p.add_task_dependency("free", TaskDependency("ghost")),
        DependencyNotFoundError,
    ),
    (
        "dependency of unknown",
        lambda p: p.add_task_dependency("ghost", TaskDependency("a")),
        TaskNotFoundError,
    ),
]


@pytest.mark.parametrize(
    ("mutate", "error"),
    [pytest.param(m, e, id=name) for name, m, e in INVALID_MUTATIONS],
)
def test_invalid_mutation_leaves_the_process_as_it_was(
    mutate: Callable[[Process], object], error: type[Exception]
) -> None:
    process = _mutable_process()
    before = snapshot(process)
    dependants_before = {
        t.name: [d.name for d in process.get_dependant_tasks(t.name)] for t in process.tasks
    }
    with pytest.raises(error):
        mutate(process)
    assert snapshot(process) == before
    assert {
        t.name: [d.name for d in process.get_dependant_tasks(t.name)] for t in process.tasks
    } == dependants_before
    with pytest.raises(TaskNotFoundError):
        process.get_task("ghost")
    report = process.run()
    assert list(report.entries) == ["a", "b", "c", "free"]
    assert report.ok


# -- results flow along edges ----------------------------------------------------------------


@pytest.mark.parametrize("parallel", [False, True])
def test_results_as_args_in_dependency_order_after_own_args(parallel: bool) -> None:
    rec = Recorder()
    tasks = [
        Task("one", rec("one", 1)),
        Task("two", rec("two", 2)),
        Task("order_only", rec("order_only", 99)),
        Task(
            "sink",
            rec("sink"),
            args=("own",),
            kwargs={"k": "v"},
            dependencies=[
                TaskDependency("two", use_result_as_additional_args=True),
                TaskDependency("order_only"),
                TaskDependency("one", use_result_as_additional_args=True),
            ],
        ),
    ]
    Process(tasks).run(parallel=parallel, max_workers=3)
    assert rec.args_of("sink") == ("own", 2, 1)
    assert rec.kwargs_of("sink") == {"k": "v"}


@pytest.mark.parametrize("parallel", [False, True])
def test_results_as_kwargs_and_both_flags(parallel: bool) -> None:
    rec = Recorder()
    tasks = [
        Task("one", rec("one", 1)),
        Task("two", rec("two", 2)),
        Task(
            "sink",
            rec("sink"),
            args=("own",),
            kwargs={"k": "v"},
            dependencies=[
                TaskDependency(
                    "one", use_result_as_additional_kwargs=True, additional_kwarg_name="first"
                ),
                TaskDependency(
                    "two",
                    use_result_as_additional_args=True,
                    use_result_as_additional_kwargs=True,
                    additional_kwarg_name="second",
                ),
            ],
        ),
    ]
    task_kwargs_before = dict(tasks[2].kwargs)
    Process(tasks).run(parallel=parallel)
    assert rec.args_of("sink") == ("own", 2)
    assert rec.kwargs_of("sink") == {"k": "v", "first": 1, "second": 2}
    assert tasks[2].kwargs == task_kwargs_before  # the task's own kwargs are not mutated


# -- skipping, at most once ------------------------------------------------------------------


@pytest.mark.parametrize(("parallel", "workers"), [(False, 1), (True, 2), (True, 4)])
def test_cascade_skip_and_downstream_impact(parallel: bool, workers: int) -> None:
    rec = Recorder()
    tasks = [
        Task("extract", boom("source down")),
        Task("clean", rec("clean"), dependencies=[TaskDependency("extract")]),
        Task("load", rec("load"), dependencies=[TaskDependency("clean")]),
        Task("side", rec("side")),
        Task("report", rec("report"), dependencies=[TaskDependency("side")]),
        Task(
            "summary",
            rec("summary"),
            dependencies=[TaskDependency("report"), TaskDependency("load")],
        ),
    ]
    report = Process(tasks).run(parallel=parallel, max_workers=workers)
    assert statuses(report) == {
        "extract": TaskStatus.ERRORED,
        "clean": TaskStatus.SKIPPED,
        "load": TaskStatus.SKIPPED,
        "side": TaskStatus.SUCCESS,
        "report": TaskStatus.SUCCESS,
        "summary": TaskStatus.SKIPPED,
    }
    assert rec.count() == Counter({"side": 1, "report": 1})
    error = report.errored["extract"].error
    assert error is not None
    assert set(error.downstream_impact) == {"clean", "load", "summary"}
    assert list(report.skipped) == ["clean", "load", "summary"]
    assert list(report.successes) == ["side", "report"]
    for name in report.skipped:
        entry = report.entries[name]
        assert entry.attempts == 0
        assert entry.error is None
        assert entry.started_at is None
    assert not report.ok


@pytest.mark.parametrize(("parallel", "workers"), [(False, 1), (True, 2), (True, 8)])
def test_each_task_runs_once_in_a_diamond_lattice(parallel: bool, workers: int) -> None:
    rec = Recorder()
    layers = [[f"l{layer}_{i}" for i in range(4)] for layer in range(5)]
    tasks = []
    for depth, layer in enumerate(layers):
        for name in layer:
            deps = [TaskDependency(up) for up in layers[depth - 1]] if depth else []
            tasks.append(Task(name, rec(name), dependencies=deps))
    report = Process(tasks).run(parallel=parallel, max_workers=workers)
    assert report.ok
    assert rec.count() == Counter({name: 1 for layer in layers for name in layer})
    assert all(entry.attempts == 1 for entry in report.entries.values())


# -- parallel or not -------------------------------------------------------------------------


def _threads_used(n_tasks: int, **run_options: Any) -> set[int]:
    rec = Recorder()
    tasks = [Task(f"t{i}", rec(f"t{i}")) for i in range(n_tasks)]
    report = Process(tasks).run(**run_options)
    assert report.ok
    return set(rec.threads.values())


def test_parallel_none_is_sequential_below_ten_tasks() -> None:
    assert _threads_used(9) == {threading.get_ident()}


def test_parallel_none_is_parallel_from_ten_tasks() -> None:
    assert threading.get_ident() not in _threads_used(10)


@pytest.mark.parametrize("workers", [1, 0, -3])
def test_max_workers_at_most_one_is_sequential(workers: int) -> None:
    assert _threads_used(12, parallel=True, max_workers=workers) == {threading.get_ident()}


def test_parallel_true_uses_worker_threads() -> None:
    assert threading.get_ident() not in _threads_used(3, parallel=True, max_workers=2)


def test_parallel_false_runs_in_topological_order_in_the_calling_thread() -> None:
    rec = Recorder()
    tasks = [
        Task("c", rec("c"), dependencies=[TaskDependency("b")]),
        Task("b", rec("b"), dependencies=[TaskDependency("a")]),
        Task("a", rec("a")),
        Task("z", rec("z")),
    ]
    Process(tasks).run(parallel=False)
    assert [name for name, _, _ in rec.calls] == ["a", "b", "c", "z"]


def test_parallel_run_really_overlaps_tasks() -> None:
    barrier = threading.Barrier(3, timeout=30)

    def meet() -> int:
        return barrier.wait()

    tasks = [Task(f"t{i}", meet) for i in range(3)]
    report = Process(tasks).run(parallel=True, max_workers=3)
    assert report.ok, report.errored
    assert sorted(e.result for e in report.entries.values()) == [0, 1, 2]


# -- repeated runs ---------------------------------------------------------------------------


def test_repeated_runs_give_fresh_reports() -> None:
    calls: list[int] = []

    def counter() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("first run fails")
        return len(calls)

    process = Process(
        [Task("count", counter), Task("next", noop, dependencies=[TaskDependency("count")])]
    )
    first = process.run()
    second = process.run()
    third = process.run(parallel=True, max_workers=2)
    assert first is not second
    assert statuses(first) == {"count": TaskStatus.ERRORED, "next": TaskStatus.SKIPPED}
    assert statuses(second) == {"count": TaskStatus.SUCCESS, "next": TaskStatus.SUCCESS}
    assert second.entries["count"].result == 2
    assert third.entries["count"].result == 3
    assert first.entries["count"].result is None  # the first report was not touched
    assert second.entries["count"].attempts == 1
    assert second.entries["count"].attempt_errors == ()
    assert len(calls) == 3


# -- the report ------------------------------------------------------------------------------


def test_report_fields() -> None:
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError(f"attempt {len(attempts)} refused")
        return "finally"

    class CustomError(Exception):
        pass

    def custom() -> None:
        raise CustomError("custom failure")

    tasks = [
        Task("flaky", flaky, retries=3),
        Task("ok", const(7), dependencies=[TaskDependency("flaky")]),
        Task("bad", custom),
        Task("builtin", boom("plain")),
        Task("after", noop, dependencies=[TaskDependency("bad"), TaskDependency("ok")]),
    ]
    before = time.time()
    report = Process(tasks, name="nightly").run(parallel=False)
    after = time.time()

    assert report.process_name == "nightly"
    assert list(report.entries) == ["flaky", "ok", "bad", "builtin", "after"]
    assert report.ok is False
    assert report.started_at is not None
    assert report.finished_at is not None
    for moment in (report.started_at, report.finished_at):
        assert moment.utcoffset() == timedelta(0)
        assert before - 1 <= moment.timestamp() <= after + 1
    assert report.elapsed_seconds == pytest.approx(
        (report.finished_at - report.started_at).total_seconds()
    )
    assert report.elapsed_seconds >= 0

    for name in ("flaky", "ok", "bad", "builtin"):
        entry = report.entries[name]
        assert isinstance(entry, TaskReportEntry)
        assert entry.name == name
        assert entry.started_at is not None
        assert entry.finished_at is not None
        assert entry.started_at.utcoffset() == timedelta(0)
        assert entry.finished_at.utcoffset() == timedelta(0)
        assert report.started_at <= entry.started_at <= entry.finished_at <= report.finished_at
        assert entry.elapsed_seconds >= 0

    flaky_entry = report.entries["flaky"]
    assert flaky_entry.status is TaskStatus.SUCCESS
    assert flaky_entry.result == "finally"
    assert flaky_entry.attempts == 3
    assert len(flaky_entry.attempt_errors) == 2
    assert "attempt 1 refused" in flaky_entry.attempt_errors[0]
    assert "attempt 2 refused" in flaky_entry.attempt_errors[1]
    assert flaky_entry.error is None

    assert report.entries["ok"].dependencies == ("flaky",)
    assert report.entries["after"].dependencies == ("bad", "ok")
    assert report.entries["after"].status is TaskStatus.SKIPPED

    bad = report.entries["bad"]
    assert bad.status is TaskStatus.ERRORED
    assert bad.attempts == 1
    assert bad.error is not None
    assert bad.error.exception_type.rsplit(".", 1)[-1] == "CustomError"
    assert "custom failure" in bad.error.exception
    assert len(bad.attempt_errors) == 1
    assert "custom failure" in bad.attempt_errors[0]
    assert bad.error.downstream_impact == ["after"]
    builtin = report.entries["builtin"].error
    assert builtin is not None
    assert builtin.exception_type.rsplit(".", 1)[-1] == "ValueError"
    assert builtin.downstream_impact == []

    assert set(report.successes) == {"flaky", "ok"}
    assert set(report.errored) == {"bad", "builtin"}
    assert set(report.skipped) == {"after"}


def test_ok_report() -> None:
    report = Process([Task("a", noop), Task("b", noop)]).run()
    assert report.ok
    assert report.raise_for_errors() is report
    assert report.errored == {}
    assert report.skipped == {}


class SelfRef:
    def __repr__(self) -> str:
        return "<SelfRef>"


def _exotic_values() -> dict[str, object]:
    loop: list[object] = [1, 2]
    loop.append(loop)
    nested: dict[str, object] = {"k": [1, {"inner": set()}]}
    nested["self"] = nested
    return {
        "object": object(),
        "set": {3, 1, 2},
        "bytes": b"\x00\xffraw",
        "nan": float("nan"),
        "inf": float("-inf"),
        "loop": loop,
        "tuple_keys": {(1, 2): "pair", (3,): "single"},
        "int_keys": {1: "one"},
        "nested": nested,
        "custom": SelfRef(),
        "type": int,
        "complex": 1 + 2j,
    }


def test_to_json_never_raises_on_exotic_values() -> None:
    values = _exotic_values()
    tasks = [Task(name, const(value)) for name, value in values.items()]
    tasks.append(
        Task(
            "failing",
            boom("exotic"),
            args=(values["set"], values["loop"]),
            kwargs={"blob": values["bytes"], "nan": values["nan"]},
        )
    )
    report = Process(tasks).run(parallel=False)
    text = report.to_json()

    def refuse(constant: str) -> object:
        raise AssertionError(f"non-standard JSON constant {constant}")

    data = json.loads(text, parse_constant=refuse)
    results = {name: data["entries"][name]["result"] for name in values}
    assert results["bytes"] == repr(b"\x00\xffraw")
    assert results["set"] == repr({1, 2, 3})
    assert "object" in results["object"]
    assert results["custom"] == "<SelfRef>"
    assert "nan" in str(results["nan"]).lower()
    assert "inf" in str(results["inf"]).lower()
    assert "pair" in json.dumps(results["tuple_keys"])
    assert "(1, 2)" in json.dumps(results["tuple_keys"])
    assert results["loop"][:2] == [1, 2]
    failing = data["entries"]["failing"]
    assert failing["status"] == "errored"
    assert "exotic" in failing["error"]["exception"]
    assert json.loads(report.to_json(indent=2, sort_keys=True)) == data


def test_from_json_round_trips_a_json_native_report() -> None:
    attempts: list[int] = []

    def flaky() -> dict[str, object]:
        attempts.append(1)
        if len(attempts) == 1:
            raise TimeoutError("slow upstream")
        return {"rows": [1, 2, 3], "ok": True, "ratio": 0.25, "none": None}

    tasks = [
        Task("flaky", flaky, retries=1, kwargs={"mode": "full", "limit": 10}),
        Task("text", const("é ünïcode ✓")),
        Task(
            "uses",
            const([1, "two", 3.5]),
            args=("own", 1),
            dependencies=[TaskDependency("flaky", use_result_as_additional_args=True)],
        ),
        Task("fails", boom("broken row"), args=(1, "x"), kwargs={"k": [1, 2]}),
        Task("skipped", noop, dependencies=[TaskDependency("fails")]),
    ]
    report = Process(tasks, name="round trip").run(parallel=True, max_workers=2)
    assert report.entries["fails"].error is not None
    assert report.entries["flaky"].attempt_errors
    restored = ProcessExecutionReport.from_json(report.to_json())
    assert restored == report
    assert restored.to_json() == report.to_json()
    assert list(restored.entries) == list(report.entries)
    assert restored.started_at == report.started_at
    assert restored.elapsed_seconds == report.elapsed_seconds
    assert ProcessExecutionReport.from_json(report.to_json(indent=2)) == report


def test_raise_for_errors_names_every_failed_task_and_chains() -> None:
    originals: dict[str, Exception] = {}

    def failing(name: str) -> Callable[[], None]:
        def func() -> None:
            originals[name] = ValueError(f"{name} exploded")
            raise originals[name]

        return func

    tasks = [
        Task("extract_orders", failing("extract_orders")),
        Task("load_users", failing("load_users")),
        Task("healthy_task", noop),
        Task("downstream", noop, dependencies=[TaskDependency("load_users")]),
    ]
    report = Process(tasks).run(parallel=False)
    with pytest.raises(ProcessFailedError) as excinfo:
        report.raise_for_errors()
    message = str(excinfo.value)
    assert "extract_orders" in message
    assert "load_users" in message
    assert "healthy_task" not in message
    assert excinfo.value.__cause__ is not None
    assert any(excinfo.value.__cause__ is exc for exc in originals.values())
    assert isinstance(excinfo.value, ProcessesError)
    assert message.startswith("2 tasks failed in the process:")
    assert "(1 skipped because of them: downstream)" in message


def test_raise_for_errors_speaks_of_one_failure_in_the_singular() -> None:
    def boom() -> None:
        raise ValueError("boom")

    tasks = [Task("a", boom), Task("b", noop, dependencies=[TaskDependency("a")])]
    with pytest.raises(ProcessFailedError) as excinfo:
        Process(tasks, name="nightly").run(parallel=False).raise_for_errors()
    message = str(excinfo.value)
    assert message.startswith("1 task failed in nightly:")
    assert "(1 skipped because of it: b)" in message


# -- timeouts and executors ------------------------------------------------------------------


def test_parallel_timeout_abandons_the_attempt_and_frees_its_worker() -> None:
    release = threading.Event()
    rec = Recorder()

    def stuck() -> str:
        release.wait(120)
        return "too late"

    # Both workers are taken by stuck tasks first; the quick ones can only run once the
    # stuck attempts have been abandoned and their places given back.
    tasks = [Task("stuck1", stuck, timeout=0.5), Task("stuck2", stuck, timeout=0.5)]
    tasks += [Task(f"quick{i}", rec(f"quick{i}")) for i in range(6)]
    tasks.append(
        Task("last", rec("last"), dependencies=[TaskDependency(f"quick{i}") for i in range(6)])
    )
    started = time.monotonic()
    try:
        report = Process(tasks).run(parallel=True, max_workers=2)
    finally:
        release.set()
    assert time.monotonic() - started < 60
    for name in ("stuck1", "stuck2"):
        entry = report.entries[name]
        assert entry.status is TaskStatus.ERRORED
        assert entry.error is not None
        assert "timed out" in entry.error.exception
        assert entry.error.exception_type.rsplit(".", 1)[-1] == "TimeoutError"
    assert set(report.successes) == {f"quick{i}" for i in range(6)} | {"last"}
    assert rec.count()["last"] == 1


def test_executor_runs_the_tasks_and_stays_usable() -> None:
    rec = Recorder()
    tasks = [Task(f"t{i}", rec(f"t{i}", i)) for i in range(5)]
    tasks.append(
        Task(
            "sum",
            lambda *xs: sum(xs),
            dependencies=[
                TaskDependency(f"t{i}", use_result_as_additional_args=True) for i in range(5)
            ],
        )
    )
    with ThreadPoolExecutor(2, thread_name_prefix="users-pool") as executor:
        report = Process(tasks).run(executor=executor)
        assert report.ok
        assert report.entries["sum"].result == 10
        assert threading.get_ident() not in set(rec.threads.values())
        assert executor.submit(lambda: 42).result(timeout=30) == 42
        again = Process(tasks).run(executor=executor, max_workers=2)
        assert again.ok


@pytest.mark.parametrize("parallel", [False, True])
def test_fail_fast_stops_new_starts(parallel: bool) -> None:
    release = threading.Event()
    rec = Recorder()

    def hold() -> None:
        release.wait(120)

    tasks = [Task("fails", boom("first failure"))]
    if parallel:
        # Keeps the second worker busy so that "later" can only start after "fails" ended.
        tasks.append(Task("hold", hold, timeout=0.5))
    tasks += [Task("later", rec("later")), Task("later2", rec("later2"))]
    try:
        report = Process(tasks).run(parallel=parallel, max_workers=2, fail_fast=True)
    finally:
        release.set()
    assert report.entries["fails"].status is TaskStatus.ERRORED
    assert report.entries["later"].status is TaskStatus.SKIPPED
    assert report.entries["later2"].status is TaskStatus.SKIPPED
    assert rec.count() == Counter()


def test_without_fail_fast_independent_tasks_still_run() -> None:
    rec = Recorder()
    tasks = [Task("fails", boom()), Task("later", rec("later"))]
    report = Process(tasks).run(parallel=False)
    assert report.entries["later"].status is TaskStatus.SUCCESS
    assert rec.count() == Counter({"later": 1})


# -- log files -------------------------------------------------------------------------------


def test_single_successful_attempt_writes_exactly_two_lines(tmp_path: Path) -> None:
    log = tmp_path / "fetch.log"
    with Process([Task("Fetch", const(1), log)]) as process:
        process.run()
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert re.fullmatch(rf"{TIMESTAMP} - fetch - INFO - Starting fetch\.", lines[0]), lines
    assert re.fullmatch(rf"{TIMESTAMP} - fetch - INFO - Finished fetch\.", lines[1]), lines


def test_log_path_may_be_a_str_in_a_new_folder(tmp_path: Path) -> None:
    log = tmp_path / "deep" / "er" / "t.log"
    with Process([Task("t", noop, str(log))]) as process:
        process.run()
    assert len(log.read_text(encoding="utf-8").splitlines()) == 2


def test_retried_attempt_writes_a_warning(tmp_path: Path) -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("reset by peer")
        return "ok"

    log = tmp_path / "flaky.log"
    with Process([Task("flaky", flaky, log, retries=2)]) as process:
        process.run()
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    assert re.fullmatch(
        rf"{TIMESTAMP} - flaky - WARNING - Attempt 1/3 failed: .*reset by peer.*\. Retrying\.\.\.",
        lines[1],
    ), lines
    assert lines[2].endswith(" - flaky - INFO - Finished flaky.")


def test_failure_writes_an_error_with_its_context(tmp_path: Path) -> None:
    def transform(rows: list[int], *, factor: int) -> None:
        scaled = [r * factor for r in rows]
        raise ValueError(f"negative row in {scaled}")

    log = tmp_path / "transform.log"
    tasks = [
        Task("transform", transform, log, args=([1, -2],), kwargs={"factor": 3}),
        Task("load", noop, dependencies=[TaskDependency("transform")]),
        Task("publish", noop, dependencies=[TaskDependency("load")]),
    ]
    with Process(tasks) as process:
        process.run()
    text = log.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert re.fullmatch(rf"{TIMESTAMP} - transform - INFO - Starting transform\.", lines[0])
    error_lines = [i for i, line in enumerate(lines) if " - transform - ERROR - " in line]
    assert len(error_lines) == 1
    assert re.match(rf"{TIMESTAMP} - transform - ERROR - ", lines[error_lines[0]])
    after = "\n".join(lines[error_lines[0] :])
    assert "negative row in [3, -6]" in after
    assert "transform" in after.split("ERROR", 1)[1]  # function label
    assert "[1, -2]" in after  # args
    assert "'factor': 3" in after  # kwargs
    assert "load" in after
    assert "publish" in after  # downstream impact
    assert "scaled" in after
    assert "[3, -6]" in after  # traced variable and its value
    assert re.search(r"test_process\.py:\d+", after)  # its location
    assert "Traceback (most recent call last)" in after
    assert "Finished" not in text


def test_tasks_sharing_a_file_never_interleave_mid_line(tmp_path: Path) -> None:
    log = tmp_path / "shared.log"
    n_tasks, n_lines = 8, 150
    tasks: list[Task] = []

    def make(i: int) -> Callable[[], int]:
        attempts: list[int] = []

        def func() -> int:
            attempts.append(1)
            logger = tasks[i].logger
            for line in range(n_lines):
                logger.info("task %d line %d %s", i, line, "x" * (i * 37 % 200))
            if len(attempts) == 1:
                raise ConnectionError(f"flaky {i}")
            return i

        return func

    tasks.extend(Task(f"t{i}", make(i), log, retries=1) for i in range(n_tasks))
    with Process(tasks) as process:
        report = process.run(parallel=True, max_workers=4)
    assert report.ok
    line_re = re.compile(
        rf"{TIMESTAMP} - (t\d) - (?:"
        r"INFO - Starting \1\.|INFO - Finished \1\.|"
        r"WARNING - Attempt 1/2 failed: .*flaky \d.*\. Retrying\.\.\.|"
        r"INFO - task (\d) line \d+ x*)"
    )
    per_task: Counter[str] = Counter()
    for line in log.read_text(encoding="utf-8").splitlines():
        match = line_re.fullmatch(line)
        assert match, f"interleaved or malformed line: {line!r}"
        if match.group(2) is not None:
            assert f"t{match.group(2)}" == match.group(1)
        per_task[match.group(1)] += 1
    assert per_task == Counter({f"t{i}": 2 + 1 + 2 * n_lines for i in range(n_tasks)})


def _open_fds_to(paths: list[Path]) -> list[str]:
    wanted = {os.path.realpath(p) for p in paths}
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target in wanted:
            found.append(target)
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_with_block_and_close_loggers_close_the_files(tmp_path: Path) -> None:
    logs = [tmp_path / f"t{i}.log" for i in range(3)]
    seen_open: list[list[str]] = []

    def look() -> None:
        seen_open.append(_open_fds_to(logs))

    tasks = [Task(f"t{i}", look, logs[i]) for i in range(3)]
    with Process(tasks) as process:
        process.run(parallel=False)
        process.run(parallel=True, max_workers=3)
    assert _open_fds_to(logs) == []
    assert any(seen_open)  # the file of the running task was open while it ran
    process2 = Process([Task("t0", noop, logs[0])])
    process2.run()
    process2.close_loggers()
    assert _open_fds_to(logs) == []
    process2.run()  # still usable after close_loggers: the file reopens
    process2.close_loggers()
    assert len(logs[0].read_text(encoding="utf-8").splitlines()) == 2 * 2 + 2 * 2
    assert _open_fds_to(logs) == []


def test_building_many_tasks_does_not_grow_the_logging_registry(tmp_path: Path) -> None:
    registry = logging.Logger.manager.loggerDict
    before = set(registry)
    tasks = [Task(f"task_{i}", noop, tmp_path / "many.log") for i in range(1000)]
    for task in tasks[:100]:
        assert isinstance(task.logger, logging.Logger)
    with Process(tasks, name="many") as process:
        report = process.run(parallel=False)
    assert report.ok
    added = set(registry) - before
    assert not {name for name in added if "task_" in name}, sorted(added)[:5]
    assert len(added) < 10  # a module imported on first use may add its own logger


def test_task_logger_receives_records_during_a_process_run() -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    task = Task("watched", noop)
    task.logger.addHandler(Keep())
    Process([task, Task("other", noop)]).run(parallel=True, max_workers=2)
    assert records == ["Starting watched.", "Finished watched."]


# -- the model -------------------------------------------------------------------------------


def test_task_status_values() -> None:
    assert {s.name: s.value for s in TaskStatus} == {
        "PENDING": "pending",
        "SUCCESS": "success",
        "ERRORED": "errored",
        "SKIPPED": "skipped",
    }


def test_task_result_defaults_and_worked() -> None:
    ok = TaskResult(TaskStatus.SUCCESS, 1, None)
    assert (ok.error_data, ok.elapsed_seconds, ok.attempts) == (None, 0.0, 0)
    assert ok.worked
    assert not TaskResult(TaskStatus.ERRORED, None, ValueError()).worked
    assert not TaskResult(TaskStatus.SKIPPED, None, None).worked


def test_error_data_is_frozen_and_positional_with_exception_type_last() -> None:
    error = ErrorData("t", "f", (1,), {"k": 2}, ("down",), "ValueError: x", "tb", {"v": "1"}, "f:1")
    assert error.exception_type == ""
    assert ErrorData(*astuple_fields(error), "ValueError").exception_type == "ValueError"
    with pytest.raises(dataclasses.FrozenInstanceError):
        error.exception = "changed"  # type: ignore[misc]


def astuple_fields(error: ErrorData) -> tuple[object, ...]:
    return (
        error.task_name,
        error.function,
        error.args,
        error.kwargs,
        error.downstream_impact,
        error.exception,
        error.traceback_str,
        error.traced_vars,
        error.traced_vars_location,
    )


def test_report_entry_is_frozen_with_new_fields_defaulted() -> None:
    entry = TaskReportEntry("t", "f", (), {}, TaskStatus.SUCCESS, 0.5, 1)
    assert (entry.result, entry.error, entry.started_at, entry.finished_at) == (
        None,
        None,
        None,
        None,
    )
    assert entry.dependencies == ()
    assert entry.attempt_errors == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.status = TaskStatus.ERRORED  # type: ignore[misc]


def test_empty_report_defaults() -> None:
    report = ProcessExecutionReport()
    assert report.entries == {}
    assert report.process_name == ""
    assert report.ok
    assert report.elapsed_seconds == 0.0
    assert ProcessExecutionReport.from_json(report.to_json()) == report
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.process_name = "x"  # type: ignore[misc]


def test_to_json_holds_every_field() -> None:
    tasks = [Task("bad", boom("why"), args=(1,), kwargs={"k": 2}), Task("ok", const(3))]
    report = Process(tasks, name="fields").run()
    data = json.loads(report.to_json())
    assert data["process_name"] == "fields"
    for key in ("started_at", "finished_at", "elapsed_seconds"):
        assert data[key] is not None, key
    entry_fields = {f.name for f in dataclasses.fields(TaskReportEntry)}
    error_fields = {f.name for f in dataclasses.fields(ErrorData) if f.compare}
    for name, entry in data["entries"].items():
        assert entry_fields <= set(entry), name
    assert error_fields <= set(data["entries"]["bad"]["error"])
    assert data["entries"]["bad"]["error"]["exception_type"].endswith("ValueError")
    assert data["entries"]["bad"]["status"] == "errored"
    assert data["entries"]["ok"]["result"] == 3


def test_parallel_run_never_exceeds_max_workers() -> None:
    lock = threading.Lock()
    active = [0, 0]  # now, most
    barrier = threading.Barrier(2, timeout=30)

    def work() -> None:
        with lock:
            active[0] += 1
            active[1] = max(active[1], active[0])
        barrier.wait()  # two at a time meet here: concurrency really reaches 2
        with lock:
            active[0] -= 1

    report = Process([Task(f"t{i}", work) for i in range(8)]).run(parallel=True, max_workers=2)
    assert report.ok, report.errored
    assert active[1] == 2


def test_a_task_appended_to_process_tasks_is_validated_and_run() -> None:
    process = Process([Task("a", noop)])
    process.tasks.append(Task("b", noop, dependencies=[TaskDependency("a")]))
    report = process.run(parallel=False)
    assert list(report.entries) == ["a", "b"]
    assert process.get_task("B").name == "b"
    process.tasks.append(Task("c", noop, dependencies=[TaskDependency("ghost")]))
    with pytest.raises(DependencyNotFoundError):
        process.run(parallel=False)


def test_get_task_sees_process_tasks_edited_in_place() -> None:
    a, b = Task("a", noop), Task("b", noop)
    process = Process([a, b])
    process.tasks.remove(a)
    with pytest.raises(TaskNotFoundError):
        process.get_task("a")
    assert process.get_task("b") is b
    process.tasks.insert(0, Task("c", noop))
    assert process.get_task("C").name == "c"
    assert [t.name for t in process.get_dependant_tasks("b")] == []


def test_lookups_and_removal_see_dependencies_added_on_the_task_itself() -> None:
    a, b = Task("a", noop), Task("b", noop)
    process = Process([a, b])
    b.add_dependency(TaskDependency("a"))
    assert process.get_dependant_tasks("a") == [b]
    with pytest.raises(ValueError, match="depend"):
        process.remove_task("a")


def test_dependants_are_looked_up_in_an_edited_process_tasks() -> None:
    a = Task("a", noop)
    b = Task("b", takes_anything, dependencies=[TaskDependency("a", True)])
    process = Process([a, b, Task("c", noop)])
    process.tasks[1] = Task("x", noop)
    assert process.get_dependant_tasks("a") == []
    assert [t.name for t in process.tasks] == ["a", "x", "c"]


def test_get_task_in_an_edited_invalid_process_is_still_a_lookup() -> None:
    process = Process([Task("a", noop)])
    process.tasks.append(Task("b", noop, dependencies=[TaskDependency("ghost")]))
    assert process.get_task("b").name == "b"
    with pytest.raises(TaskNotFoundError):
        process.get_task("zzz")
