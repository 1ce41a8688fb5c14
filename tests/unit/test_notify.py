"""notify(): order, filters, warnings, and one Delivery per channel (SPEC §7)."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import pytest

from processes import (
    Delivery,
    ErrorData,
    ProcessExecutionReport,
    ReportChannel,
    ReportContent,
    SlackChannel,
    TaskReportEntry,
    TaskStatus,
)


def entry(name: str, status: TaskStatus) -> TaskReportEntry:
    error = None
    if status is TaskStatus.ERRORED:
        error = ErrorData(name, "f", (), {}, ("after",), "ValueError: boom", "Traceback...", {}, "")
    return TaskReportEntry(name, "f", (), {}, status, 0.1, 1, error=error)


def report(*statuses: tuple[str, TaskStatus]) -> ProcessExecutionReport:
    now = datetime.now(UTC)
    return ProcessExecutionReport({n: entry(n, s) for n, s in statuses}, "nightly", now, now)


MIXED = report(
    ("fetch", TaskStatus.SUCCESS),
    ("charge", TaskStatus.ERRORED),
    ("ship", TaskStatus.SKIPPED),
)


class Recorder(ReportChannel):
    def __init__(self, log: list[tuple[str, ProcessExecutionReport, bool]], name: str) -> None:
        self.log = log
        self.name = name

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        self.log.append((self.name, report, errors_only))


class Broken(ReportChannel):
    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        raise ConnectionError("relay refused us")


def test_channels_get_the_report_itself_in_the_order_given() -> None:
    log: list[tuple[str, ProcessExecutionReport, bool]] = []
    deliveries = MIXED.notify(Recorder(log, "a"), Recorder(log, "b"))

    assert [name for name, _, _ in log] == ["a", "b"]
    assert all(sent is MIXED for _, sent, _ in log)
    assert [d.ok for d in deliveries] == [True, True]
    assert all(d.sent and d.error is None for d in deliveries)


def test_tasks_filter_is_case_insensitive_and_keeps_report_order() -> None:
    log: list[tuple[str, ProcessExecutionReport, bool]] = []
    MIXED.notify(Recorder(log, "a"), tasks=["SHIP", "Fetch"])

    ((_, sent, _),) = log
    assert list(sent.entries) == ["fetch", "ship"]
    assert sent.process_name == "nightly"


def test_empty_tasks_list_sends_an_empty_report() -> None:
    log: list[tuple[str, ProcessExecutionReport, bool]] = []
    MIXED.notify(Recorder(log, "a"), tasks=[])

    ((_, sent, _),) = log
    assert sent.entries == {}


def test_only_errors_is_passed_to_each_channel() -> None:
    log: list[tuple[str, ProcessExecutionReport, bool]] = []
    MIXED.notify(Recorder(log, "a"), only_errors=True)

    assert log[0][2] is True


def test_only_errors_with_no_error_sends_nothing() -> None:
    log: list[tuple[str, ProcessExecutionReport, bool]] = []
    clean = report(("fetch", TaskStatus.SUCCESS))
    deliveries = clean.notify(Recorder(log, "a"), only_errors=True)

    assert log == []
    assert [(d.ok, d.sent) for d in deliveries] == [(True, False)]


def test_only_errors_combines_with_tasks() -> None:
    log: list[tuple[str, ProcessExecutionReport, bool]] = []
    MIXED.notify(Recorder(log, "a"), only_errors=True, tasks=["fetch"])

    assert log == []  # the only named task did not error


def test_a_failing_channel_warns_once_and_the_next_still_runs() -> None:
    log: list[tuple[str, ProcessExecutionReport, bool]] = []
    with pytest.warns(UserWarning, match="Broken") as caught:
        deliveries = MIXED.notify(Broken(), Recorder(log, "after"))

    assert len(caught) == 1
    message = str(caught[0].message)
    assert "Broken" in message
    assert "relay refused us" in message
    assert [name for name, _, _ in log] == ["after"]
    assert isinstance(deliveries[0], Delivery)
    assert not deliveries[0].ok
    assert isinstance(deliveries[0].error, ConnectionError)
    assert deliveries[1].ok


def test_show_warnings_false_is_silent_but_still_reports_the_failure() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (delivery,) = MIXED.notify(Broken(), show_warnings=False)

    assert not delivery.ok


def test_a_channel_returning_false_counts_as_a_failure() -> None:
    class Refuses(ReportChannel):
        def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
            return False  # type: ignore[return-value]

    with pytest.warns(UserWarning, match="Refuses"):
        (delivery,) = MIXED.notify(Refuses())

    assert not delivery.ok


def test_report_channel_cannot_be_used_without_send_report() -> None:
    class Incomplete(ReportChannel):
        pass

    with pytest.raises(TypeError):
        Incomplete()  # type: ignore[abstract]


@pytest.mark.parametrize(
    ("preset", "traceback", "traced_vars"),
    [
        (ReportContent.full(), True, True),
        (ReportContent.trace(), True, False),
        (ReportContent.min(), False, False),
        (ReportContent(), True, True),
    ],
)
def test_content_presets(preset: ReportContent, traceback: bool, traced_vars: bool) -> None:
    assert (preset.show_traceback, preset.show_traced_vars) == (traceback, traced_vars)


def test_content_is_frozen() -> None:
    content = ReportContent()
    with pytest.raises(AttributeError):
        content.show_traceback = False  # type: ignore[misc]


def test_content_flags_must_be_bools() -> None:
    with pytest.raises(TypeError, match="show_traceback must be a bool"):
        ReportContent(show_traceback="yes")  # type: ignore[arg-type]


def test_a_single_task_name_as_a_str_is_one_name() -> None:
    log: list[tuple[str, ProcessExecutionReport, bool]] = []
    MIXED.notify(Recorder(log, "a"), tasks="charge")

    ((_, sent, _),) = log
    assert list(sent.entries) == ["charge"]


def test_warnings_as_errors_do_not_stop_later_channels() -> None:
    log: list[tuple[str, ProcessExecutionReport, bool]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="Broken"):
            MIXED.notify(Broken(), Recorder(log, "after"))

    assert [name for name, _, _ in log] == ["after"]


class _Holding(ReportChannel):
    """A channel with a secret of its own, recording what it was given."""

    def __init__(self, log: list[ProcessExecutionReport]) -> None:
        self.log = log

    def secret_values(self) -> list[str]:
        return ["tok-123456789"]

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        self.log.append(report)


class _Unequal:
    def __eq__(self, other: object) -> bool:
        raise ValueError("the truth value of an array is ambiguous")

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "<array>"


def test_channel_secrets_are_masked_from_what_every_channel_gets() -> None:
    error = ErrorData("leaky", "f", ("tok-123456789",), {}, (), "E: tok-123456789", "tb", {}, "")
    leaky = TaskReportEntry(
        "leaky", "f", ("tok-123456789", 7), {}, TaskStatus.ERRORED, 0.1, 1, error=error
    )
    quiet = TaskReportEntry("quiet", "f", (), {}, TaskStatus.SUCCESS, 0.1, 1, result=_Unequal())
    report = ProcessExecutionReport({"leaky": leaky, "quiet": quiet}, "nightly")
    seen: list[ProcessExecutionReport] = []
    log: list[tuple[str, ProcessExecutionReport, bool]] = []

    report.notify(_Holding(seen), Recorder(log, "plain"))

    for sent in (seen[0], log[0][1]):
        masked = sent.entries["leaky"]
        assert masked.args == ("[redacted]", 7)
        assert masked.error is not None
        assert masked.error.exception == "E: [redacted]"
        assert masked.error.args == ("[redacted]",)
        assert sent.entries["quiet"] is quiet  # nothing to mask: the same entry, not compared
    assert report.entries["leaky"] is leaky  # the caller's report is left as it was


def test_a_secret_deep_in_a_result_is_masked_even_past_the_cut_of_its_repr() -> None:
    unequal = _Unequal()
    result = {"rows": ["x" * 100] * 30 + [{"note": "posted with tok-123456789"}], "n": 3}
    shown = ("x" * 3000, unequal, (1, 2))
    leaky = TaskReportEntry("leaky", "f", (), {}, TaskStatus.SUCCESS, 0.1, 1, result=result)
    quiet = TaskReportEntry("quiet", "f", (), {}, TaskStatus.SUCCESS, 0.1, 1, result=shown)
    report = ProcessExecutionReport({"leaky": leaky, "quiet": quiet}, "nightly")
    seen: list[ProcessExecutionReport] = []

    report.notify(_Holding(seen))

    masked = seen[0].entries["leaky"].result
    assert masked["rows"][-1] == {"note": "posted with [redacted]"}  # still a dict, walked
    assert masked["rows"][0] is result["rows"][0]
    assert masked["n"] == 3
    assert "tok-123456789" not in seen[0].to_json()
    assert seen[0].entries["quiet"] is quiet  # nothing inside changed: kept, never compared
    assert report.entries["leaky"].result is result  # the caller's result is left as it was


def test_masking_walks_keys_sets_and_tuples_and_stops_at_cycles() -> None:
    cycle: list[object] = ["tok-123456789"]
    cycle.append(cycle)
    result = ({"tok-123456789": 1}, {"tok-123456789"}, frozenset({"ok"}), cycle)
    leaky = TaskReportEntry("leaky", "f", (), {}, TaskStatus.SUCCESS, 0.1, 1, result=result)
    seen: list[ProcessExecutionReport] = []

    ProcessExecutionReport({"leaky": leaky}, "nightly").notify(_Holding(seen))

    masked = seen[0].entries["leaky"].result
    assert isinstance(masked, tuple)
    assert masked[0] == {"[redacted]": 1}
    assert masked[1] == {"[redacted]"}
    assert masked[2] is result[2]
    assert masked[3][0] == "[redacted]"
    assert "tok-123456789" not in repr(masked)


class _SilentSlack(SlackChannel):
    """A Slack channel whose secrets are real but which posts nowhere."""

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        return None


def test_a_slack_urls_routing_words_do_not_garble_other_channels_reports() -> None:
    slack = _SilentSlack("https://hooks.slack.com/services/T0001/B0002/XXXXYYYYZZZZ")
    text = "my services are up"
    error = ErrorData("svc", "f", (), {}, (), f"E: {text}", "tb", {}, "")
    failed = TaskReportEntry("svc", "f", (text,), {}, TaskStatus.ERRORED, 0.1, 1, error=error)
    done = TaskReportEntry(
        "ok", "f", (), {}, TaskStatus.SUCCESS, 0.1, 1, result={"services": ["api", "json"]}
    )
    report = ProcessExecutionReport({"svc": failed, "ok": done}, "nightly")
    log: list[tuple[str, ProcessExecutionReport, bool]] = []

    report.notify(slack, Recorder(log, "plain"))

    assert "services" not in slack.secret_values()
    sent = log[0][1]
    assert sent.entries["svc"].args == (text,)
    assert sent.entries["svc"].error is not None
    assert sent.entries["svc"].error.exception == f"E: {text}"
    assert sent.entries["ok"].result == {"services": ["api", "json"]}  # still a dict
