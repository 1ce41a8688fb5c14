"""The ledger with mapped tasks (SPEC §15): items spawned, run, summed up; no thread.

The test plays the driver, as in ``test_ledger``: it asks what to start, runs nothing,
and tells the ledger how each attempt went.
"""

from __future__ import annotations

from typing import Any

import pytest

from processes import StopReason, Task, TaskDependency, TaskStatus
from processes.attempt import AttemptOutcome
from processes.capture import stand_in_failure
from processes.execution import Ledger
from processes.graph import TaskGraph
from processes.outcome import SkipReason
from processes.task import utcnow
from processes.tasklog import LogFiles


def _noop(*args: Any, **kwargs: Any) -> int:
    return 1


def _ledger(tasks: list[Task], **options: Any) -> Ledger:
    graph = TaskGraph({task.name: [dep.task_name for dep in task.dependencies] for task in tasks})
    by_name = {task.name: task for task in tasks}
    return Ledger([by_name[name] for name in graph.order], graph, LogFiles(), "unit", **options)


def _ok(value: Any = 1) -> AttemptOutcome:
    return AttemptOutcome(value, None, False, 0.0)


def _failed(retryable: bool = False) -> AttemptOutcome:
    return AttemptOutcome(None, stand_in_failure(ValueError, "bad row"), retryable, 0.0)


def _each(name: str) -> TaskDependency:
    return TaskDependency(name, use_result_as_additional_args=True, for_each=True)


def _whole(name: str) -> TaskDependency:
    return TaskDependency(name, use_result_as_additional_args=True)


def _pipeline(items: Any, **mapped: Any) -> Ledger:
    """files -> load (for each file, with the prefix whole) -> total; and an unrelated task."""
    return _ledger(
        [
            Task("files", _noop),
            Task("prefix", _noop),
            Task("load", _noop, dependencies=[_each("files"), _whole("prefix")], **mapped),
            Task("total", _noop, dependencies=[_whole("load")]),
        ]
    )


def _drive(
    ledger: Ledger, outcomes: dict[str, AttemptOutcome]
) -> list[tuple[str, tuple[Any, ...]]]:
    """Run every start the ledger gives, each succeeding with its name unless ``outcomes``
    says otherwise; return (entry name, args) in the order they started."""
    started = []
    while (i := ledger.next_start(0.0)) >= 0:
        life = ledger.start(i)
        if life is None:
            continue
        name = ledger._entries.name(i)
        started.append((name, life.args))
        ledger.settle(i, outcomes.get(name, _ok(name.upper())), 0.0)
    return started


def _begin(ledger: Ledger, files: Any) -> None:
    """files and prefix succeed: files with ``files``."""
    for value in (files, ">"):
        i = ledger.next_start(0.0)
        ledger.start(i)
        ledger.settle(i, _ok(value), 0.0)


def test_items_run_with_their_item_the_other_results_whole_and_are_summed_up() -> None:
    ledger = _pipeline(None)
    _begin(ledger, ["b.csv", "a.csv", 7])
    started = _drive(ledger, {})
    assert started == [
        ("load[b.csv]", ("b.csv", ">")),
        ("load[a.csv]", ("a.csv", ">")),
        ("load[7]", (7, ">")),
        ("total", ({"b.csv": "LOAD[B.CSV]", "a.csv": "LOAD[A.CSV]", "7": "LOAD[7]"},)),
    ]
    report = ledger.report(utcnow())
    assert list(report.entries) == [
        "files",
        "prefix",
        "load",
        "load[b.csv]",
        "load[a.csv]",
        "load[7]",
        "total",
    ]
    load = report.entries["load"]
    assert load.status is TaskStatus.SUCCESS
    assert list(load.result) == ["b.csv", "a.csv", "7"]  # item order, not key order
    item = report.entries["load[a.csv]"]
    assert (item.mapped_task, item.item_key, item.args) == ("load", "a.csv", ("a.csv", ">"))
    assert item.dependencies == ("files", "prefix")
    assert report.ok


def test_the_result_is_in_item_order_whatever_order_the_items_ended_in() -> None:
    ledger = _pipeline(None)
    _begin(ledger, ["x", "y", "z"])
    assert ledger.start(ledger.next_start(0.0)) is None  # load: its items spawned
    positions = [ledger.next_start(0.0) for _ in range(3)]
    for i in positions:
        assert ledger.start(i) is not None
    for i, value in zip(reversed(positions), (3, 2, 1), strict=True):
        ledger.settle(i, _ok(value), 0.0)
    assert ledger.results[2] == {"x": 1, "y": 2, "z": 3}
    assert list(ledger.results[2]) == ["x", "y", "z"]


