"""Regenerate docs/images/email-<palette>.png: the seed page's failing run, as emailed.

The run is shown as a history would tell it the first night it fails: the payment
failure is new. Host and run id are fixed, so the pictures change only with the look.

Run from the repository root: ``.venv/bin/python docs/email_screenshots.py``. Needs
Chromium (``apt-get install chromium``) and the ``playwright`` package of the test extra.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402

from browser import CHROMIUM_ARGS, chromium_path, load_html  # noqa: E402
from factories import orders_report  # noqa: E402
from processes.outcome import TaskChange  # noqa: E402
from processes.rendering.email_html import HTMLEmailStyle, render_email_html  # noqa: E402

PALETTES = sys.argv[1:] or ["neutral", "catppuccin"]


def main() -> None:
    executable = chromium_path()
    if executable is None:
        raise SystemExit("Chromium not found; apt-get install chromium")
    report = replace(
        orders_report(),
        run_id="20240315T100000Z-1a2b3c4d",
        host="batch-01.example.test",
        changes={"charge_payments": TaskChange.NEW_FAILURE},
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for palette in PALETTES:
                html = render_email_html(report, style=HTMLEmailStyle(palette=palette))
                target = ROOT / "docs" / "images" / f"email-{palette}.png"
                page = load_html(browser, html, width=640, screenshot_path=target)
                print(f"{target.relative_to(ROOT)}: {len(page.screenshot)} bytes")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
