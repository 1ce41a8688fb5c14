"""What every view shares: durations, status colours, skip causes, ReportContent.min()."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta

import pytest

from factories import T0, make_entry, make_error, make_report, orders_report
from processes import ReportContent, TaskStatus
from processes.rendering.chat import render_discord, render_slack, render_teams
from processes.rendering.common import (
    STATUS_LOOKS,
    SkipCause,
    format_duration,
    list_names,
    skip_causes,
)
from processes.rendering.email_html import PALETTES, render_email_html
from processes.rendering.html import render_html
from processes.rendering.locales import get_locale
from processes.rendering.mermaid import render_mermaid
from processes.rendering.text import render_text
from processes.rendering.webhook import render_webhook_payload


@pytest.mark.parametrize(
    ("seconds", "english", "german"),
    [
        (0.0, "0 ms", "0 ms"),
        (0.2504, "250 ms", "250 ms"),
        (0.9996, "1.00 s", "1,00 s"),
        (1.25, "1.25 s", "1,25 s"),
        (9.996, "10.0 s", "10,0 s"),
        (12.54, "12.5 s", "12,5 s"),
        (59.97, "1 min 00 s", "1 min 00 s"),
        (65, "1 min 05 s", "1 min 05 s"),
        (3_700, "1 h 01 min", "1 h 01 min"),
        (-3, "0 ms", "0 ms"),
    ],
)
def test_format_duration(seconds: float, english: str, german: str) -> None:
    assert format_duration(seconds) == english
    assert format_duration(seconds, get_locale("de")) == german


def _timed_report(seconds: float) -> object:
    # The run lasts as long as its slowest task, so run and task durations agree.
    return make_report(
        make_entry("slow", start=0.0, seconds=seconds), make_entry("quick", start=0.0)
    )


def test_every_view_writes_65_seconds_the_same_way() -> None:
    run = _timed_report(65)
    views = {
        "text": render_text(run, color=False),  # type: ignore[arg-type]
        "page": render_html(run),  # type: ignore[arg-type]
        "email": render_email_html(run),  # type: ignore[arg-type]
        "slack": json.dumps(render_slack(run), ensure_ascii=False),  # type: ignore[arg-type]
    }
    for name, view in views.items():
        assert "1 min 05 s" in view, name
        assert "65.00 s" not in view, name
        assert "1 min 5 s" not in view, name


# -- the status vocabulary ------------------------------------------------------------------


def test_status_looks_cover_every_status_by_member() -> None:
    assert set(STATUS_LOOKS) == set(TaskStatus)
    assert all(isinstance(key, TaskStatus) for key in STATUS_LOOKS)
    glyphs = [look.glyph for look in STATUS_LOOKS.values()]
    assert len(set(glyphs)) == len(glyphs)


def test_each_status_has_one_colour_in_the_page_mermaid_and_email() -> None:
    run = orders_report()
    page = render_html(run)
    mermaid = render_mermaid(run)
    neutral = PALETTES["neutral"]
    for status, look in STATUS_LOOKS.items():
        assert f"--{status.value}-line: {look.line};" in page
        assert f"--{status.value}-fill: {look.fill};" in page
        assert f"classDef {status.value} fill:{look.fill},stroke:{look.line}," in mermaid
        assert neutral.of(status).solid == look.line
        assert neutral.of(status).soft == look.fill


def test_skipped_is_amber_in_every_view() -> None:
    # It used to be amber in the email and terminal but slate grey in the page and Mermaid.
    amber = STATUS_LOOKS[TaskStatus.SKIPPED].line
    run = orders_report()
    assert f"--skipped-line: {amber};" in render_html(run)
    assert f"classDef skipped fill:{STATUS_LOOKS[TaskStatus.SKIPPED].fill},stroke:{amber}" in (
        render_mermaid(run)
    )
    assert "#64748b" not in render_mermaid(run)
    assert PALETTES["neutral"].skipped.solid == amber
    assert "\x1b[33mSKIPPED" in render_text(run, color=True)
    embed = render_discord(run)["embeds"][0]
    assert embed["color"] == int(STATUS_LOOKS[TaskStatus.ERRORED].line[1:], 16)


# -- why a task was skipped -----------------------------------------------------------------


def _chain(*, impact: bool) -> object:
    """a errored -> b skipped -> c skipped; ``impact`` says whether a recorded its victims."""
    downstream = ("b", "c") if impact else ()
    return make_report(
        make_entry(
            "a",
            TaskStatus.ERRORED,
            error=make_error("a", "ValueError: bad a", downstream=downstream),
        ),
        make_entry("b", TaskStatus.SKIPPED, dependencies=("a",)),
        make_entry("c", TaskStatus.SKIPPED, dependencies=("b",)),
        make_entry("z", start=0.1),
    )


@pytest.mark.parametrize("impact", [True, False])
def test_skip_causes_name_the_root_failure_and_the_path(impact: bool) -> None:
    causes = skip_causes(_chain(impact=impact))  # type: ignore[arg-type]
    assert causes == {"b": SkipCause(("a",)), "c": SkipCause(("a",), via=("b",))}


def test_skip_causes_join_roots_in_report_order() -> None:
    run = make_report(
        make_entry("x", TaskStatus.ERRORED, error=make_error("x")),
        make_entry("y", TaskStatus.ERRORED, error=make_error("y")),
        make_entry("mid", TaskStatus.SKIPPED, dependencies=("y",)),
        make_entry("end", TaskStatus.SKIPPED, dependencies=("mid", "x")),
    )
    assert skip_causes(run)["end"] == SkipCause(("x", "y"))


def test_a_filtered_report_names_the_upstream_task_it_still_holds() -> None:
    run = _chain(impact=False).only(["b", "c"])  # type: ignore[attr-defined]
    assert skip_causes(run)["c"].roots == ("b",)


def test_text_page_and_email_blame_the_same_root() -> None:
    run = _chain(impact=True)
    text = render_text(run, color=False)  # type: ignore[arg-type]
    (line,) = [ln for ln in text.splitlines() if ln.strip().split()[1:2] == ["c"]]
    assert line.endswith("(because of a)")
    assert "because of a (via b)" in render_html(run)  # type: ignore[arg-type]
    assert "because of b" not in render_html(run)  # type: ignore[arg-type]
    email = render_email_html(run)  # type: ignore[arg-type]
    assert re.search(r">c<.*?because of a<", email, re.S)
    assert "because of b" not in email


def test_list_names_by_count_and_by_characters() -> None:
    names = ["alpha", "beta", "gamma", "delta"]
    assert list_names(names) == "alpha, beta, gamma, delta"
    assert list_names(names, most=2) == "alpha, beta \u2026 and 2 more"
    assert list_names(names, most=0, more="and {n} more") == "and 4 more"
    fitted = list_names(names, chars=26, show=str.upper)
    assert fitted == "ALPHA, BETA \u2026 and 2 more"
    assert len(list_names(names, chars=20)) <= 20


# -- ReportContent.min(): task name, status and error message only --------------------------


def _detailed_failure() -> object:
    message = "ValueError: card declined"
    err = replace(
        make_error(
            "charge",
            message,
            downstream=("ship",),
            traced_vars={"amount": "'AMOUNT-VALUE-42'"},
        ),
        args=("ARG-VALUE-17",),
        kwargs={"region": "KWARG-VALUE-99"},
    )
    failed = replace(
        make_entry(
            "charge",
            TaskStatus.ERRORED,
            start=0.0,
            seconds=2.0,
            attempts=3,
            error=err,
            attempt_errors=("FIRST-ATTEMPT timeout", "SECOND-ATTEMPT timeout", message),
        ),
        function="billing.charge_card",
        args=("ARG-VALUE-17",),
        kwargs={"region": "KWARG-VALUE-99"},
    )
    retried = replace(
        make_entry("audit", start=0.0, seconds=1.0, attempts=2),
        attempt_errors=("RETRIED-ATTEMPT blip",),
    )
    shipped = make_entry("ship", TaskStatus.SKIPPED, dependencies=("charge",))
    run = make_report(failed, retried, shipped)
    return replace(run, finished_at=T0 + timedelta(seconds=3))


def _every_view(content: ReportContent) -> dict[str, str]:
    run = _detailed_failure()
    return {
        "text": render_text(run, color=False, content=content),  # type: ignore[arg-type]
        "page": render_html(run, content=content),  # type: ignore[arg-type]
        "email": render_email_html(run, content),  # type: ignore[arg-type]
        "slack": json.dumps(render_slack(run, content=content)),  # type: ignore[arg-type]
        "discord": json.dumps(render_discord(run, content=content)),  # type: ignore[arg-type]
        "teams": json.dumps(render_teams(run, content=content)),  # type: ignore[arg-type]
        "webhook": json.dumps(render_webhook_payload(run, content=content)),  # type: ignore[arg-type]
    }


DETAILS = {
    "arguments": ("ARG-VALUE-17", "KWARG-VALUE-99"),
    "traceback": ("Traceback (most recent call last)",),
    "traced variables": ("AMOUNT-VALUE-42",),
    "attempt list": ("FIRST-ATTEMPT", "SECOND-ATTEMPT", "RETRIED-ATTEMPT"),
    "function": ("billing.charge_card",),
}


def test_min_shows_name_status_and_message_only_in_every_view() -> None:
    for view, rendered in _every_view(ReportContent.min()).items():
        assert "charge" in rendered, view
        assert "card declined" in rendered, view
        for detail, markers in DETAILS.items():
            if view == "webhook" and detail == "function":
                continue  # a field of the v7 payload shape, which receivers parse
            for marker in markers:
                assert marker not in rendered, (view, detail, marker)


def test_full_shows_the_details_min_leaves_out() -> None:
    views = _every_view(ReportContent.full())
    for view in ("text", "page", "email", "slack", "discord", "teams"):
        assert "Traceback (most recent call last)" in views[view], view
        assert "AMOUNT-VALUE-42" in views[view], view
    for view in ("text", "page", "email"):
        assert "FIRST-ATTEMPT" in views[view], view
    assert "ARG-VALUE-17" in views["email"]
    trace = _every_view(ReportContent.trace())
    assert "ARG-VALUE-17" in trace["email"]  # arguments may show with trace
    assert "AMOUNT-VALUE-42" not in trace["email"]


# -- errors_only: every task counted, only the errored ones detailed ------------------------


def test_errors_only_text_counts_every_task_and_lists_the_errored() -> None:
    text = render_text(orders_report(), color=False, errors_only=True)
    assert "Tasks 5 | Succeeded 3 | Failed 1 | Skipped 1" in text
    assert "Skipped because of it: ship_orders" in text
    assert "Only the failed tasks are shown." in text
    task_lines = [ln for ln in text.splitlines() if ln.startswith("  ") and "  " in ln[2:]]
    assert "fetch_inventory" not in text
    assert any("charge_payments" in ln for ln in task_lines)


def test_errors_only_email_counts_every_task_and_details_the_errored() -> None:
    email = render_email_html(orders_report(), errors_only=True)
    cells = re.findall(r">(\d+)</div>\s*<div[^>]*>(\w+)</div>", email)
    assert cells == [("5", "Tasks"), ("3", "Succeeded"), ("1", "Failed"), ("1", "Skipped")]
    assert "Skipped because of it" in email
    assert "fetch_inventory" not in email  # successes are counted, not listed
    assert "archive_logs" not in email


def test_errors_only_chat_counts_every_task() -> None:
    payload = render_slack(orders_report(), errors_only=True)
    text = json.dumps(payload)
    assert "5 tasks: 3 succeeded, 1 errored, 1 skipped" in text
    assert "fetch_inventory" not in text
