"""The engine's ledger alone: decisions without threads, signals or a clock.

The test plays the driver: it asks what to start, runs nothing, and tells the ledger
how each attempt went, at times it chooses.
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
from processes.termination import Terminating


def _noop(*args: Any) -> int:
    return 1


def _ledger(tasks: list[Task], **options: Any) -> Ledger:
    graph = TaskGraph({task.name: [dep.task_name for dep in task.dependencies] for task in tasks})
    by_name = {task.name: task for task in tasks}
    ordered = [by_name[name] for name in graph.order]
    return Ledger(ordered, graph, LogFiles(), "unit", **options)


def _ok(value: Any = 1) -> AttemptOutcome:
    return AttemptOutcome(value, None, False, 0.0)


def _failed(retryable: bool = True) -> AttemptOutcome:
    return AttemptOutcome(None, stand_in_failure(ConnectionError, "refused"), retryable, 0.0)


def _after(name: str, *, passes: bool = True) -> list[TaskDependency]:
    return [TaskDependency(name, use_result_as_additional_args=passes)]


def test_tasks_become_ready_only_when_every_upstream_task_finished() -> None:
    ledger = _ledger(
        [
            Task("a", _noop),
            Task("b", _noop),
            Task(
                "c",
                _noop,
                dependencies=[TaskDependency("a"), TaskDependency("b")],
            ),
        ]
    )
    assert ledger.next_start(0.0) == 0
    assert ledger.next_start(0.0) == 1
    assert ledger.next_start(0.0) == -1  # c waits for both
    ledger.start(0)
    ledger.settle(0, _ok(), 0.0)
    assert ledger.next_start(0.0) == -1  # still waits for b
    ledger.start(1)
    ledger.settle(1, _ok(), 0.0)
    assert ledger.next_start(0.0) == 2


def test_an_attempt_receives_the_upstream_results_it_asked_for() -> None:
    ledger = _ledger([Task("a", _noop), Task("b", _noop, args=(5,), dependencies=_after("a"))])
    ledger.start(ledger.next_start(0.0))
    ledger.settle(0, _ok("rows"), 0.0)
    life = ledger.start(ledger.next_start(0.0))
    assert life is not None
    assert life.args == (5, "rows")


def test_a_retry_is_due_on_the_drivers_clock_and_comes_before_ready_tasks() -> None:
    ledger = _ledger([Task("flaky", _noop, retries=1, retry_delay=10.0), Task("other", _noop)])
    assert ledger.next_start(0.0) == 0
    ledger.start(0)
    ledger.settle(0, _failed(), now=5.0)
    assert ledger.next_retry_at() == 15.0
    assert ledger.next_start(14.9) == 1  # the retry is not due yet: the ready task goes
    ledger.put_back(1)
    assert ledger.next_start(15.0) == 0  # due now: it goes first
    life = ledger.start(0)
    assert life is not None
    assert life.attempts == 1
    ledger.settle(0, _ok(), 15.0)
    entry = ledger.entries[0]
    assert entry is not None
    assert entry.status is TaskStatus.SUCCESS
    assert entry.attempts == 2
    assert entry.attempt_errors == ("ConnectionError: refused",)


def test_a_failure_skips_exactly_its_dependants_and_names_them() -> None:
    ledger = _ledger(
        [
            Task("extract", _noop),
            Task("load", _noop, dependencies=_after("extract")),
            Task("report", _noop, dependencies=_after("load")),
            Task("alone", _noop),
        ]
    )
    i = ledger.next_start(0.0)
    ledger.start(i)
    ledger.settle(i, _failed(retryable=False), 0.0)
    started = []
    while (i := ledger.next_start(0.0)) >= 0:
        if ledger.start(i) is not None:
            started.append(ledger.tasks[i].name)
            ledger.settle(i, _ok(), 0.0)
    assert started == ["alone"]
    report = ledger.report(utcnow())
    assert report.errored["extract"].error is not None
    assert list(report.errored["extract"].error.downstream_impact) == ["load", "report"]
    assert report.skipped["report"].skip_reason is SkipReason.UPSTREAM_FAILED
    assert report.skipped["report"].skip_cause == "extract"


def test_a_stop_gives_up_waiting_retries_and_skips_what_never_started() -> None:
    ledger = _ledger(
        [Task("flaky", _noop, retries=3, retry_delay=60.0), Task("later", _noop)],
        fail_fast=False,
    )
    ledger.start(ledger.next_start(0.0))
    ledger.settle(0, _failed(), 0.0)
    ledger.stop(StopReason.DEADLINE)
    ledger.give_up_retries()
    assert not ledger.has_retries()
    assert ledger.start(ledger.next_start(0.0)) is None
    report = ledger.report(utcnow())
    assert report.stopped_by is StopReason.DEADLINE
    assert report.errored["flaky"].attempts == 1
    assert report.skipped["later"].skip_reason is SkipReason.DEADLINE


def test_under_fail_fast_a_cleanup_task_still_runs_and_keeps_its_retries() -> None:
    ledger = _ledger(
        [
            Task("work", _noop),
            Task(
                "cleanup",
                _noop,
                retries=1,
                dependencies=_after("work", passes=False),
                run_when="all_done",
            ),
        ],
        fail_fast=True,
    )
    ledger.start(ledger.next_start(0.0))
    ledger.settle(0, _failed(retryable=False), 0.0)
    assert ledger.stopping
    i = ledger.next_start(0.0)
    assert ledger.start(i) is not None
    ledger.settle(i, _failed(), 0.0)
    ledger.give_up_retries()
    assert ledger.has_retries()  # a cleanup keeps its retry under fail-fast


def test_a_signal_that_came_while_the_books_were_kept_halts_at_the_next_gate() -> None:
    ledger = _ledger([Task("a", _noop), Task("b", _noop)])
    ledger.start(ledger.next_start(0.0))
    ledger.stop(StopReason.TERMINATED)
    with pytest.raises(Terminating) as halted:
        ledger.start(ledger.next_start(0.0))
    stop = ledger.halted(halted.value, utcnow(), running={0: None})
    report = stop.report  # type: ignore[attr-defined]
    assert report.errored["a"].error.exception_type == "processes.errors.RunTerminated"
    assert report.skipped["b"].skip_reason is SkipReason.TERMINATED


def test_an_unstarted_attempt_goes_back_as_if_never_begun() -> None:
    ledger = _ledger([Task("a", _noop)])
    i = ledger.next_start(0.0)
    ledger.start(i)
    ledger.unstart(i)
    assert ledger.lives[i] is None
    assert ledger.next_start(0.0) == i
    assert ledger.start(i) is not None
