"""SPEC §17: notify() never sends a false all-clear from a typo, refuses what is not a
channel at once, and says when ``only_changes`` can never send."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import pytest

from processes import (
    Process,
    ProcessExecutionReport,
    RunHistory,
    SMTPConfig,
    Task,
    TaskDependency,
    TaskNotFoundError,
    WebhookConfig,
)

if TYPE_CHECKING:
    from pathlib import Path


class Recorder:
    def __init__(self) -> None:
        self.sent: list[ProcessExecutionReport] = []

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        self.sent.append(report)


def broken() -> None:
    raise ValueError("apply failed")


def failed_run(history: RunHistory | None = None) -> ProcessExecutionReport:
    tasks = [
        Task("extract", int),
        Task("load", broken, dependencies=[TaskDependency("extract")]),
        Task("load_audit", int, dependencies=[TaskDependency("extract")]),
    ]
    with Process(tasks, name="nightly") as process:
        return process.run(parallel=False, history=history)


def test_a_name_not_in_the_report_is_refused_with_the_nearest_names() -> None:
    report = failed_run()
    channel = Recorder()
    with pytest.raises(TaskNotFoundError) as raised:
        report.notify(channel, tasks=["laod"])
    message = str(raised.value)
    assert "'laod'" in message
    assert "did you mean 'load'" in message
    assert raised.value.task_name == "laod"
    assert channel.sent == []  # no "OK, no tasks to report" on a failed run


def test_every_missing_name_is_named_and_a_name_with_nothing_near_is_named_alone() -> None:
    report = failed_run()
    with pytest.raises(TaskNotFoundError, match=r"'zzz'; 'extrct' \(did you mean 'extract'\?\)"):
        report.notify(Recorder(), tasks=["load", "zzz", "extrct"])


def test_known_names_in_any_case_and_an_empty_list_still_send() -> None:
    report = failed_run()
    channel = Recorder()
    report.notify(channel, tasks=["LOAD"])
    report.notify(channel, tasks=[])  # v7: an empty report
    assert [list(sent.entries) for sent in channel.sent] == [["load"], []]


@pytest.mark.parametrize(
    ("given", "fix"),
    [
        (lambda: [Recorder()], r"pass channels as separate arguments: notify\(a, b\)"),
        (lambda: (Recorder(), Recorder()), "pass channels as separate arguments"),
        (
            lambda: SMTPConfig("127.0.0.1", "from@example.org", ["to@example.org"]),
            r"wrap the SMTPConfig in EmailChannel\(...\)",
        ),
        (
            lambda: WebhookConfig("http://127.0.0.1:9/hook"),
            r"wrap the WebhookConfig in WebhookChannel\(...\)",
        ),
        (lambda: "http://127.0.0.1:9/hook", "wrap the address in its channel"),
        (lambda: None, "such as EmailChannel"),
    ],
)
def test_what_is_not_a_channel_is_refused_at_once(given: object, fix: str) -> None:
    report = failed_run()
    before = Recorder()
    with pytest.raises(TypeError, match=fix):
        report.notify(before, given())  # type: ignore[operator]
    assert before.sent == []  # refused before anything was sent


def test_only_changes_without_a_history_warns_once_that_it_can_never_send() -> None:
    report = failed_run()
    with pytest.warns(UserWarning, match="made without a history never sends") as caught:
        deliveries = report.notify(Recorder(), Recorder(), only_changes=True)
    assert len(caught) == 1
    assert [d.sent for d in deliveries] == [False, False]


def test_only_changes_with_a_history_says_nothing_even_when_nothing_changed(
    tmp_path: Path,
) -> None:
    history = RunHistory(tmp_path / "runs.db")
    clean = [Task("extract", int)]
    with Process(clean, name="clean") as process:
        first = process.run(history=history)
        second = process.run(history=history)
    assert second.changes == {}
    read_back = history.report(second.run_id)
    through_json = ProcessExecutionReport.from_json(second.to_json())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for report in (first, second, read_back, through_json):
            (delivery,) = report.notify(Recorder(), only_changes=True)
            assert not delivery.sent
    new_failure = failed_run(history)
    channel = Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new_failure.notify(channel, only_changes=True)
    assert len(channel.sent) == 1
