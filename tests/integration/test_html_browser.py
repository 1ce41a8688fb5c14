"""The HTML report in headless Chromium: it renders cleanly, the graph is visible, and the
CSS-only controls work. ``UPDATE_SCREENSHOTS=1`` refreshes docs/images/report-html.png.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from browser import launch_chromium
from factories import dag_report

pytestmark = pytest.mark.integration

DOCS_SCREENSHOT = Path(__file__).parents[2] / "docs" / "images" / "report-html.png"


class Loaded:
    """A page with the report loaded, and everything the browser complained about."""

    def __init__(self, browser: Any, html: str, width: int) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.requests: list[str] = []
        self.problems: list[str] = []

        def refuse(route: Any) -> None:  # a standalone page never fetches anything
            self.requests.append(route.request.url)
            route.abort()

        self.context.route("**/*", refuse)
        self.page = self.context.new_page()
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.set_content(html, wait_until="load")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def load(chromium: Any) -> Iterator[Any]:
    opened: list[Loaded] = []

    def _load(html: str, width: int = 1280) -> Loaded:
        opened.append(Loaded(chromium, html, width))
        return opened[-1]

    yield _load
    for loaded in opened:
        loaded.context.close()


def rgb(css: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", css)[:3])


def test_200_task_run_renders_cleanly_with_a_visible_graph(load: Any, tmp_path: Path) -> None:
    # A fixed run id (the page shows it), so the docs picture changes only with the look.
    report = replace(
        dag_report(200, failures=6, fan_in=2, layers=6), run_id="20260301T120000Z-5e1f0c2a"
    )
    assert report.errored
    assert report.skipped
    loaded = load(report.to_html())
    page = loaded.page

    assert loaded.problems == []
    assert loaded.requests == []
    svg = page.locator("svg.graph")
    assert svg.is_visible()
    box = svg.bounding_box()
    assert box is not None
    assert box["width"] > 0
    assert box["height"] > 0
    assert page.locator("svg.graph g.node").count() == 200
    assert page.locator("svg.graph path.edge.skip").count() > 0

    # Colour follows status: errored nodes are filled red-ish, successes green-ish.
    fill = "el => getComputedStyle(el).fill"
    red = rgb(page.locator("g.node.errored rect").first.evaluate(fill))
    green = rgb(page.locator("g.node.success rect").first.evaluate(fill))
    assert red[0] > red[1]
    assert green[1] > green[0]
    # The page itself never scrolls sideways: the wide graph scrolls inside its box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280

    page.screenshot(path=tmp_path / "report.png", full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    if os.environ.get("UPDATE_SCREENSHOTS"):
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=DOCS_SCREENSHOT, full_page=True)


def test_timeline_bars_are_drawn_where_the_times_say(load: Any) -> None:
    report = dag_report(200, failures=6, fan_in=2, layers=6)
    page = load(report.to_html()).page
    bars = page.locator("table.tasks td.tl > span")
    assert bars.count() == sum(1 for e in report.entries.values() if e.started_at)
    lefts = [b["x"] for b in bars.evaluate_all("els => els.map(e => e.getBoundingClientRect())")]
    assert lefts == sorted(lefts)  # ordered by start time, left to right on screen
    widths = bars.evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
    assert min(widths) >= 2  # even the shortest task can be seen


def test_a_large_run_starts_with_successes_hidden_and_one_click_shows_them(load: Any) -> None:
    report = dag_report(1_000, failures=30)
    loaded = load(report.to_html())
    page = loaded.page
    assert loaded.problems == []
    success_row = page.locator("table.tasks tr.success").first
    errored_row = page.locator("table.tasks tr.errored").first
    assert not success_row.is_visible()
    assert errored_row.is_visible()
    page.locator("label[for=show-ok]").click()
    assert success_row.is_visible()


def test_an_errored_node_links_to_its_failure(load: Any) -> None:
    report = dag_report(200, failures=6, fan_in=2, layers=6)
    page = load(report.to_html()).page
    first = next(iter(report.errored))
    node = page.locator(f'g.node[data-task="{first}"]')
    node.scroll_into_view_if_needed()
    node.click()
    assert page.evaluate("location.hash") == "#failure-0"
    assert page.locator("#failure-0").is_visible()


def test_narrow_screens_do_not_scroll_sideways(load: Any) -> None:
    page = load(dag_report(60, failures=3).to_html(), width=420).page
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
