"""The report's fields for runs that remember and end early (SPEC §11, §12) round-trip."""

from __future__ import annotations

from datetime import UTC, datetime

from processes import (
    FailureStreak,
    Process,
    ProcessExecutionReport,
    SkipReason,
    StopReason,
    Task,
    TaskChange,
    TaskReportEntry,
    TaskStatus,
)


def test_every_run_has_its_own_run_id_and_the_host() -> None:
    process = Process([Task("a", lambda: 1)], name="p")
    first, second = process.run(), process.run()
    assert first.run_id
    assert second.run_id
    assert first.run_id != second.run_id
    assert first.host  # socket.gethostname() of this machine


def test_new_fields_survive_the_json_round_trip() -> None:
    since = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    report = ProcessExecutionReport(
        {
            "a": TaskReportEntry("a", "f", (), {}, TaskStatus.SUCCESS, 0.0, 0, 1, reused=True),
            "b": TaskReportEntry(
                "b", "g", (), {}, TaskStatus.SUCCESS, 0.1, 1, 2, rerun_reason="result lost"
            ),
            "c": TaskReportEntry(
                "c",
                "h",
                (),
                {},
                TaskStatus.SKIPPED,
                0.0,
                0,
                skip_reason=SkipReason.UPSTREAM_FAILED,
                skip_cause="x",
            ),
        },
        "nightly",
        run_id="20261202T020000Z-0123abcd",
        host="db-1",
        changes={"x": TaskChange.STILL_FAILING, "b": TaskChange.RECOVERED},
        streaks={"x": FailureStreak(3, since)},
        stopped_by=StopReason.DEADLINE,
    )
    restored = ProcessExecutionReport.from_json(report.to_json())
    assert restored == report
    assert restored.run_id == report.run_id
    assert restored.streaks["x"].since == since


def test_only_keeps_the_changes_of_the_tasks_it_keeps() -> None:
    report = ProcessExecutionReport(
        {"a": TaskReportEntry("a", "f", (), {}, TaskStatus.ERRORED, 0.0, 1)},
        changes={"a": TaskChange.NEW_FAILURE, "b": TaskChange.RECOVERED},
    )
    assert report.only(["A"]).changes == {"a": TaskChange.NEW_FAILURE}
    assert report.only(["A"]).run_id == report.run_id
