"""The email body as Chromium draws it at a phone-to-desktop mail pane width of 600 px."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from browser import launch_chromium, load_html
from factories import large_report, make_entry, make_error, make_report, orders_report
from processes import HTMLEmailStyle, TaskStatus
from processes.rendering.email_html import PALETTES, render_email_html

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
