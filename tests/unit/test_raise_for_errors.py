"""``raise_for_errors()``: its message names the tasks skipped because of the failures only."""

from __future__ import annotations

from dataclasses import replace

import pytest

from factories import make_entry, make_error, make_report
from processes import (
    Process,
    ProcessExecutionReport,
    ProcessFailedError,
    SkipReason,
    Task,
    TaskDependency,
    TaskReportEntry,
    TaskStatus,
)


def _one(*_: object) -> int:
    return 1


def _boom() -> None:
    raise RuntimeError("boom")


def message_of(report: ProcessExecutionReport) -> list[str]:
    with pytest.raises(ProcessFailedError) as excinfo:
        report.raise_for_errors()
    return str(excinfo.value).splitlines()


def skipped(name: str, reason: SkipReason | None, *deps: str) -> TaskReportEntry:
    return replace(make_entry(name, TaskStatus.SKIPPED, dependencies=deps), skip_reason=reason)


def test_a_compensation_whose_condition_failed_is_not_blamed_on_the_failure() -> None:
    tasks = [
        Task("a", _boom),
        Task("z", _one),
        Task("comp", _one, dependencies=[TaskDependency("z")], run_when="any_failed"),
    ]
    report = Process(tasks, name="n").run(parallel=False)
    assert report.entries["a"].error is not None
    assert report.entries["a"].error.downstream_impact == []
    assert message_of(report) == [
        "1 task failed in n:",
        "  a: RuntimeError: boom",
        "  (also skipped, nothing upstream failed: comp)",
    ]


def test_fail_fast_skips_are_named_with_their_reason_apart_from_the_failures() -> None:
    tasks = [
        Task("a", _boom),
        Task("b", _one, dependencies=[TaskDependency("a")]),
        Task("z", _one),
        Task("y", _one, dependencies=[TaskDependency("z")]),
    ]
    report = Process(tasks).run(parallel=False, fail_fast=True)
    assert [report.entries[n].skip_reason for n in ("b", "z", "y")] == [
        SkipReason.UPSTREAM_FAILED,
        SkipReason.FAIL_FAST,
        SkipReason.FAIL_FAST,
    ]
    assert message_of(report)[2:] == [
        "  (1 skipped because of it: b)",
        "  (also skipped, fail-fast: z, y)",
    ]


def test_a_cleanup_task_that_ran_is_not_counted_among_the_skipped() -> None:
    tasks = [
        Task("a", _boom),
        Task("b", _one, dependencies=[TaskDependency("a")]),
        Task("cleanup", _one, dependencies=[TaskDependency("b")], run_when="all_done"),
        Task("after", _one, dependencies=[TaskDependency("cleanup")]),
    ]
    report = Process(tasks).run(parallel=False)
    assert report.entries["cleanup"].status is TaskStatus.SUCCESS
    assert message_of(report)[2:] == ["  (1 skipped because of it: b)"]


def test_the_failures_impacts_are_joined_once_each_in_report_order() -> None:
    report = make_report(
        make_entry("a", TaskStatus.ERRORED, error=make_error("a", downstream=("d", "c"))),
        make_entry("b", TaskStatus.ERRORED, error=make_error("b", downstream=("c", "e"))),
        skipped("c", SkipReason.UPSTREAM_FAILED, "a", "b"),
        skipped("d", SkipReason.UPSTREAM_FAILED, "a"),
        skipped("e", SkipReason.UPSTREAM_FAILED, "b"),
        skipped("late", SkipReason.DEADLINE),
        skipped("later", SkipReason.DEADLINE),
        skipped("stopped", SkipReason.TERMINATED),
    )
    assert message_of(report)[3:] == [
        "  (3 skipped because of them: c, d, e)",
        "  (also skipped, deadline: late, later)",
        "  (also skipped, terminated (SIGTERM): stopped)",
    ]


def test_a_filtered_report_still_names_what_the_failure_skipped() -> None:
    report = make_report(
        make_entry("a", TaskStatus.ERRORED, error=make_error("a", downstream=("gone", "b"))),
        skipped("b", SkipReason.UPSTREAM_FAILED, "a"),
        skipped("orphan", None),
    )
    # "gone" is not in this report (filtered out): it comes after the ones that are.
    assert message_of(report)[2:] == [
        "  (2 skipped because of it: b, gone)",
        "  (also skipped, upstream task failed: orphan)",
    ]