def test_a_dependant_waits_for_every_item() -> None:
    ledger = _pipeline(None)
    _begin(ledger, ["x", "y"])
    ledger.start(ledger.next_start(0.0))
    first, second = ledger.next_start(0.0), ledger.next_start(0.0)
    ledger.start(first)
    ledger.start(second)
    ledger.settle(first, _ok(), 0.0)
    assert ledger.next_start(0.0) == -1  # total waits for the second item
    ledger.settle(second, _ok(), 0.0)
    assert ledger.tasks[ledger.next_start(0.0)].name == "total"


@pytest.mark.parametrize(
    ("max_failed", "failures", "status"),
    [
        (0, 0, TaskStatus.SUCCESS),
        (0, 1, TaskStatus.ERRORED),
        (2, 2, TaskStatus.SUCCESS),
        (2, 3, TaskStatus.ERRORED),
        (0.5, 2, TaskStatus.SUCCESS),  # 2 <= 0.5 * 4
        (0.5, 3, TaskStatus.ERRORED),
        (0.25, 1, TaskStatus.SUCCESS),
        (0.2, 1, TaskStatus.ERRORED),  # 1 > 0.2 * 4
        (1.0, 4, TaskStatus.SUCCESS),
    ],
)
def test_max_failed_as_a_count_and_as_a_fraction(
    max_failed: float, failures: int, status: TaskStatus
) -> None:
    ledger = _pipeline(None, max_failed=max_failed)
    _begin(ledger, ["a", "b", "c", "d"])
    failing = ["load[d]", "load[b]", "load[a]", "load[c]"][:failures]
    started = _drive(ledger, dict.fromkeys(failing, _failed()))
    report = ledger.report(utcnow())
    load = report.entries["load"]
    assert load.status is status
    assert len(report.errored) == failures + (status is TaskStatus.ERRORED)
    if status is TaskStatus.SUCCESS:
        assert list(load.result) == [k for k in "abcd" if f"load[{k}]" not in failing]
        assert started[-1][0] == "total"
        assert report.ok is (failures == 0)  # an errored item fails the run's ok
    else:
        assert load.result is None
        assert load.error is not None
        assert load.error.exception_type == "RuntimeError"
        names = ", ".join(sorted(k[5] for k in failing))
        assert f"{failures} of 4 items did not succeed" in load.error.exception
        assert load.error.exception.endswith(names)
        assert load.error.downstream_impact == ["total"]
        assert report.skipped["total"].skip_cause == "load"


def test_a_duplicate_key_fails_the_mapped_task_naming_the_key_and_both_positions() -> None:
    ledger = _pipeline(None)
    _begin(ledger, ["a", "b", "a", "c"])
    started = _drive(ledger, {})
    assert started == []  # no item ran, total skipped
    report = ledger.report(utcnow())
    error = report.errored["load"].error
    assert error is not None
    assert error.headline == (
        "ValueError: duplicate item key 'a': the items at positions 0 and 2 have it; "
        "give the task an item_key that tells them apart"
    )
    assert report.skipped["total"].skip_reason is SkipReason.UPSTREAM_FAILED


def test_item_key_names_the_items_and_the_default_uses_positions_for_other_values() -> None:
    ledger = _pipeline(None, item_key=lambda row: row["id"])
    _begin(ledger, [{"id": "r1"}, {"id": "r2"}])
    _drive(ledger, {})
    assert [n for n in ledger.report(utcnow()).entries if "[" in n] == ["load[r1]", "load[r2]"]
    ledger = _pipeline(None)
    _begin(ledger, [{"id": "r1"}, 2.5, ("t",)])
    _drive(ledger, {})
    assert list(ledger.results[2]) == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (42, "TypeError: the result of 'files' is not iterable (int)"),
        (None, "TypeError: the result of 'files' is not iterable (NoneType)"),
    ],
)
def test_a_result_that_is_not_iterable_fails_the_mapped_task(source: Any, message: str) -> None:
    ledger = _pipeline(None)
    _begin(ledger, source)
    _drive(ledger, {})
    error = ledger.report(utcnow()).errored["load"].error
    assert error is not None
    assert error.headline.startswith(message)


def test_an_iteration_that_raises_fails_the_mapped_task_saying_so() -> None:
    def rows() -> Any:
        yield "a"
        raise OSError("disk gone")

    ledger = _pipeline(None)
    _begin(ledger, rows())
    _drive(ledger, {})
    report = ledger.report(utcnow())
    error = report.errored["load"].error
    assert error is not None
    assert error.headline == (
        "RuntimeError: iterating over the result of 'files' raised OSError: disk gone"
    )
    assert "load[a]" not in report.entries


