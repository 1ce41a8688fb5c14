"""What changed since the last run, and this round's other report fields, in every view.

Reports are built by hand (a history is not needed to know what a view must show), and
each view is checked in every language it speaks: the email's HTML and text parts and its
subject in all six, the page, the chat messages and the webhook payload in English.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest

from factories import make_entry, make_error, make_report, orders_report
from markup import visible_text
from processes import HTMLEmailStyle, SMTPConfig
from processes.channels.email import build_message
from processes.outcome import (
    FailureStreak,
    SkipReason,
    StopReason,
    TaskChange,
    TaskStatus,
)
from processes.rendering.chat import render_discord, render_slack, render_teams
from processes.rendering.email_html import render_email_html
from processes.rendering.locales import LANGUAGES, get_locale
from processes.rendering.text import render_text
from processes.rendering.webhook import render_webhook_payload
from processes.report import ProcessExecutionReport

SINCE = datetime(2024, 3, 14, 22, 0, tzinfo=UTC)
RUN_ID = "20240315T100000Z-1a2b3c4d"
HOST = "batch-01.example.test"
CONFIG = SMTPConfig("127.0.0.1", "pipeline@example.test", ["oncall@example.test"])
NOW = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)


def with_changes(
    report: ProcessExecutionReport,
    changes: dict[str, TaskChange],
    streaks: dict[str, FailureStreak] | None = None,
) -> ProcessExecutionReport:
    return replace(report, changes=changes, streaks=streaks or {}, run_id=RUN_ID, host=HOST)


def new_failure() -> ProcessExecutionReport:
    return with_changes(orders_report(), {"charge_payments": TaskChange.NEW_FAILURE})


def still_failing() -> ProcessExecutionReport:
    return with_changes(
        orders_report(),
        {"charge_payments": TaskChange.STILL_FAILING},
        {"charge_payments": FailureStreak(3, SINCE)},
    )


def recovered() -> ProcessExecutionReport:
    report = make_report(
        make_entry("fetch_inventory", start=0.0, seconds=0.4),
        make_entry("charge_payments", start=0.4, seconds=0.3, dependencies=("fetch_inventory",)),
        make_entry("ship_orders", start=0.7, seconds=0.2, dependencies=("charge_payments",)),
    )
    return with_changes(report, {"charge_payments": TaskChange.RECOVERED})


def succeeded() -> ProcessExecutionReport:
    return replace(recovered(), changes={})


def subject(report: ProcessExecutionReport, language: str = "en", **kwargs: Any) -> str:
    message = build_message(report, CONFIG, HTMLEmailStyle(language=language), now=NOW, **kwargs)
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    return str(parsed["Subject"])


def since_words(language: str) -> str:
    words = get_locale(language)
    return words.still_failing_since.format(since="2024-03-14 22:00 UTC", runs=words.runs(3))


# -- the words --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_every_new_word(language: str) -> None:
    words = get_locale(language)
    english = get_locale("en")
    assert set(words.change) == set(TaskChange)
    assert set(words.skip_reason) == set(SkipReason)
    assert set(words.stopped_by) == set(StopReason)
    texts = [
        words.subject_failed,
        words.subject_still_failing,
        words.subject_recovered,
        words.subject_succeeded,
        words.still_failing_since,
        words.heading_recovered,
        words.label_run,
        words.attempts_all_same,
        words.reused,
        words.ran_again,
        words.skipped_for,
        *words.change.values(),
        *words.stopped_by.values(),
    ]
    assert all(texts)
    if language != "en":  # translated, not copied (host is "Host" in German and Italian)
        assert words.change[TaskChange.RECOVERED] != english.change[TaskChange.RECOVERED]
        assert words.subject_still_failing != english.subject_still_failing
        assert words.stopped_by[StopReason.DEADLINE] != english.stopped_by[StopReason.DEADLINE]
    # The four outcomes never read alike.
    subjects = {
        words.subject_failed,
        words.subject_still_failing,
        words.subject_recovered,
        words.subject_succeeded,
        words.subject_errors,
    }
    assert len(subjects) == 5


# -- subject words follow the outcome ---------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_subject_words_follow_the_outcome_in_v7_form(language: str) -> None:
    words = get_locale(language)
    cases = [
        (new_failure(), words.subject_failed),
        (still_failing(), words.subject_still_failing),
        (recovered(), words.subject_recovered),
        (succeeded(), words.subject_succeeded),
        # Without history: a failed and a clean run.
        (orders_report(), words.subject_failed),
        (replace(recovered(), changes={}), words.subject_succeeded),
    ]
    for report, spoken in cases:
        assert subject(report, language) == f"{spoken} orders-pipeline | 20240315"
    # errors-only keeps its own words, whatever the outcome.
    assert subject(still_failing(), language, errors_only=True) == (
        f"{words.subject_errors} orders-pipeline | 20240315"
    )


def test_english_subjects_read_as_a_reader_expects() -> None:
    assert subject(new_failure()) == "Failed: orders-pipeline | 20240315"
    assert subject(still_failing()) == "Still failing: orders-pipeline | 20240315"
    assert subject(recovered()) == "Recovered: orders-pipeline | 20240315"
    assert subject(succeeded()) == "Succeeded: orders-pipeline | 20240315"
    assert subject(replace(succeeded(), process_name="")) == "Succeeded | 20240315"


def test_a_new_failure_beside_a_known_one_is_a_failure_not_still_failing() -> None:
    report = make_report(
        make_entry("a", TaskStatus.ERRORED, error=make_error("a")),
        make_entry("b", TaskStatus.ERRORED, error=make_error("b")),
    )
    both = with_changes(report, {"a": TaskChange.STILL_FAILING, "b": TaskChange.NEW_FAILURE})
    assert subject(both).startswith("Failed: ")
    known = with_changes(report, {"a": TaskChange.STILL_FAILING, "b": TaskChange.STILL_FAILING})
    assert subject(known).startswith("Still failing: ")


def test_a_task_skipped_by_its_own_condition_does_not_fail_the_run() -> None:
    cleanup = replace(
        make_entry("compensate", TaskStatus.SKIPPED), skip_reason=SkipReason.CONDITION_NOT_MET
    )
    report = make_report(make_entry("load"), cleanup)
    assert subject(report) == "Succeeded: orders-pipeline | 20240315"
    deadline = replace(cleanup, skip_reason=SkipReason.DEADLINE)
    assert subject(make_report(make_entry("load"), deadline)).startswith("Failed: ")


# -- the email: HTML and text parts, every language ------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_email_shows_each_change_next_to_its_task(language: str) -> None:
    words = get_locale(language)
    style = HTMLEmailStyle(language=language)
    for report, expected in (
        (new_failure(), words.change[TaskChange.NEW_FAILURE]),
        (still_failing(), since_words(language)),
        (recovered(), words.change[TaskChange.RECOVERED]),
    ):
        markup = render_email_html(report, style=style)
        change = next(iter(report.changes.values()))
        assert f'data-change="{change.value}"' in markup
        text = visible_text(markup)
        assert f"charge_payments {expected}" in text
        plain = render_text(report, color=False, language=language)
        (line,) = [
            line
            for line in plain.splitlines()
            if line.startswith("  ") and line.split()[1:2] == ["charge_payments"]
        ]
        assert f"[{expected}]" in line
    assert words.heading_recovered in visible_text(render_email_html(recovered(), style=style))


@pytest.mark.parametrize("language", LANGUAGES)
def test_email_header_names_the_host_and_the_run(language: str) -> None:
    words = get_locale(language)
    markup = render_email_html(new_failure(), style=HTMLEmailStyle(language=language))
    text = visible_text(markup)
    assert f"{words.label_host} {HOST}" in text
    assert f"{words.label_run} {RUN_ID}" in text
    plain = render_text(new_failure(), color=False, language=language)
    assert f"{words.label_host} {HOST} | {words.label_run} {RUN_ID}" in plain.splitlines()[2]


def test_a_report_without_history_shows_no_change_but_its_run_id() -> None:
    report = orders_report()
    markup = render_email_html(report)
    assert "data-change" not in markup
    assert f"Run {report.run_id}" in visible_text(markup)
    assert "Host" not in visible_text(markup)  # unknown host: not said
    assert "[" not in "\n".join(render_text(report, color=False).splitlines()[4:9])


@pytest.mark.parametrize("language", LANGUAGES)
def test_attempts_that_failed_alike_show_the_error_once_with_the_count(language: str) -> None:
    words = get_locale(language)
    expected = words.attempts_all_same.format(
        attempts=words.attempts(3), error="ConnectionError: payment gateway unreachable"
    )
    report = orders_report()
    text = visible_text(render_email_html(report, style=HTMLEmailStyle(language=language)))
    assert expected in text
    assert words.label_failed_attempts not in text
    plain = render_text(report, color=False, language=language)
    assert expected in plain
    assert (
        plain.count("ConnectionError: payment gateway unreachable") == 3
    )  # message, once, traceback


def test_attempts_that_failed_differently_are_each_listed() -> None:
    errors = ("TimeoutError: timed out", "ConnectionError: refused", "ConnectionError: refused")
    entry = make_entry(
        "pull", TaskStatus.ERRORED, attempts=3, error=make_error("pull"), attempt_errors=errors
    )
    report = make_report(entry)
    text = visible_text(render_email_html(report))
    assert "Failed attempts" in text
    assert "1. TimeoutError: timed out" in text
    assert ", all:" not in text
    plain = render_text(report, color=False)
    assert "    1. TimeoutError: timed out" in plain
    assert ", all:" not in plain
    assert ", all with this error" not in json.dumps(render_slack(report))


@pytest.mark.parametrize("language", LANGUAGES)
def test_email_says_why_a_task_was_skipped_and_why_the_run_stopped(language: str) -> None:
    words = get_locale(language)
    base = orders_report()
    entries = dict(base.entries)
    late = replace(make_entry("publish", TaskStatus.SKIPPED), skip_reason=SkipReason.DEADLINE)
    entries["publish"] = late
    report = replace(base, entries=entries, stopped_by=StopReason.DEADLINE)
    text = visible_text(render_email_html(report, style=HTMLEmailStyle(language=language)))
    deadline = words.skipped_for.format(reason=words.skip_reason[SkipReason.DEADLINE])
    assert f"publish {deadline}" in text
    assert words.stopped_by[StopReason.DEADLINE] in text
    # The upstream failure still names the failure to fix.
    assert f"ship_orders {words.label_caused_by} charge_payments" in text
    plain = render_text(report, color=False, language=language)
    assert words.stopped_by[StopReason.DEADLINE] in plain


@pytest.mark.parametrize("reason", list(StopReason))
def test_every_way_a_run_stops_is_said(reason: StopReason) -> None:
    report = replace(orders_report(), stopped_by=reason)
    sentence = get_locale("en").stopped_by[reason]
    assert sentence in visible_text(render_email_html(report))
    assert sentence in render_text(report, color=False)
    assert sentence in visible_text(report.to_html())
    assert sentence in json.dumps(render_slack(report))
    assert render_webhook_payload(report)["stopped_by"] == reason.value


@pytest.mark.parametrize("language", LANGUAGES)
def test_reused_tasks_are_marked(language: str) -> None:
    words = get_locale(language)
    base = recovered()
    entries = dict(base.entries)
    entries["fetch_inventory"] = replace(entries["fetch_inventory"], reused=True, attempts=0)
    report = replace(base, entries=entries)
    text = visible_text(render_email_html(report, style=HTMLEmailStyle(language=language)))
    assert f"{words.reused} (1): fetch_inventory" in text
    plain = render_text(report, color=False, language=language)
    (line,) = [line for line in plain.splitlines() if "fetch_inventory" in line]
    assert words.reused in line
    assert words.attempts(0) not in line


def test_a_task_that_ran_again_says_why() -> None:
    base = recovered()
    entries = dict(base.entries)
    reason = "its result could not be restored: not JSON and store_results is off"
    entries["fetch_inventory"] = replace(entries["fetch_inventory"], rerun_reason=reason)
    report = replace(base, entries=entries)
    assert f"ran again: {reason}" in render_text(report, color=False)
    assert f"ran again: {reason}" in visible_text(report.to_html())
    assert render_webhook_payload(report)["entries"]["fetch_inventory"]["rerun_reason"] == reason


def test_change_words_are_escaped_and_task_text_stays_inert() -> None:
    report = make_report(
        make_entry("<b>x</b>", TaskStatus.ERRORED, error=make_error("<b>x</b>")),
        name="<i>p</i>",
    )
    report = replace(report, changes={"<b>x</b>": TaskChange.NEW_FAILURE}, host="<script>")
    markup = render_email_html(report)
    assert "<b>x</b>" not in markup
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    page = report.to_html()
    assert "<b>x</b>" not in page
    assert "<script>" not in page


# -- the page (to_html) -----------------------------------------------------------------------


def test_page_shows_changes_host_run_and_skip_reasons() -> None:
    report = still_failing()
    entries = dict(report.entries)
    entries["publish"] = replace(
        make_entry("publish", TaskStatus.SKIPPED), skip_reason=SkipReason.TERMINATED
    )
    report = replace(report, entries=entries, stopped_by=StopReason.TERMINATED)
    page = report.to_html()
    text = visible_text(page)
    assert 'class="change still_failing"' in page
    assert f"charge_payments {since_words('en')}" in text
    assert f"host {HOST}" in text
    assert f"run {RUN_ID}" in text
    assert "(terminated (SIGTERM))" in text
    assert "Terminated (SIGTERM)" in text
    assert "3 attempts, all: ConnectionError: payment gateway unreachable" in text
    recovered_page = visible_text(recovered().to_html())
    assert "Recovered since the previous run (1)" in recovered_page
    assert "charge_payments recovered" in recovered_page


# -- chat -------------------------------------------------------------------------------------


def chat_texts(report: ProcessExecutionReport) -> dict[str, str]:
    return {
        "slack": json.dumps(render_slack(report), ensure_ascii=False),
        "discord": json.dumps(render_discord(report), ensure_ascii=False),
        "teams": json.dumps(render_teams(report), ensure_ascii=False),
    }


def test_chat_messages_show_each_change() -> None:
    for report, expected in (
        (new_failure(), "[new]"),
        (still_failing(), f"[{since_words('en')}]"),
    ):
        for service, text in chat_texts(report).items():
            said = text.replace("\\\\[", "[").replace("\\\\]", "]")  # Discord escapes brackets
            assert expected in said, service
            assert f"run {RUN_ID}" in text, service
            assert f"host {HOST}" in text, service
    for service, text in chat_texts(recovered()).items():
        assert "Recovered (1)" in text, service
        assert "(1 recovered)" in text, service
    assert render_slack(new_failure())["text"] == "orders-pipeline: 1 of 5 tasks failed (1 new)"
    assert render_slack(still_failing())["text"] == (
        "orders-pipeline: 1 of 5 tasks failed (still failing)"
    )


def test_chat_says_a_repeated_error_once_and_why_a_task_was_skipped() -> None:
    base = orders_report()
    entries = dict(base.entries)
    entries["publish"] = replace(
        make_entry("publish", TaskStatus.SKIPPED), skip_reason=SkipReason.FAIL_FAST
    )
    report = replace(base, entries=entries)
    for service, text in chat_texts(report).items():
        assert "errored after 3 attempts, all with this error" in text, service
        assert "skipped: fail-fast" in text, service


def test_chat_messages_stay_within_limits_with_changes() -> None:
    from factories import heavy_report

    report = heavy_report()
    changes = {name: TaskChange.STILL_FAILING for name in report.errored}
    streaks = {name: FailureStreak(12, SINCE) for name in report.errored}
    report = replace(report, changes=changes, streaks=streaks, host="h" * 200)
    slack = render_slack(report)
    assert len(slack["blocks"]) <= 50
    assert all(len(json.dumps(b)) < 4000 for b in slack["blocks"])
    discord = render_discord(report)
    total = sum(
        len(e.get("title", ""))
        + len(e.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", []))
        + len(e.get("footer", {}).get("text", ""))
        for e in discord["embeds"]
    )
    assert total <= 6000
    teams = json.dumps(render_teams(report), separators=(",", ":"), ensure_ascii=False)
    assert len(teams.encode()) < 28_000


# -- webhook ----------------------------------------------------------------------------------


def test_webhook_payload_adds_the_new_fields_and_keeps_the_old() -> None:
    report = still_failing()
    payload = render_webhook_payload(report)
    old = render_webhook_payload(orders_report())
    assert set(old) <= set(payload)
    assert payload["run_id"] == RUN_ID
    assert payload["host"] == HOST
    assert payload["changes"] == {"charge_payments": "still_failing"}
    assert payload["stopped_by"] is None
    entry = payload["entries"]["charge_payments"]
    assert set(old["entries"]["charge_payments"]) <= set(entry)
    assert entry["change"] == "still_failing"
    assert entry["still_failing_since"] == SINCE.isoformat()
    assert entry["failing_runs"] == 3
    assert entry["reused"] is False
    assert payload["entries"]["fetch_inventory"]["change"] is None
    json.dumps(payload)  # JSON-native


def test_webhook_new_fields_follow_nest_under_and_extra_payload_wins() -> None:
    payload = render_webhook_payload(
        new_failure(), nest_under="report", extra_payload={"host": "override", "team": "data"}
    )
    assert payload["report"]["run_id"] == RUN_ID
    assert payload["report"]["changes"] == {"charge_payments": "new_failure"}
    assert payload["report"]["host"] == HOST
    assert payload["host"] == "override"  # extra keys stay top-level and win
    flat = render_webhook_payload(new_failure(), extra_payload={"run_id": "mine"})
    assert flat["run_id"] == "mine"


def test_webhook_entries_carry_skip_reason_and_reuse() -> None:
    base = orders_report()
    entries = dict(base.entries)
    entries["ship_orders"] = replace(
        entries["ship_orders"], skip_reason=SkipReason.UPSTREAM_FAILED, skip_cause="charge_payments"
    )
    entries["archive_logs"] = replace(entries["archive_logs"], reused=True, attempts=0)
    payload = render_webhook_payload(replace(base, entries=entries))
    assert payload["entries"]["ship_orders"]["skip_reason"] == "upstream_failed"
    assert payload["entries"]["ship_orders"]["skip_cause"] == "charge_payments"
    assert payload["entries"]["archive_logs"]["reused"] is True
    assert payload["entries"]["fetch_inventory"]["skip_reason"] is None


# -- size -------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_large_run_with_changes_everywhere_stays_under_the_clipping_size(language: str) -> None:
    from factories import heavy_report

    report = heavy_report()
    changes = {name: TaskChange.STILL_FAILING for name in report.errored}
    changes.update(dict.fromkeys(list(report.successes)[:2000], TaskChange.RECOVERED))
    streaks = {name: FailureStreak(12, SINCE) for name in report.errored}
    report = replace(report, changes=changes, streaks=streaks, host="h" * 300)
    markup = render_email_html(report, style=HTMLEmailStyle(language=language))
    assert len(markup.encode()) < 100_000
    text = visible_text(markup)
    assert get_locale(language).heading_recovered in text
    assert since_words(language).replace("(3 ", "(12 ") in text
    first_failure = next(iter(report.errored))
    assert first_failure in text


# -- chat in every language -------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_chat_messages_speak_every_language(language: str) -> None:
    words = get_locale(language)
    renders = (render_slack, render_discord, render_teams)
    for render in renders:
        still = json.dumps(render(still_failing(), language=language), ensure_ascii=False)
        still = still.replace("\\\\[", "[").replace("\\\\]", "]")  # Discord's escapes
        assert f"[{since_words(language)}]" in still, render
        alike = words.chat_errored_alike.format(attempts=words.attempts(3), duration="")
        assert alike.split("{")[0].rstrip(", ") in still, render
        assert words.label_skipped_because in still, render
        assert f"{words.label_run.lower()} {RUN_ID}" in still, render
        back = json.dumps(render(recovered(), language=language), ensure_ascii=False)
        assert f"{words.label_recovered} (1)" in back, render
        assert words.chat_recovered_count.format(n=1) in back, render
        if language != "en":
            for english in ("tasks failed", "errored after", "Skipped because", "Recovered ("):
                assert english not in still + back, (render, english)
    title = words.chat_title_failed.format(name="orders-pipeline", failed=1, total=5)
    assert render_slack(new_failure(), language=language)["text"] == (
        f"{title} ({words.chat_new_count.format(n=1)})"
    )


def test_chat_channels_take_a_language_and_refuse_an_unknown_one() -> None:
    from processes import SlackChannel, TeamsChannel

    channel = SlackChannel("https://hooks.slack.test/services/x", language="fr")
    assert channel.language == "fr"
    body = json.loads(channel.render(new_failure()))
    assert body["text"].startswith("orders-pipeline : 1 sur 5 tâches en échec")
    with pytest.raises(ValueError, match="language must be one of en, es, pt, fr, de, it"):
        TeamsChannel("https://teams.test/workflows/x", language="nl")


def test_large_counts_are_grouped_as_the_language_writes_them() -> None:
    from factories import large_report

    report = large_report()
    assert "3,000 tasks" in render_slack(report)["blocks"][1]["text"]["text"]
    assert "3.000 Aufgaben" in render_slack(report, language="de")["blocks"][1]["text"]["text"]


def test_mermaid_labels_say_what_changed() -> None:
    graph = still_failing().to_mermaid()
    (line,) = [ln for ln in graph.splitlines() if "charge_payments<br/>" in ln]
    assert line.endswith('errored · still failing"]:::errored')
    assert "new" not in graph
    assert "·" not in orders_report().to_mermaid()
