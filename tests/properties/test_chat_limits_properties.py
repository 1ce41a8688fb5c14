"""Whatever the tasks are called and whatever they raise, chat payloads stay within limits."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat_limits import (
    assert_within_discord_limits,
    assert_within_slack_limits,
    assert_within_teams_limit,
)
from factories import make_entry, make_error, make_report
from processes import ReportContent, TaskStatus
from processes.rendering.chat import render_discord, render_slack, render_teams
from processes.rendering.webhook import serialise_payload
from processes.report import ProcessExecutionReport

# Characters that escaping expands (& < > \ * _) and wide ones that cost 4 bytes in UTF-8.
awkward = st.text(alphabet=st.sampled_from("a&<>\\*_`@é😀\n[]()"), max_size=600)


@st.composite
def reports(draw: st.DrawFn) -> ProcessExecutionReport:
    names = draw(st.lists(awkward.filter(bool), min_size=1, max_size=60, unique=True))
    entries = []
    for name in names:
        status = draw(st.sampled_from([TaskStatus.SUCCESS, TaskStatus.ERRORED, TaskStatus.SKIPPED]))
        error = None
        if status is TaskStatus.ERRORED:
            error = make_error(
                name,
                draw(awkward),
                downstream=tuple(draw(st.lists(awkward, max_size=5))),
                traceback=draw(awkward) * draw(st.integers(1, 20)),
                traced_vars={draw(awkward): draw(awkward) for _ in range(draw(st.integers(0, 5)))},
            )
        entries.append(make_entry(name, status, error=error))
    return make_report(*entries, name=draw(awkward))


settings_ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
contents = st.sampled_from([ReportContent.full(), ReportContent.trace(), ReportContent.min()])


@settings_
@given(reports(), contents, st.booleans())
def test_slack_limits_hold(
    report: ProcessExecutionReport, content: ReportContent, errors_only: bool
) -> None:
    payload = render_slack(report, content=content, errors_only=errors_only)
    assert_within_slack_limits(payload)
    raw = serialise_payload(payload).decode()
    assert "<" not in raw  # nothing Slack could read as a mention or a link


@settings_
@given(reports(), contents, st.booleans())
def test_discord_limits_hold(
    report: ProcessExecutionReport, content: ReportContent, errors_only: bool
) -> None:
    payload = render_discord(report, content=content, errors_only=errors_only)
    assert_within_discord_limits(payload)


@settings_
@given(reports(), contents, st.booleans())
def test_teams_limit_holds(
    report: ProcessExecutionReport, content: ReportContent, errors_only: bool
) -> None:
    payload = render_teams(report, content=content, errors_only=errors_only)
    assert_within_teams_limit(serialise_payload(payload))
