"""A finding's email is as trustworthy as a report's (SPEC §14, §8): valid HTML (the Nu
checker) in every language, SpamAssassin at most 1, and a page that stays within 600 px in
a real browser (headless Chromium)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from browser import launch_chromium, load_html
from nu_checker import nu_errors_of
from processes import EmailChannel, Finding, FindingKind, HTMLEmailStyle, SMTPConfig
from processes.channels import email as email_module
from processes.rendering.email_html import PALETTES
from processes.rendering.findings import finding_sentence, render_finding_html
from processes.rendering.locales import LANGUAGES
from smtp_inbox import HOST, smtp_server
from spam_checker import spam_score

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.integration

MACHINE = "batch-07.example.com"
SINCE = datetime.fromisoformat("2026-12-06T02:15:00+00:00")


def finding(kind: FindingKind, name: str = "nightly-etl") -> Finding:
    """A finding as ``check()`` makes it, with everything around it known."""
    made = Finding(
        kind,
        name,
        None if kind is FindingKind.MISSED else "20261206T021500Z-1a2b3c4d",
        SINCE,
        "",
        last_run_id="20261205T021500Z-9f8e7d6c",
        last_started_at=SINCE - timedelta(days=1),
        last_outcome="ok",
        last_seconds=2950.2,
        usual_seconds=3012.5,
        limit_seconds=1004.2 if kind is FindingKind.TOO_SHORT else None,
        checked_at=SINCE + timedelta(hours=1, minutes=5),
    )
    return replace(made, message=finding_sentence(made))


@pytest.fixture
def named_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket, "gethostname", lambda: MACHINE)
    email_module._machine_name.cache_clear()
    yield
    email_module._machine_name.cache_clear()


def test_every_finding_email_is_valid_html_in_every_language() -> None:
    pages = {
        f"{kind.value}, {language}": render_finding_html(
            finding(kind), PALETTES["neutral"], language
        )
        for kind in FindingKind
        for language in LANGUAGES
    }
    pages["missed, slate, a hostile name"] = render_finding_html(
        finding(FindingKind.MISSED, '<script>alert("x")</script> & "etl"'), PALETTES["slate"]
    )
    errors = nu_errors_of(pages)
    assert errors == {what: [] for what in pages}


@pytest.mark.usefixtures("named_machine")
@pytest.mark.parametrize("kind", [FindingKind.MISSED, FindingKind.TOO_SHORT, FindingKind.BACK])
def test_spamassassin_scores_a_finding_email_at_most_1(kind: FindingKind) -> None:
    with smtp_server() as (inbox, port):
        config = SMTPConfig((HOST, port), "watch@example.com", ["oncall@example.com"])
        (delivery,) = finding(kind).notify(EmailChannel(config))
    assert delivery.ok, delivery.error
    (arrival,) = inbox.arrivals
    verdict = spam_score(arrival.raw, ehlo_name=arrival.ehlo_name or "", reverse_dns=MACHINE)
    assert verdict.score <= 1.0, verdict.rules
    assert not any("MPART_ALT_DIFF" in rule for rule in verdict.rules)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


@pytest.mark.parametrize("palette", list(PALETTES))
def test_a_finding_email_renders_within_600px(chromium: Browser, palette: str) -> None:
    html = render_finding_html(finding(FindingKind.TOO_SHORT), PALETTES[palette], "de")
    page = load_html(chromium, html, width=600)
    assert page.scroll_width <= page.viewport_width
    for words in ("Zu kurz: nightly-etl", "Übliche Dauer", "50 min", "Letzter Lauf"):
        assert words in page.text


def test_a_long_process_name_does_not_widen_the_email(chromium: Browser) -> None:
    html = render_finding_html(finding(FindingKind.MISSED, "etl_" + "x" * 300), PALETTES["neutral"])
    page = load_html(chromium, html, width=360)
    assert page.scroll_width <= page.viewport_width


def test_the_email_channel_builds_the_subject_from_the_finding_words() -> None:
    config = SMTPConfig((HOST, 25), "watch@example.com", ["oncall@example.com"])
    for language, words in (("en", "Missed"), ("es", "Sin ejecutar"), ("it", "Mancata")):
        message = email_module.build_finding_message(
            finding(FindingKind.MISSED), config, HTMLEmailStyle(language=language)
        )
        assert message["Subject"] == f"{words}: nightly-etl | 20261206"
