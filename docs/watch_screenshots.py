"""Regenerate docs/images/watch-missed.png and watch-too-short.png: two findings of the
watch as emailed (SPEC §14). Times and run ids are fixed, so the pictures change only with
the look.

Run from the repository root: ``.venv/bin/python docs/watch_screenshots.py``. Needs
Chromium (``apt-get install chromium``) and the ``playwright`` package of the test extra.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402

from browser import CHROMIUM_ARGS, chromium_path, load_html  # noqa: E402
from processes import Finding, FindingKind  # noqa: E402
from processes.rendering.email_html import PALETTES  # noqa: E402
from processes.rendering.findings import finding_sentence, render_finding_html  # noqa: E402

DUE = datetime.fromisoformat("2026-12-06T02:15:00+00:00")


def findings() -> dict[str, Finding]:
    missed = Finding(
        FindingKind.MISSED,
        "nightly-etl",
        None,
        DUE,
        "",
        last_run_id="20261205T021500Z-1a2b3c4d",
        last_started_at=DUE - timedelta(days=1),
        last_outcome="ok",
        last_seconds=2950.2,
        usual_seconds=3012.5,
        checked_at=DUE + timedelta(hours=1, minutes=20),
    )
    started = DUE + timedelta(days=1)
    too_short = Finding(
        FindingKind.TOO_SHORT,
        "nightly-etl",
        "20261207T021500Z-5e6f7a8b",
        started + timedelta(seconds=131),
        "",
        last_run_id="20261207T021500Z-5e6f7a8b",
        last_started_at=started,
        last_outcome="ok",
        last_seconds=131.0,
        usual_seconds=3012.5,
        limit_seconds=1004.2,
        checked_at=started + timedelta(minutes=10),
    )
    return {
        name: replace(finding, message=finding_sentence(finding))
        for name, finding in (("missed", missed), ("too-short", too_short))
    }


def main() -> None:
    executable = chromium_path()
    if executable is None:
        raise SystemExit("Chromium not found; apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for name, finding in findings().items():
                html = render_finding_html(finding, PALETTES["neutral"])
                target = ROOT / "docs" / "images" / f"watch-{name}.png"
                page = load_html(browser, html, width=640, height=200, screenshot_path=target)
                print(f"{target.relative_to(ROOT)}: {len(page.screenshot)} bytes")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
