"""The "new" / "still failing since …" / "recovered" badges as Chromium draws them.

Each badge must be on screen, inside a 600 px mail pane, with its words readable against
its own background (WCAG AA contrast, 4.5:1), in every palette of the email and in the
light and dark looks of the HTML page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from browser import launch_chromium
from factories import make_entry, make_error, make_report
from processes import HTMLEmailStyle, TaskStatus
from processes.outcome import FailureStreak, TaskChange
from processes.rendering.email_html import PALETTES, render_email_html

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from processes import ProcessExecutionReport

pytestmark = pytest.mark.integration

_BADGES = """() => [...document.querySelectorAll('[data-change]')].map((el) => {
  const rect = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  return {
    change: el.dataset.change,
    text: el.innerText,
    left: rect.left, right: rect.right, width: rect.width, height: rect.height,
    color: style.color, background: style.backgroundColor,
    visible: style.visibility === 'visible' && style.display !== 'none' && style.opacity === '1',
    inner: window.innerWidth,
  };
})"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


def changed_report() -> ProcessExecutionReport:
    report = make_report(
        make_entry("fetch", start=0.0, seconds=0.2),
        make_entry("charge", TaskStatus.ERRORED, error=make_error("charge"), start=0.2),
        make_entry("refund", TaskStatus.ERRORED, error=make_error("refund"), start=0.2),
        make_entry("archive", start=0.0, seconds=0.1),
    )
    return replace(
        report,
        changes={
            "charge": TaskChange.NEW_FAILURE,
            "refund": TaskChange.STILL_FAILING,
            "archive": TaskChange.RECOVERED,
        },
        streaks={"refund": FailureStreak(4, datetime(2024, 3, 14, 22, 0, tzinfo=UTC))},
        host="batch-01",
    )


def _rgb(css: str) -> tuple[float, float, float]:
    parts = css[css.index("(") + 1 : css.index(")")].split(",")
    red, green, blue = (float(part) for part in parts[:3])
    return red, green, blue


def contrast(foreground: str, background: str) -> float:
    def luminance(css: str) -> float:
        channels = [c / 255 for c in _rgb(css)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def badges(
    chromium: Browser, html: str, width: int, color_scheme: Any = "light"
) -> list[dict[str, Any]]:
    context = chromium.new_context(
        viewport={"width": width, "height": 900}, color_scheme=color_scheme
    )
    try:
        context.route("**/*", lambda route: route.abort())
        page = context.new_page()
        page.set_content(html, wait_until="load")
        found: list[dict[str, Any]] = page.evaluate(_BADGES)
    finally:
        context.close()
    return found


def assert_readable(found: list[dict[str, Any]]) -> None:
    by_change = {badge["change"]: badge for badge in found}
    assert set(by_change) == {"new_failure", "still_failing", "recovered"}
    for badge in found:
        assert badge["visible"], badge
        assert badge["width"] > 10, badge
        assert badge["height"] > 8, badge
        assert badge["left"] >= 0, badge
        assert badge["right"] <= badge["inner"], badge
        assert "rgba(0, 0, 0, 0)" not in badge["background"], badge  # a painted badge
        assert contrast(badge["color"], badge["background"]) >= 4.5, badge
    assert by_change["new_failure"]["text"].strip() == "new"
    assert by_change["recovered"]["text"].strip() == "recovered"
    assert "still failing since 2024-03-14 22:00 UTC (4 runs)" in " ".join(
        by_change["still_failing"]["text"].split()
    )


@pytest.mark.parametrize("palette", list(PALETTES))
def test_email_change_badges_are_visible_and_readable(chromium: Browser, palette: str) -> None:
    html = render_email_html(changed_report(), style=HTMLEmailStyle(palette=palette))
    found = badges(chromium, html, width=600)
    assert_readable(found)
    assert_readable(badges(chromium, html, width=375))  # a phone


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_page_change_badges_are_visible_and_readable(chromium: Browser, scheme: str) -> None:
    html = changed_report().to_html()
    found = badges(chromium, html, width=1100, color_scheme=scheme)
    # The failures section and the timeline each show the failing tasks' badges.
    assert_readable([b for b in found if b["change"] != "still_failing" or "since" in b["text"]])
