"""The terminal view: one aligned line per task, then every failure with its detail."""

from __future__ import annotations

import io
import re

import pytest

from factories import make_entry, make_error, make_report, orders_report
from processes import ReportContent, TaskStatus
from processes.rendering.common import show_controls
from processes.rendering.locales import LANGUAGES, get_locale
from processes.rendering.text import render_text, supports_color

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def task_lines(text: str, names: list[str]) -> list[str]:
    """Return the table line of each named task, in order."""
    lines = text.splitlines()
    return [next(line for line in lines if re.search(rf"\s{name}(\s|$)", line)) for name in names]


def test_header_names_the_process_its_verdict_and_totals() -> None:
    report = orders_report()
    text = render_text(report, color=False)
    first, second, third = text.splitlines()[:3]
    assert first.split() == ["orders-pipeline", "FAILED"]
    assert second == "Tasks 5 | Succeeded 3 | Failed 1 | Skipped 1 | Duration 2.70 s"
    assert third == f"Started 2024-03-15 10:00:00 UTC | Run {report.run_id}"


def test_a_clean_run_says_ok() -> None:
    text = render_text(make_report(make_entry("a"), make_entry("b", start=0.25)), color=False)
    assert text.splitlines()[0].split() == ["orders-pipeline", "OK"]
    assert "FAILED" not in text


def test_one_aligned_line_per_task_with_status_attempts_and_duration() -> None:
    text = render_text(orders_report(), color=False)
    names = ["fetch_inventory", "enrich_pricing", "charge_payments", "ship_orders", "archive_logs"]
    lines = task_lines(text, names)
    assert [line.split()[0] for line in lines] == ["OK", "OK", "FAILED", "SKIPPED", "OK"]
    # Columns line up: every name starts at the same offset, and so do the attempts.
    assert len({line.index(name) for line, name in zip(lines, names, strict=True)}) == 1
    ran = [line for line in lines if "SKIPPED" not in line]
    assert len({line.index("attempt") for line in ran}) == 1
    assert "3 attempts" in lines[2]
    assert lines[2].rstrip().endswith("1.50 s")
    assert "1 attempt " in lines[0]
    assert lines[0].rstrip().endswith("400 ms")


def test_a_skipped_task_names_the_failure_that_caused_it() -> None:
    (line,) = task_lines(render_text(orders_report(), color=False), ["ship_orders"])
    assert "(because of charge_payments)" in line


def test_a_failure_shows_its_message_what_it_skipped_vars_and_traceback() -> None:
    text = render_text(orders_report(), color=False)
    failure = text[text.index("FAILED charge_payments") :]
    assert "  ConnectionError: payment gateway unreachable" in failure
    assert "Skipped because of it: ship_orders" in failure
    assert "Traced variables at /srv/pipeline/tasks.py:41:" in failure
    assert "    amount = 12.5" in failure
    assert "Traceback:" in failure
    assert '        raise ConnectionError("payment gateway unreachable")' in failure
    # Three attempts that failed alike: the error is said once, with the count.
    assert "Attempts: 3 attempts, all: ConnectionError: payment gateway unreachable" in failure
    assert "1. ConnectionError" not in failure


@pytest.mark.parametrize(
    ("content", "traceback", "traced_vars"),
    [
        (ReportContent.full(), True, True),
        (ReportContent.trace(), True, False),
        (ReportContent.min(), False, False),
    ],
)
def test_report_content_decides_traceback_and_vars(
    content: ReportContent, traceback: bool, traced_vars: bool
) -> None:
    text = render_text(orders_report(), color=False, content=content)
    assert ("Traceback (most recent call last)" in text) is traceback
    assert ("amount = 12.5" in text) is traced_vars
    assert "ConnectionError: payment gateway unreachable" in text


def test_plain_text_is_ascii_without_escape_codes() -> None:
    report = orders_report()
    text = render_text(report, color=False)
    assert text.isascii()
    assert "\x1b" not in text
    assert str(report) == text


def test_color_paints_status_words_and_keeps_the_columns() -> None:
    report = orders_report()
    colored = render_text(report, color=True)
    assert "\x1b[1;31mFAILED\x1b[0m" in colored
    assert "\x1b[32mOK\x1b[0m" in colored
    assert ANSI.sub("", colored) == render_text(report, color=False)


def test_control_characters_from_a_task_cannot_reach_the_terminal() -> None:
    nasty = "ValueError: \x1b[2J\x1b]0;pwned\x07 cleared\rscreen"
    failing = make_entry(
        "bad", TaskStatus.ERRORED, error=make_error("bad", nasty, traced_vars={"x": "'\x1b[31m'"})
    )
    text = render_text(make_report(failing), color=False)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\r" not in text
    assert "\\x1b[2J" in text


def test_control_characters_in_task_names_are_shown_everywhere_they_appear() -> None:
    # The skipped task's note and the failure's "skipped because of it" line name tasks too.
    root, skipped = "load\x1b[2J", "publish\x07"
    failing = make_entry(root, TaskStatus.ERRORED, error=make_error(root, downstream=(skipped,)))
    blocked = make_entry(skipped, TaskStatus.SKIPPED, dependencies=(root,), start=None)
    fine = make_entry("ok", start=0.25)
    text = render_text(make_report(failing, blocked, fine), color=False)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "(because of load\\x1b[2J)" in text
    assert "Skipped because of it: publish\\x07" in text
    # The name column is as wide as the names as shown, so the columns still line up.
    lines = task_lines(text, [re.escape(show_controls(name)) for name in (root, skipped, "ok")])
    attempts_column = {re.match(r"\s*\S+\s+\S+\s+", line).end() for line in lines}  # type: ignore[union-attr]
    assert len(attempts_column) == 1


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_supports_color_follows_the_terminal_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert supports_color(FakeTerminal()) is True
    assert supports_color(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert supports_color(FakeTerminal()) is False
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert supports_color(FakeTerminal()) is False


def test_color_none_is_plain_when_stdout_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert "\x1b" not in render_text(orders_report())
    monkeypatch.setattr("sys.stdout", FakeTerminal())
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert "\x1b[" in render_text(orders_report())
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in render_text(orders_report())


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_word_is_translated(language: str) -> None:
    words = get_locale(language)
    text = render_text(orders_report(), color=False, language=language)
    for status in (TaskStatus.SUCCESS, TaskStatus.ERRORED, TaskStatus.SKIPPED):
        assert words.status[status] in text
    for label in (
        words.label_tasks,
        words.label_succeeded,
        words.label_duration,
        words.label_started,
        words.label_skipped_because,
        words.label_traced_vars,
        words.label_traceback,
        words.attempts(3),
        words.attempts(1),
    ):
        assert label in text, label
    if language != "en":
        assert "Succeeded" not in text
        assert "attempts" not in text


def test_decimal_comma_where_the_language_writes_one() -> None:
    assert "1,50 s" in render_text(orders_report(), color=False, language="de")
    assert "1.50 s" in render_text(orders_report(), color=False, language="en")


def test_an_empty_report_says_so() -> None:
    text = render_text(make_report(name=""), color=False)
    assert "(unnamed process)" in text
    assert "No tasks to report." in text


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language must be one of en, es, pt, fr, de, it"):
        render_text(orders_report(), language="xx")
