"""notify(only_changes=True): alert on a new failure or a recovery, never on a known failure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from factories import make_entry, make_error, make_report
from processes import ProcessExecutionReport, ReportChannel, TaskStatus
from processes.outcome import FailureStreak, TaskChange


class Recorder(ReportChannel):
    def __init__(self) -> None:
        self.sent: list[tuple[ProcessExecutionReport, bool]] = []

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        self.sent.append((report, errors_only))


def run(changes: dict[str, TaskChange], failed: tuple[str, ...] = ()) -> ProcessExecutionReport:
    entries = [
        make_entry(name, TaskStatus.ERRORED, error=make_error(name))
        if name in failed
        else make_entry(name)
        for name in ("fetch", "charge", "ship")
    ]
    streaks = {
        name: FailureStreak(2, datetime(2024, 3, 14, tzinfo=UTC))
        for name, change in changes.items()
        if change is TaskChange.STILL_FAILING
    }
    return replace(make_report(*entries), changes=changes, streaks=streaks, compared=True)


NEW = run({"charge": TaskChange.NEW_FAILURE}, failed=("charge",))
SAME = run({"charge": TaskChange.STILL_FAILING}, failed=("charge",))
RECOVERED = run({"charge": TaskChange.RECOVERED})
CLEAN = run({})  # recorded in a history, and nothing changed
NO_HISTORY_FAILURE = replace(run({}, failed=("charge",)), compared=False)


@pytest.mark.parametrize(
    ("report", "sends"),
    [(NEW, True), (SAME, False), (RECOVERED, True), (CLEAN, False), (NO_HISTORY_FAILURE, False)],
)
def test_only_changes_sends_on_a_new_failure_or_a_recovery(
    report: ProcessExecutionReport, sends: bool
) -> None:
    first, second = Recorder(), Recorder()
    if report.compared:
        deliveries = report.notify(first, second, only_changes=True)
    else:  # made without a history: it can never send, and says so
        with pytest.warns(UserWarning, match="without a history never sends"):
            deliveries = report.notify(first, second, only_changes=True)
    assert [d.sent for d in deliveries] == [sends, sends]
    assert all(d.ok and d.error is None for d in deliveries)
    assert [d.channel for d in deliveries] == [first, second]
    assert len(first.sent) == len(second.sent) == int(sends)
    if sends:
        assert first.sent[0] == (report, False)


def test_without_only_changes_every_report_is_sent() -> None:
    for report in (NEW, SAME, RECOVERED, CLEAN):
        channel = Recorder()
        (delivery,) = report.notify(channel)
        assert delivery.sent
        assert len(channel.sent) == 1


def test_only_changes_with_only_errors_needs_both() -> None:
    channel = Recorder()
    (delivery,) = NEW.notify(channel, only_changes=True, only_errors=True)
    assert delivery.sent
    assert channel.sent == [(NEW, True)]
    # A recovery has nothing errored: only_errors has nothing to send.
    (delivery,) = RECOVERED.notify(channel, only_changes=True, only_errors=True)
    assert not delivery.sent
    (delivery,) = SAME.notify(channel, only_changes=True, only_errors=True)
    assert not delivery.sent
    assert len(channel.sent) == 1


def test_with_tasks_only_the_changes_of_those_tasks_count() -> None:
    report = run(
        {"charge": TaskChange.NEW_FAILURE, "ship": TaskChange.STILL_FAILING},
        failed=("charge", "ship"),
    )
    channel = Recorder()
    (delivery,) = report.notify(channel, only_changes=True, tasks=["ship"])
    assert not delivery.sent
    (delivery,) = report.notify(channel, only_changes=True, tasks=["SHIP", "Charge"])
    assert delivery.sent
    ((sent, _),) = channel.sent
    assert list(sent.entries) == ["charge", "ship"]
    assert sent.changes == {"charge": TaskChange.NEW_FAILURE, "ship": TaskChange.STILL_FAILING}
    assert list(sent.streaks) == ["ship"]


def test_a_change_of_a_task_the_report_does_not_hold_does_not_alert() -> None:
    report = replace(CLEAN, changes={"gone": TaskChange.RECOVERED})
    (delivery,) = report.notify(Recorder(), only_changes=True)
    assert not delivery.sent


def test_a_hand_built_report_with_mixed_case_keys_keeps_its_change() -> None:
    entry = make_entry("Fetch_Orders", TaskStatus.ERRORED, error=make_error("Fetch_Orders"))
    report = replace(make_report(entry), changes={"Fetch_Orders": TaskChange.NEW_FAILURE})
    channel = Recorder()
    (delivery,) = report.notify(channel, only_changes=True, tasks=["fetch_orders"])
    assert delivery.sent
    assert list(channel.sent[0][0].entries) == ["Fetch_Orders"]
