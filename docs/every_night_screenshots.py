"""Regenerate docs/images/every-night-<n>.png: the three nights of example 6, as emailed.

Runs a copy of the example from /tmp/every-night/ (so the traceback and traced variables
show that path, not where this repository is checked out), then renders each recorded
night's report as its email would show it (the second night's is never sent with
``only_changes=True``: it is shown to say why). Host, run ids and times are fixed (night
n starts at 02:00 UTC on 2024-03-(14+n)), so the pictures change only with the look
and the milliseconds the tasks took.

Run from the repository root: ``.venv/bin/python docs/every_night_screenshots.py``. Needs
Chromium (``apt-get install chromium``) and the ``playwright`` package of the test extra.
"""

from __future__ import annotations

import os
import runpy
import shutil
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "06_every_night"
WORKDIR = Path("/tmp/every-night")  # the path the pictures show
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402

from browser import CHROMIUM_ARGS, chromium_path, load_html  # noqa: E402
from processes import RunHistory  # noqa: E402
from processes.rendering.email_html import HTMLEmailStyle, render_email_html  # noqa: E402

if TYPE_CHECKING:
    from processes import ProcessExecutionReport

NAMES = ["failed", "still-failing", "recovered"]
FIRST_NIGHT = datetime(2024, 3, 15, 2, 0, tzinfo=UTC)


def run_example() -> list[ProcessExecutionReport]:
    """Run a copy of example 6 in WORKDIR; return its three nights' reports, oldest first."""
    made = Path(tempfile.mkdtemp(prefix="every-night-"))
    shutil.copy2(EXAMPLE / "example6.py", made)
    try:
        os.rename(made, WORKDIR)  # never over a folder that holds something
    except OSError:
        shutil.rmtree(made)
        raise SystemExit(f"{WORKDIR} is in the way; remove it and run again") from None
    try:
        script = runpy.run_path(str(WORKDIR / "example6.py"), run_name="example6")
        script["main"]()
        with RunHistory(WORKDIR / "state" / "history.db") as history:
            runs = list(reversed(history.runs("orders-pipeline")))
            return [history.report(run.run_id) for run in runs]
    finally:
        shutil.rmtree(WORKDIR)


def at(moment: datetime | None, shift: timedelta) -> datetime | None:
    return None if moment is None else moment + shift


def as_on_its_night(report: ProcessExecutionReport, night: int) -> ProcessExecutionReport:
    """Move the run to 02:00 UTC on its night, with a fixed run id and host."""
    assert report.started_at is not None
    start = FIRST_NIGHT + timedelta(days=night - 1)
    shift = start - report.started_at
    entries = {
        name: replace(e, started_at=at(e.started_at, shift), finished_at=at(e.finished_at, shift))
        for name, e in report.entries.items()
    }
    # A streak started on an earlier night, at 02:00 like every run: whole days back.
    streaks = {
        name: replace(streak, since=start - timedelta(days=streak.runs - 1))
        for name, streak in report.streaks.items()
    }
    return replace(
        report,
        entries=entries,
        streaks=streaks,
        started_at=start,
        finished_at=at(report.finished_at, shift),
        run_id=f"{start:%Y%m%dT%H%M%SZ}-0{night}a2b3c4",
        host="batch-01",
    )


def main() -> None:
    executable = chromium_path()
    if executable is None:
        raise SystemExit("Chromium not found; apt-get install chromium")
    reports = run_example()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for night, (name, report) in enumerate(zip(NAMES, reports, strict=True), start=1):
                shown = as_on_its_night(report, night)
                html = render_email_html(shown, style=HTMLEmailStyle(palette="slate"))
                target = ROOT / "docs" / "images" / f"every-night-{night}-{name}.png"
                page = load_html(browser, html, width=640, screenshot_path=target)
                print(f"{target.relative_to(ROOT)}: {len(page.screenshot)} bytes")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