def test_an_empty_iterable_succeeds_with_an_empty_dict() -> None:
    ledger = _pipeline(None)
    _begin(ledger, iter(()))
    assert _drive(ledger, {}) == [("total", ({},))]
    report = ledger.report(utcnow())
    assert report.entries["load"].result == {}
    assert report.ok


def test_an_item_retries_on_the_agenda_like_a_task() -> None:
    ledger = _pipeline(None, retries=1, retry_on=(ValueError,), retry_delay=5.0)
    _begin(ledger, ["a", "b"])
    ledger.start(ledger.next_start(0.0))
    a = ledger.next_start(0.0)
    ledger.start(a)
    ledger.settle(a, _failed(retryable=True), 0.0)
    b = ledger.next_start(0.0)
    assert b == a + 1  # the ready item goes while a's retry waits
    ledger.start(b)
    ledger.settle(b, _ok(), 0.0)
    assert ledger.next_start(4.0) == -1
    assert ledger.next_start(5.0) == a
    ledger.start(a)
    ledger.settle(a, _ok("again"), 5.0)
    report = ledger.report(utcnow())
    assert report.entries["load[a]"].attempts == 2
    assert report.entries["load[a]"].attempt_errors == ("ValueError: bad row",)
    assert report.entries["load"].result == {"a": "again", "b": 1}


def test_fail_fast_skips_the_items_not_started_and_sums_them_up() -> None:
    tasks = [
        Task("files", _noop),
        Task("load", _noop, dependencies=[_each("files")]),
    ]
    ledger = _ledger(tasks, fail_fast=True)
    i = ledger.next_start(0.0)
    ledger.start(i)
    ledger.settle(i, _ok(["a", "b", "c"]), 0.0)
    ledger.start(ledger.next_start(0.0))
    a = ledger.next_start(0.0)
    ledger.start(a)
    ledger.settle(a, _failed(), 0.0)
    assert ledger.stopped_by is StopReason.FAIL_FAST
    assert _drive(ledger, {}) == []
    report = ledger.report(utcnow())
    assert report.entries["load[b]"].skip_reason is SkipReason.FAIL_FAST
    assert report.entries["load"].status is TaskStatus.ERRORED
    assert "3 of 3 items did not succeed" in report.entries["load"].error.exception  # type: ignore[union-attr]


def test_an_interrupted_run_reports_every_item_and_the_mapped_task() -> None:
    ledger = _pipeline(None)
    _begin(ledger, ["a", "b", "c"])
    ledger.start(ledger.next_start(0.0))
    a = ledger.next_start(0.0)
    ledger.start(a)
    ledger.settle(a, _ok(), 0.0)
    b = ledger.next_start(0.0)
    ledger.start(b)  # running when Ctrl-C comes
    stop = ledger.halted(KeyboardInterrupt(), utcnow(), running={b: None})
    report = stop.report  # type: ignore[attr-defined]
    assert report.entries["load[a]"].status is TaskStatus.SUCCESS
    assert report.entries["load[b]"].status is TaskStatus.ERRORED
    assert report.entries["load[c]"].skip_reason is SkipReason.INTERRUPTED
    assert report.entries["load"].status is TaskStatus.ERRORED
    assert report.entries["total"].status is TaskStatus.SKIPPED
    assert list(report.entries).index("load[c]") == list(report.entries).index("load") + 3


def test_results_for_the_history_follow_the_report_order() -> None:
    ledger = _pipeline(None)
    _begin(ledger, ["a", "b"])
    _drive(ledger, {})
    report = ledger.report(utcnow())
    ordered = ledger.report_results()
    assert len(ordered) == len(report.entries)
    assert dict(zip(report.entries, ordered, strict=True))["load[b]"] == "LOAD[B]"


def _chained(**transform: Any) -> Ledger:
    """files -> load (each file) -> transform (each of load's items, suffix whole) -> total."""
    return _ledger(
        [
            Task("files", _noop),
            Task("load", _noop, dependencies=[_each("files")], max_failed=1),
            Task("suffix", _noop),
            Task(
                "transform",
                _noop,
                dependencies=[_each("load"), _whole("suffix")],
                **transform,
            ),
            Task("total", _noop, dependencies=[_whole("transform")]),
        ]
    )


def _run_named(ledger: Ledger, name: str, outcome: AttemptOutcome) -> None:
    """Run ``name``, next in line among the ready (those before it are put back)."""
    passed = []
    while ledger._entries.name(i := ledger.next_start(0.0)) != name:
        assert i >= 0, f"{name} is not ready"
        passed.append(i)
    for other in passed:
        ledger.put_back(other)
    assert ledger.start(i) is not None, name
    ledger.settle(i, outcome, 0.0)