def test_no_skip_line_when_nothing_was_skipped() -> None:
    report = Process([Task("a", _boom), Task("z", _one)]).run(parallel=False)
    assert message_of(report) == ["1 task failed in the process:", "  a: RuntimeError: boom"]


# -- many failures: the message lists ten, .failed names them all ---------------------------


def failures(count: int) -> ProcessExecutionReport:
    return make_report(
        *(
            make_entry(f"t{i:05d}", TaskStatus.ERRORED, error=make_error(f"t{i:05d}", "boom"))
            for i in range(count)
        )
    )


def test_ten_failures_are_all_listed() -> None:
    lines = message_of(failures(10))
    assert lines == ["10 tasks failed in orders-pipeline:"] + [
        f"  t{i:05d}: boom" for i in range(10)
    ]


def test_the_eleventh_failure_is_counted_not_listed() -> None:
    report = failures(11)
    with pytest.raises(ProcessFailedError) as excinfo:
        report.raise_for_errors()
    lines = str(excinfo.value).splitlines()
    assert lines[0] == "11 tasks failed in orders-pipeline:"
    assert lines[1:11] == [f"  t{i:05d}: boom" for i in range(10)]
    assert lines[11:] == ["  ... and 1 more"]
    assert excinfo.value.failed == tuple(report.errored)


def test_thousands_of_real_failures_give_a_short_message_and_every_name() -> None:
    count = 3_000
    tasks = [Task(f"load_{i:04d}", _boom) for i in range(count)]
    tasks += [
        Task(f"report_{i:04d}", _one, dependencies=[TaskDependency(f"load_{i:04d}")])
        for i in range(count)
    ]
    # In parallel: a sequential run spends far longer capturing each failure.
    report = Process(tasks, name="nightly").run(parallel=True, max_workers=2)
    with pytest.raises(ProcessFailedError) as excinfo:
        report.raise_for_errors()
    lines = str(excinfo.value).splitlines()
    assert lines[0] == "3000 tasks failed in nightly:"
    assert lines[1:11] == [f"  load_{i:04d}: RuntimeError: boom" for i in range(10)]
    assert lines[11] == "  ... and 2990 more"
    shown = ", ".join(f"report_{i:04d}" for i in range(10))
    assert lines[12:] == [f"  (3000 skipped because of them: {shown} ... and 2990 more)"]
    assert len(str(excinfo.value)) < 1_000
    assert excinfo.value.failed == tuple(f"load_{i:04d}" for i in range(count))
    assert excinfo.value.report is report


def test_the_other_skips_are_listed_ten_a_line_too() -> None:
    late = [skipped(f"late_{i:02d}", SkipReason.DEADLINE) for i in range(12)]
    report = make_report(make_entry("a", TaskStatus.ERRORED, error=make_error("a", "boom")), *late)
    shown = ", ".join(f"late_{i:02d}" for i in range(10))
    assert message_of(report)[2:] == [f"  (also skipped, deadline: {shown} ... and 2 more)"]


def test_ten_skipped_names_are_all_listed() -> None:
    downstream = tuple(f"d{i}" for i in range(10))
    report = make_report(
        make_entry("a", TaskStatus.ERRORED, error=make_error("a", "boom", downstream=downstream)),
        *(skipped(name, SkipReason.UPSTREAM_FAILED, "a") for name in downstream),
    )
    assert message_of(report)[2:] == [f"  (10 skipped because of it: {', '.join(downstream)})"]


def test_ten_thousand_failures_are_named_in_failed_not_in_the_message() -> None:
    report = failures(10_000)
    with pytest.raises(ProcessFailedError) as excinfo:
        report.raise_for_errors()
    lines = str(excinfo.value).splitlines()
    assert len(lines) == 12
    assert lines[-1] == "  ... and 9990 more"
    assert len(excinfo.value.failed) == 10_000
