"""Regenerate docs/images/every-night-<n>.png: the three nights of example 6, as emailed.

Runs the example, then renders each recorded night's report as its email would show it
(the second night's is never sent with ``only_changes=True``: it is shown to say why).
Host and run ids are fixed, so the pictures change only with the look.

Run from the repository root: ``.venv/bin/python docs/every_night_screenshots.py``. Needs
Chromium (``apt-get install chromium``) and the ``playwright`` package of the test extra.
"""

from __future__ import annotations

import runpy
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "06_every_night"
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402

from browser import CHROMIUM_ARGS, chromium_path, load_html  # noqa: E402
from processes import RunHistory  # noqa: E402
from processes.rendering.email_html import HTMLEmailStyle, render_email_html  # noqa: E402

NAMES = ["failed", "still-failing", "recovered"]


def main() -> None:
    executable = chromium_path()
    if executable is None:
        raise SystemExit("Chromium not found; apt-get install chromium")
    runpy.run_path(str(EXAMPLE / "example6.py"), run_name="example6").get("main", lambda: 0)()
    with RunHistory(EXAMPLE / "state" / "history.db") as history:
        runs = list(reversed(history.runs("orders-pipeline")))
        reports = [history.report(run.run_id) for run in runs]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for night, (name, report) in enumerate(zip(NAMES, reports, strict=True), start=1):
                shown = replace(
                    report, run_id=f"2024031{night + 4}T020000Z-0{night}a2b3c4", host="batch-01"
                )
                html = render_email_html(shown, style=HTMLEmailStyle(palette="slate"))
                target = ROOT / "docs" / "images" / f"every-night-{night}-{name}.png"
                page = load_html(browser, html, width=640, screenshot_path=target)
                print(f"{target.relative_to(ROOT)}: {len(page.screenshot)} bytes")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
