"""What changed since the previous run (SPEC §12), worked out from that run's streaks and
this run's report: a pure function, tested without a history file."""

from __future__ import annotations

from datetime import UTC, datetime

from factories import T0, make_entry, make_error, make_report
from processes.history.changes import compare
from processes.outcome import FailureStreak, TaskChange, TaskStatus
from processes.report import ProcessExecutionReport, TaskReportEntry

NOW = "2024-03-16T10:00:00+00:00"  # when this run's new failures started
SINCE = "2024-03-14T10:00:00+00:00"  # when the previous run's streaks started


def errored(name: str) -> TaskReportEntry:
    return make_entry(name, TaskStatus.ERRORED, error=make_error(name))


def run(*entries: TaskReportEntry) -> ProcessExecutionReport:
    return make_report(*entries, name="nightly")


def test_a_task_that_errors_for_the_first_time_is_a_new_failure_starting_now() -> None:
    changes, streaks, failing = compare({}, run(errored("load"), make_entry("fetch")), NOW)
    assert changes == {"load": TaskChange.NEW_FAILURE}
    assert streaks == {}  # a streak of one run is shown as the new failure itself
    assert failing == {"load": (1, NOW)}


def test_a_task_that_errors_again_is_still_failing_one_run_more_since_its_first() -> None:
    changes, streaks, failing = compare({"load": (3, SINCE)}, run(errored("load")), NOW)
    assert changes == {"load": TaskChange.STILL_FAILING}
    assert streaks == {"load": FailureStreak(4, datetime(2024, 3, 14, 10, tzinfo=UTC))}
    assert failing == {"load": (4, SINCE)}


def test_a_streak_whose_start_was_not_kept_counts_from_1970() -> None:
    _, streaks, failing = compare({"load": (2, "")}, run(errored("load")), NOW)
    assert streaks == {"load": FailureStreak(3, datetime(1970, 1, 1, tzinfo=UTC))}
    assert failing == {"load": (3, "")}


def test_a_task_that_succeeds_after_failing_has_recovered_and_its_streak_ends() -> None:
    changes, streaks, failing = compare({"load": (2, SINCE)}, run(make_entry("load")), NOW)
    assert changes == {"load": TaskChange.RECOVERED}
    assert streaks == {}
    assert failing == {}


def test_a_task_new_in_this_run_changes_only_when_it_errors() -> None:
    before = {"load": (1, SINCE)}
    report = run(errored("load"), make_entry("added"), errored("also_added"))
    changes, _, failing = compare(before, report, NOW)
    assert changes == {"load": TaskChange.STILL_FAILING, "also_added": TaskChange.NEW_FAILURE}
    assert failing == {"load": (2, SINCE), "also_added": (1, NOW)}


def test_a_task_gone_from_this_run_leaves_no_change_and_no_streak() -> None:
    before = {"removed": (5, SINCE), "load": (1, SINCE)}
    changes, streaks, failing = compare(before, run(make_entry("load")), NOW)
    assert changes == {"load": TaskChange.RECOVERED}
    assert "removed" not in streaks
    assert failing == {}


def test_a_skipped_task_carries_its_streak_on_unchanged_and_reports_no_change() -> None:
    before = {"load": (2, SINCE)}
    report = run(
        errored("fetch"),
        make_entry("load", TaskStatus.SKIPPED),
        make_entry("publish", TaskStatus.SKIPPED),  # no streak to carry
    )
    changes, streaks, failing = compare(before, report, NOW)
    assert changes == {"fetch": TaskChange.NEW_FAILURE}
    assert streaks == {}
    assert failing == {"fetch": (1, NOW), "load": (2, SINCE)}
    # Failing again next time goes on from the carried streak: not a new failure.
    changes, streaks, _ = compare(failing, run(errored("load")), NOW)
    assert changes == {"load": TaskChange.STILL_FAILING}
    assert streaks["load"].runs == 3


def test_after_an_empty_previous_run_only_errors_change() -> None:
    report = run(
        make_entry("fetch"),
        errored("load"),
        make_entry("publish", TaskStatus.SKIPPED),
    )
    changes, streaks, failing = compare({}, report, T0.isoformat())
    assert changes == {"load": TaskChange.NEW_FAILURE}
    assert streaks == {}
    assert failing == {"load": (1, T0.isoformat())}


def test_an_empty_run_changes_nothing() -> None:
    assert compare({"load": (1, SINCE)}, run(), NOW) == ({}, {}, {})
