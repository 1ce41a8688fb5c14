"""A finding's email is as trustworthy as a report's (SPEC §14, §8): valid HTML (the Nu
checker) in every language, and a page that stays within 600 px in a real browser
(headless Chromium). SpamAssassin scores it with the run emails (test_email_alerts.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from browser import launch_chromium, load_html
from factories import make_finding
from nu_checker import nu_errors_of
from processes import FindingKind, HTMLEmailStyle, SMTPConfig
from processes.channels import email as email_module
from processes.rendering.email_html import PALETTES
from processes.rendering.findings import render_finding_html
from processes.rendering.locales import LANGUAGES
from smtp_inbox import HOST

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.integration


def test_every_finding_email_is_valid_html_in_every_language() -> None:
    pages = {
        f"{kind.value}, {language}": render_finding_html(
            make_finding(kind), PALETTES["neutral"], language
        )
        for kind in FindingKind
        for language in LANGUAGES
    }
    pages["missed, slate, a hostile name"] = render_finding_html(
        make_finding(FindingKind.MISSED, '<script>alert("x")</script> & "etl"'), PALETTES["slate"]
    )
    errors = nu_errors_of(pages)
    assert errors == {what: [] for what in pages}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


@pytest.mark.parametrize("palette", list(PALETTES))
def test_a_finding_email_renders_within_600px(chromium: Browser, palette: str) -> None:
    html = render_finding_html(make_finding(FindingKind.TOO_SHORT), PALETTES[palette], "de")
    page = load_html(chromium, html, width=600)
    assert page.scroll_width <= page.viewport_width
    for words in ("Zu kurz: nightly-etl", "Übliche Dauer", "50 min", "Letzter Lauf"):
        assert words in page.text


def test_a_long_process_name_does_not_widen_the_email(chromium: Browser) -> None:
    html = render_finding_html(
        make_finding(FindingKind.MISSED, "etl_" + "x" * 300), PALETTES["neutral"]
    )
    page = load_html(chromium, html, width=360)
    assert page.scroll_width <= page.viewport_width


def test_the_email_channel_builds_the_subject_from_the_finding_words() -> None:
    config = SMTPConfig((HOST, 25), "watch@example.com", ["oncall@example.com"])
    for language, words in (("en", "Missed"), ("es", "Sin ejecutar"), ("it", "Mancata")):
        message = email_module.build_finding_message(
            make_finding(FindingKind.MISSED), config, HTMLEmailStyle(language=language)
        )
        assert message["Subject"] == f"{words}: nightly-etl | 20261206"
