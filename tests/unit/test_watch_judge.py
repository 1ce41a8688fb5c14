"""The watch's judging (SPEC §14) as a pure function over runs: no SQLite, no clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from processes import Expectation, FindingKind
from processes.history.watch import Seen, judge, usual_seconds

T0 = datetime.fromisoformat("2026-12-01T02:00:00+00:00")
DAY = timedelta(days=1)


def ok_run(n: int, seconds: float, *, ok: bool = True) -> Seen:
    started = T0 + n * DAY
    return Seen(f"run{n}", started, started + timedelta(seconds=seconds), ok)


def found(
    expectation: Expectation,
    runs: list[Seen],
    now: datetime,
    reported: dict[tuple[str, str], datetime] | None = None,
) -> list[tuple[FindingKind, str]]:
    return [
        (finding.kind, subject)
        for subject, finding in judge(
            expectation, runs, reported or {}, first_checked=T0, now=now, judged=len(runs)
        )
    ]


def test_expectation_takes_timedeltas_seconds_and_usual() -> None:
    expect = Expectation("etl", timedelta(hours=1), grace=90, max_runtime="usual", min_runtime=5)
    assert (expect.every, expect.grace, expect.max_runtime, expect.min_runtime) == (
        3600.0,
        90.0,
        "usual",
        5.0,
    )
    with pytest.raises(ValueError, match="every"):
        Expectation("etl", 0)
    with pytest.raises(ValueError, match="grace"):
        Expectation("etl", 60, grace=-1)
    with pytest.raises(TypeError, match="grace"):
        Expectation("etl", 60, grace="usual")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="process_name"):
        Expectation("", 60)


def test_usual_needs_5_ok_runs_and_takes_the_median_of_the_last_20() -> None:
    assert usual_seconds([ok_run(n, 10) for n in range(4)]) is None
    assert usual_seconds([ok_run(n, 10, ok=n != 2) for n in range(5)]) is None  # a failed one
    assert usual_seconds([ok_run(n, float(n)) for n in range(5)]) == 2.0
    # 30 runs of 1000 s, then 20 of 10 s: only the last 20 count
    runs = [ok_run(n, 1000) for n in range(30)] + [ok_run(30 + n, 10) for n in range(20)]
    assert usual_seconds(runs) == 10.0


def test_missed_is_due_at_the_previous_start_plus_every_and_keyed_by_that_run() -> None:
    expect = Expectation("etl", DAY, grace=timedelta(hours=2))
    runs = [ok_run(0, 60)]
    assert found(expect, runs, T0 + DAY + timedelta(hours=2)) == []
    assert found(expect, runs, T0 + DAY + timedelta(hours=2, seconds=1)) == [
        (FindingKind.MISSED, "run0")
    ]
    reported = {("missed", "run0"): T0 + DAY}
    assert found(expect, runs, T0 + 5 * DAY, reported) == []  # told once


def test_back_follows_a_reported_missed_or_overdue_once() -> None:
    expect = Expectation("etl", DAY, max_runtime=600)
    runs = [ok_run(0, 60), ok_run(3, 60)]
    reported = {("missed", "run0"): T0 + DAY}
    assert found(expect, runs, T0 + 3 * DAY + timedelta(minutes=5), reported) == [
        (FindingKind.BACK, "missed:run0")
    ]
    reported[("back", "missed:run0")] = T0 + DAY
    assert found(expect, runs, T0 + 3 * DAY + timedelta(minutes=5), reported) == []


def test_a_run_reported_overdue_is_not_told_again_as_too_long() -> None:
    expect = Expectation("etl", DAY, max_runtime=60)
    running = Seen("run0", T0, None, False)
    now = T0 + timedelta(seconds=61)
    assert found(expect, [running], now) == [(FindingKind.OVERDUE, "run0")]
    ended = Seen("run0", T0, T0 + timedelta(seconds=90), True)
    reported = {("overdue", "run0"): T0 + timedelta(seconds=60)}
    assert found(expect, [ended], now, reported) == []
    assert found(expect, [ended], now) == [(FindingKind.TOO_LONG, "run0")]


def test_usual_is_taken_from_the_runs_before_the_one_judged() -> None:
    expect = Expectation("etl", DAY, max_runtime="usual", min_runtime="usual")
    runs = [ok_run(n, 100) for n in range(5)] + [ok_run(5, 301), ok_run(6, 33)]
    now = T0 + 6 * DAY + timedelta(hours=1)
    assert found(expect, runs, now) == [
        (FindingKind.TOO_LONG, "run5"),
        (FindingKind.TOO_SHORT, "run6"),  # the median before it is still 100 s
    ]
    assert found(expect, [*runs[:5], ok_run(5, 299)], T0 + 5 * DAY + timedelta(hours=1)) == []


def test_a_crashed_run_is_found_and_a_failed_run_is_never_too_short() -> None:
    expect = Expectation("etl", DAY, min_runtime=30)
    crashed = Seen("run0", T0, T0 + timedelta(seconds=5), False, crashed=True)
    failed = ok_run(1, 1, ok=False)
    assert found(expect, [crashed, failed], T0 + DAY + timedelta(minutes=1)) == [
        (FindingKind.CRASHED, "run0")
    ]
