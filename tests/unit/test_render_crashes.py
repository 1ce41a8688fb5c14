"""A run that found earlier runs dead says so in every view (SPEC §13), and a crashed run's
own report reads well.

Reports are built by hand (``factories.after_crash``, ``factories.crashed_run_report``):
each view is checked in English and German, the words in all six languages.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest

from factories import (
    CRASHED_RUN_ID,
    DIED_MESSAGE,
    after_crash,
    crashed_run_report,
    make_entry,
    make_report,
)
from markup import visible_text
from processes import HTMLEmailStyle, ProcessExecutionReport, SMTPConfig
from processes.channels.email import build_message
from processes.outcome import CrashedRun, SkipReason, StopReason
from processes.rendering.changes import MAX_CRASHES_SAID, crash_note, crash_notes
from processes.rendering.chat import (
    DISCORD_LIMITS,
    SLACK_LIMITS,
    TEAMS_MAX_BYTES,
    render_discord,
    render_slack,
    render_teams,
)
from processes.rendering.email_html import render_email_html
from processes.rendering.locales import LANGUAGES, get_locale
from processes.rendering.text import render_text
from processes.rendering.webhook import render_webhook_payload, serialise_payload

STARTED = datetime(2024, 3, 14, 10, 0, tzinfo=UTC)
SENTENCE = {
    "en": (
        f"The previous run {CRASHED_RUN_ID} (started 2024-03-14 10:00:00 UTC) died after "
        "3 of 8 tasks, during load_db."
    ),
    "de": (
        f"Der vorherige Lauf {CRASHED_RUN_ID} (Beginn 2024-03-14 10:00:00 UTC) ist nach "
        "3 von 8 Aufgaben gestorben, während load_db."
    ),
}
BOTH = ["en", "de"]
CONFIG = SMTPConfig("127.0.0.1", "pipeline@example.test", ["oncall@example.test"])
NOW = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)


def crash(
    finished: int = 3, total: int = 8, running: tuple[str, ...] = ("load_db",), run: str = ""
) -> CrashedRun:
    return CrashedRun(run or CRASHED_RUN_ID, STARTED, finished, total, running)


def clean() -> ProcessExecutionReport:
    """A run where every task succeeded."""
    return make_report(make_entry("extract"), make_entry("load", dependencies=("extract",)))


def subject(report: ProcessExecutionReport, language: str, **kwargs: Any) -> str:
    message = build_message(report, CONFIG, HTMLEmailStyle(language=language), now=NOW, **kwargs)
    return str(BytesParser(policy=policy.default).parsebytes(message.as_bytes())["Subject"]).strip()


# -- the words and the sentence -------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_says_a_crash_in_its_own_words(language: str) -> None:
    words, english = get_locale(language), get_locale("en")
    fields = [
        "crash_previous",
        "crash_earlier",
        "crash_started",
        "crash_done_many",
        "crash_during",
        "crash_between",
        "crash_before",
        "crash_more",
        "subject_crashed_ok",
        "subject_crashed_failed",
    ]
    for field in fields:
        text = getattr(words, field)
        assert text.strip(), field
        if language != "en":
            assert text != getattr(english, field), (language, field)
    assert "{run}" in words.crash_previous
    assert "{run}" in words.crash_earlier
    assert "{running}" in words.crash_during
    # What this run did is part of the subject: its two forms differ, from every other too.
    subjects = {
        words.subject_crashed_ok,
        words.subject_crashed_failed,
        words.subject_failed,
        words.subject_still_failing,
        words.subject_recovered,
        words.subject_succeeded,
        words.subject_errors,
    }
    assert len(subjects) == 7
    for sentence in crash_notes(after_crash(), words):
        assert CRASHED_RUN_ID in sentence
        assert "load_db" in sentence
        assert "{" not in sentence


@pytest.mark.parametrize("language", BOTH)
def test_the_sentence_says_when_it_died_after_how_many_tasks_and_during_which(
    language: str,
) -> None:
    assert crash_notes(after_crash(), get_locale(language)) == [SENTENCE[language]]


def test_each_way_a_run_can_die_has_its_sentence() -> None:
    words = get_locale("en")

    def said(crashed: CrashedRun, **kwargs: Any) -> str:
        return crash_note(crashed, words, times=False, **kwargs)

    run = f"The previous run {CRASHED_RUN_ID}"
    assert said(crash(0, 8, ())) == f"{run} died before any task started."
    assert said(crash(3, 8, ())) == f"{run} died after 3 of 8 tasks, between tasks."
    assert said(crash(0, 1, ("only",))) == f"{run} died after 0 of 1 task, during only."
    assert said(crash(2, 9, ("a", "b"))) == f"{run} died after 2 of 9 tasks, during a, b."
    assert (
        said(crash(1, 9, ("a", "b", "c", "d", "e")))
        == f"{run} died after 1 of 9 tasks, during a, b, c and 2 more."
    )
    assert said(crash(1_500, 20_000)).startswith(f"{run} died after 1,500 of 20,000 tasks")
    # A runaway task name is cut, not carried whole into every alert.
    assert len(said(crash(running=("x" * 10_000,)))) < 250
    assert said(crash(), earlier=True).startswith(f"An earlier run {CRASHED_RUN_ID} died")


def test_german_counts_and_lists_in_its_own_way() -> None:
    words = get_locale("de")
    said = crash_note(crash(1_500, 20_000, ("a", "b", "c", "d")), words, times=False)
    assert said == (
        f"Der vorherige Lauf {CRASHED_RUN_ID} ist nach 1.500 von 20.000 Aufgaben gestorben, "
        "während a, b, c und 1 weitere."
    )
    assert crash_note(crash(0, 5, ()), words, times=False) == (
        f"Der vorherige Lauf {CRASHED_RUN_ID} ist gestorben, bevor eine Aufgabe begann."
    )


def test_several_crashed_runs_are_said_one_by_one_then_counted() -> None:
    words = get_locale("en")
    six = [crash(run=f"run-{i}") for i in range(MAX_CRASHES_SAID + 1)]
    notes = crash_notes(after_crash(*six), words)
    assert len(notes) == MAX_CRASHES_SAID + 1  # one more is said, never "1 more"
    assert all(note.startswith(f"An earlier run run-{i} ") for i, note in enumerate(notes))
    many = [crash(run=f"run-{i}") for i in range(40)]
    notes = crash_notes(after_crash(*many), words)
    assert len(notes) == MAX_CRASHES_SAID + 1
    assert notes[-1] == f"{40 - MAX_CRASHES_SAID} more earlier runs died too."
    assert crash_notes(clean(), words) == []


# -- each view ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", BOTH)
def test_text_says_it_under_the_header_before_the_tasks(language: str) -> None:
    lines = render_text(after_crash(), color=False, language=language).splitlines()
    assert lines.index(SENTENCE[language]) == 3  # name, totals, when: then the crash
    colored = render_text(after_crash(), color=True, language=language)
    assert SENTENCE[language] in colored
    assert not any("died" in line for line in render_text(clean(), color=False).splitlines())


def test_text_makes_control_characters_in_task_names_visible() -> None:
    report = after_crash(crash(running=("load\x1b[2Jdb",)))
    text = render_text(report, color=False)
    assert "\x1b" not in text
    assert "during load\\x1b[2Jdb." in text


def test_the_page_says_it_in_a_banner_above_the_counts() -> None:
    page = after_crash().to_html()
    banner = page.index('<div class="crashed" role="alert">')
    assert banner < page.index('<ul class="counts"')
    assert SENTENCE["en"] in visible_text(page)
    assert '<div class="crashed"' not in clean().to_html()
    hostile = after_crash(crash(running=("<img src=x onerror=alert(1)>",))).to_html()
    assert "<img src=x" not in hostile
    assert "&lt;img src=x onerror=alert(1)&gt;" in hostile


@pytest.mark.parametrize("language", BOTH)
def test_the_email_says_it_under_the_header_before_the_counts(language: str) -> None:
    words = get_locale(language)
    body = render_email_html(after_crash(), style=HTMLEmailStyle(language=language))
    text = visible_text(body)
    assert SENTENCE[language] in text
    assert text.index(SENTENCE[language]) < text.index(words.label_tasks)
    assert text.index("orders-pipeline") < text.index(SENTENCE[language])
    # In the errored colours of the palette, as a failure's card is.
    assert "#fee2e2" in body.split(SENTENCE[language][:20])[0].rsplit("<table", 1)[1]
    hostile = render_email_html(after_crash(crash(running=("<b>x</b>",))))
    assert "<b>x</b>" not in hostile
    assert "&lt;b&gt;x&lt;/b&gt;" in hostile


@pytest.mark.parametrize("language", BOTH)
def test_the_email_text_part_and_subject_say_it(language: str) -> None:
    words = get_locale(language)
    message = build_message(after_crash(), CONFIG, HTMLEmailStyle(language=language), now=NOW)
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    plain = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert SENTENCE[language] in plain
    # A long subject is folded, and the parser keeps the fold's space: a client drops it.
    said = f"{words.subject_crashed_failed} orders-pipeline | 20240315"
    assert str(parsed["Subject"]).strip() == said
    ok = replace(after_crash(), process_name="orders", entries=clean().entries)
    assert subject(ok, language) == f"{words.subject_crashed_ok} orders | 20240315"
    # An errors-only email keeps its own words: what it lists is this run's errors.
    assert subject(after_crash(), language, errors_only=True).startswith(words.subject_errors)
    assert subject(replace(ok, crashes=()), language).startswith(words.subject_succeeded)


@pytest.mark.parametrize("language", BOTH)
def test_slack_says_it_in_a_block_of_its_own_and_in_the_notification(language: str) -> None:
    message = render_slack(after_crash(), language=language)
    blocks = message["blocks"]
    assert blocks[0]["type"] == "header"
    assert blocks[1]["text"]["text"] == f":warning: {SENTENCE[language]}"
    assert message["text"].endswith("\n" + SENTENCE[language])
    plain = render_slack(clean(), language=language)
    assert ":warning:" not in json.dumps(plain)
    assert "\n" not in plain["text"]


@pytest.mark.parametrize("language", BOTH)
def test_discord_says_it_above_the_embed(language: str) -> None:
    message = render_discord(after_crash(), language=language)
    title, said = message["content"].split("\n")
    assert title == message["embeds"][0]["title"]
    inert = SENTENCE[language].replace("_", "\\_")  # markdown made inert
    assert said == f"\u26a0 {inert}"
    assert "\n" not in render_discord(clean(), language=language)["content"]


@pytest.mark.parametrize("language", BOTH)
def test_teams_says_it_under_the_title(language: str) -> None:
    body = render_teams(after_crash(), language=language)["attachments"][0]["content"]["body"]
    (run,) = body[1]["inlines"]
    assert run["text"] == SENTENCE[language]
    assert run["color"] == "Attention"
    assert SENTENCE[language] not in json.dumps(render_teams(clean(), language=language))


def test_chat_messages_stay_within_their_limits_however_many_runs_died() -> None:
    names = tuple(f"load_{'x' * 300}_{i}" for i in range(50))
    report = after_crash(*(crash(running=names, run=f"run-{i}-{'y' * 200}") for i in range(60)))
    slack = render_slack(report)
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in slack["blocks"])
    assert len(slack["blocks"]) <= SLACK_LIMITS["blocks"]
    assert len(slack["text"]) <= 3000
    discord = render_discord(report)
    assert len(discord["content"]) <= DISCORD_LIMITS["content"]
    teams = render_teams(report)
    assert len(serialise_payload(teams)) < TEAMS_MAX_BYTES
    assert "55 more earlier runs died too." in json.dumps(teams)
    assert slack["blocks"][1]["text"]["text"].endswith("55 more earlier runs died too.")
    assert discord["content"].endswith("55 more earlier runs died too.")


@pytest.mark.parametrize("errors_only", [False, True])
def test_the_webhook_payload_carries_each_crashed_run(errors_only: bool) -> None:
    report = after_crash(crash(), crash(0, 8, (), run="20240313T100000Z-00000000"))
    payload = render_webhook_payload(report, errors_only=errors_only, nest_under="report")
    crashes = json.loads(serialise_payload(payload))["report"]["crashes"]
    assert crashes == [
        {
            "run_id": CRASHED_RUN_ID,
            "started_at": "2024-03-14T10:00:00+00:00",
            "tasks_finished": 3,
            "tasks_total": 8,
            "running": ["load_db"],
            "message": (
                f"An earlier run {CRASHED_RUN_ID} (started 2024-03-14 10:00:00 UTC) died "
                "after 3 of 8 tasks, during load_db."
            ),
        },
        {
            "run_id": "20240313T100000Z-00000000",
            "started_at": "2024-03-14T10:00:00+00:00",
            "tasks_finished": 0,
            "tasks_total": 8,
            "running": [],
            "message": (
                "An earlier run 20240313T100000Z-00000000 (started 2024-03-14 10:00:00 UTC) "
                "died before any task started."
            ),
        },
    ]
    assert render_webhook_payload(clean())["crashes"] == []


# -- a crashed run's own report -------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_crashed_runs_own_email_says_how_it_ended_task_by_task(language: str) -> None:
    words = get_locale(language)
    report = crashed_run_report()
    text = visible_text(render_email_html(report, style=HTMLEmailStyle(language=language)))
    assert words.stopped_by[StopReason.CRASHED] in text
    died = words.skipped_for.format(reason=words.skip_reason[SkipReason.CRASHED])
    for name in ("index", "publish", "notify", "archive"):
        assert f"{name} {died}" in text
    assert DIED_MESSAGE in text
    # It never finished: no duration is made up for it ("0 ms").
    assert words.label_duration not in text.split(words.label_tasks)[0]
    plain = render_text(report, color=False, language=language)
    header = plain.split("\n\n")[0]
    assert words.stopped_by[StopReason.CRASHED] in header
    assert words.label_duration not in header
    assert f"({died})" in plain
    assert words.status[report.entries["load_db"].status] in plain


def test_a_crashed_runs_own_page_says_how_it_ended_task_by_task() -> None:
    words = get_locale("en")
    text = visible_text(crashed_run_report().to_html())
    assert words.stopped_by[StopReason.CRASHED] in text
    assert "finished unknown" in text
    assert "took" not in text.split("finished unknown")[1][:40]
    assert "the run's process died: index, publish, notify, archive" in text
    assert DIED_MESSAGE in text


def test_a_crashed_runs_own_report_in_chat_and_webhook() -> None:
    report = crashed_run_report()
    sentence = get_locale("de").stopped_by[StopReason.CRASHED]
    assert sentence in json.dumps(render_slack(report, language="de"), ensure_ascii=False)
    payload = render_webhook_payload(report)
    assert payload["stopped_by"] == "crashed"
    assert payload["entries"]["index"]["skip_reason"] == "crashed"
    assert payload["entries"]["load_db"]["error"]["exception"] == DIED_MESSAGE