def test_a_map_over_a_mapped_task_goes_item_by_item_keeping_the_keys() -> None:
    ledger = _chained()
    _run_named(ledger, "files", _ok(["a", "b"]))
    _run_named(ledger, "suffix", _ok("!"))
    assert ledger.start(ledger.next_start(0.0)) is None  # load spawns its items
    ready = [ledger.next_start(0.0) for _ in range(2)]
    assert [ledger._entries.name(i) for i in ready] == ["load[a]", "load[b]"]
    assert ledger.next_start(0.0) == -1  # transform's items wait, each for its own
    for i in ready:
        ledger.put_back(i)
    _run_named(ledger, "load[a]", _ok("A"))
    load_b = ledger.next_start(0.0)
    assert ledger._entries.name(load_b) == "load[b]"
    i = ledger.next_start(0.0)
    assert ledger._entries.name(i) == "transform[a]"  # while load[b] has not even started
    ledger.put_back(load_b)
    life = ledger.start(i)
    assert life is not None
    assert life.args == ("A", "!")
    ledger.settle(i, _ok("A!"), 0.0)
    _run_named(ledger, "load[b]", _ok("B"))
    started = _drive(ledger, {})
    assert started[0] == ("transform[b]", ("B", "!"))
    report = ledger.report(utcnow())
    assert report.entries["transform"].result == {"a": "A!", "b": "TRANSFORM[B]"}
    assert report.entries["transform"].args == ({"a": "A", "b": "B"}, "!")
    assert report.entries["total"].status is TaskStatus.SUCCESS
    names = list(report.entries)
    assert names.index("transform[a]") == names.index("transform") + 1


def test_a_failed_item_skips_only_its_own_downstream_item() -> None:
    ledger = _chained(max_failed=1)
    _run_named(ledger, "files", _ok(["a", "b", "c"]))
    _run_named(ledger, "suffix", _ok("!"))
    started = _drive(ledger, {"load[b]": _failed()})
    assert [name for name, _ in started] == [
        "load[a]",
        "load[b]",
        "load[c]",
        "transform[a]",
        "transform[c]",
        "total",
    ]
    report = ledger.report(utcnow())
    skipped = report.entries["transform[b]"]
    assert skipped.skip_reason is SkipReason.UPSTREAM_FAILED
    assert skipped.skip_cause == "load[b]"
    assert report.entries["load"].status is TaskStatus.SUCCESS  # within its max_failed
    assert report.entries["transform"].result == {"a": "TRANSFORM[A]", "c": "TRANSFORM[C]"}


def test_items_map_over_the_items_whatever_the_upstream_task_sums_up_to() -> None:
    ledger = _chained(max_failed=2)
    _run_named(ledger, "files", _ok(["a", "b", "c"]))
    _run_named(ledger, "suffix", _ok("!"))
    _drive(ledger, {"load[a]": _failed(), "load[b]": _failed()})
    report = ledger.report(utcnow())
    assert report.entries["load"].status is TaskStatus.ERRORED  # 2 > max_failed=1
    assert report.entries["transform[c]"].status is TaskStatus.SUCCESS
    assert report.entries["transform"].status is TaskStatus.SUCCESS  # 2 skipped <= 2
    assert report.entries["total"].status is TaskStatus.SUCCESS


def test_an_other_upstream_failure_skips_every_item_mapped_item_by_item() -> None:
    ledger = _chained()
    _run_named(ledger, "files", _ok(["a", "b"]))
    assert ledger.start(ledger.next_start(0.0)) is None  # load spawns (and transform's)
    _run_named(ledger, "suffix", _failed())
    _drive(ledger, {})
    report = ledger.report(utcnow())
    for key in "ab":
        entry = report.entries[f"transform[{key}]"]
        assert entry.skip_reason is SkipReason.UPSTREAM_FAILED
        assert entry.skip_cause == "suffix"
    assert report.entries["transform"].status is TaskStatus.ERRORED
    assert report.entries["total"].status is TaskStatus.SKIPPED


def test_a_map_over_an_empty_or_failed_mapped_task() -> None:
    ledger = _chained()
    _run_named(ledger, "files", _ok([]))
    _drive(ledger, {})
    report = ledger.report(utcnow())
    assert report.entries["transform"].result == {}
    assert report.ok
    ledger = _chained()
    _run_named(ledger, "files", _ok(5))
    _drive(ledger, {})
    report = ledger.report(utcnow())
    assert report.entries["transform"].skip_cause == "load"
