"""Example 7 runs offline, as a newcomer runs it, and finds what its README says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "07_the_watch" / "example7.py"

pytestmark = pytest.mark.integration


def test_the_watch_finds_the_short_night_the_missed_night_and_the_return() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    out = result.stdout
    ordinary, empty, missing, fixed = (
        out.split("== the input is empty")[0],
        *out.split("== ")[1:],
    )
    assert "watch: nothing to report" in ordinary
    assert "watch: TOO_SHORT nightly-etl: " in empty
    assert "email subject: Too short: nightly-etl | " in empty
    # within grace nothing, then MISSED once, then nothing again
    assert [line.split(":")[1].strip() for line in missing.splitlines() if "watch:" in line] == [
        "nothing to report",
        "MISSED nightly-etl",
        "nothing to report",
    ]
    assert "email subject: Missed: nightly-etl | " in missing
    assert "watch: BACK nightly-etl: " in fixed
    assert "findings written: back.html, missed.html, too_short.html" in fixed
