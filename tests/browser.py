"""Headless Chromium for tests that look at rendered HTML (email bodies, report pages).

Uses the system's Chromium (Debian's ``chromium``, which CI installs with apt) through the
``playwright`` package; never ``playwright install``. A test module wraps
``launch_chromium()`` in a fixture and calls ``load_html(browser, html)``.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Return the Chromium to drive: ``$CHROMIUM`` if set, else Debian's, else PATH's."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class RenderedPage:
    """What a person would see: the screenshot and the measurements tests check."""

    screenshot: bytes
    viewport_width: int
    scroll_width: int
    text: str
    distinct_colors: int


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Launch headless Chromium; skip the test without it locally, fail in CI.

    Use it in a module-scoped fixture of the test module::

        @pytest.fixture(scope="module")
        def chromium() -> Iterator[Browser]:
            with launch_chromium() as browser:
                yield browser
    """
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; .ci/run installs it with apt")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def load_html(
    browser: Browser,
    html: str,
    *,
    width: int = 600,
    height: int = 900,
    full_page: bool = True,
    screenshot_path: str | Path | None = None,
) -> RenderedPage:
    """Render ``html`` at ``width`` CSS pixels and measure it; nothing is fetched."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, java_script_enabled=True
    )
    try:
        # Block every request: a rendered report must stand on its own.
        context.route("**/*", lambda route: route.abort())
        page = context.new_page()
        page.set_content(html, wait_until="load")
        screenshot = page.screenshot(full_page=full_page, path=screenshot_path)
        viewport_width = page.evaluate("window.innerWidth")
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        text = page.evaluate("document.body ? document.body.innerText : ''")
        colors = _distinct_colors(page, screenshot)
    finally:
        context.close()
    return RenderedPage(screenshot, viewport_width, scroll_width, text, colors)


_COUNT_COLORS = """async (data) => {
  const image = new Image();
  image.src = "data:image/png;base64," + data;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, image.width, image.height).data;
  const seen = new Set();
  for (let i = 0; i < pixels.length && seen.size < 4096; i += 4) {
    seen.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
  }
  return seen.size;
}"""


def _distinct_colors(page: Page, png: bytes) -> int:
    # The browser decodes its own screenshot, so no imaging library is needed.
    page.set_content("<!doctype html><title>decode</title>")
    count = page.evaluate(_COUNT_COLORS, base64.b64encode(png).decode("ascii"))
    return int(count)
