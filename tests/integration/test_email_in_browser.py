"""The email body as Chromium draws it at a phone-to-desktop mail pane width of 600 px."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from browser import launch_chromium, load_html
from factories import large_report, make_entry, make_error, make_report, orders_report
from processes import HTMLEmailStyle, TaskStatus
from processes.rendering.email_html import PALETTES, render_email_html
from processes.rendering.locales import LANGUAGES

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


@pytest.mark.parametrize("palette", list(PALETTES))
def test_the_email_renders_within_600px_and_is_not_blank(chromium: Browser, palette: str) -> None:
    html = render_email_html(orders_report(), style=HTMLEmailStyle(palette=palette))
    page = load_html(chromium, html, width=600)
    assert page.viewport_width == 600
    assert page.scroll_width <= page.viewport_width
    assert page.distinct_colors > 20  # text, badges and bars, not one flat colour
    for word in ("orders-pipeline", "FAILED", "charge_payments", "ship_orders", "Timeline"):
        assert word in page.text


def test_long_names_and_huge_lines_do_not_widen_the_email(chromium: Browser) -> None:
    name = "partition_" + "x" * 240
    line = "ValueError: " + "y" * 3000
    failing = make_entry(
        name,
        TaskStatus.ERRORED,
        error=make_error(
            name, line, downstream=(name + "_child",), traceback=line, traced_vars={"v": line}
        ),
    )
    html = render_email_html(make_report(failing, make_entry(name + "_child", TaskStatus.SKIPPED)))
    page = load_html(chromium, html, width=600)
    assert page.scroll_width <= page.viewport_width


def test_a_large_run_renders_within_600px(chromium: Browser) -> None:
    page = load_html(chromium, render_email_html(large_report()), width=600)
    assert page.scroll_width <= page.viewport_width
    assert "load_partition_0019" in page.text


# How many lines each occurrence of a text takes on the page, in document order.
_LINES_OF = """(text) => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const lines = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const at = node.data.indexOf(text);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + text.length);
    lines.push(new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size);
  }
  return lines;
}"""


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_skipped_task_keeps_its_names_whole_on_a_phone(chromium: Browser, language: str) -> None:
    # The "not run" words give way before the skipped task's name and cause are broken
    # mid-word ("charge_payment" / "s"), as they were in German at 375 px.
    html = render_email_html(orders_report(), style=HTMLEmailStyle(language=language))
    page = chromium.new_page(viewport={"width": 375, "height": 900})
    try:
        page.set_content(html)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.evaluate(_LINES_OF, "ship_orders") == [1, 1]  # failure detail, row
        assert set(page.evaluate(_LINES_OF, "charge_payments")) == {1}
    finally:
        page.close()
