"""bench/before_after.py runs (``--quick``); its timings are never judged by a test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "before_after.py"


def test_quick_before_after_measures_both_sides_of_every_case() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--before", "HEAD", "--shapes", "chain,wide"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.split()[1:2] == ["200"]]
    assert [(row[0], row[2]) for row in rows] == [
        ("chain", "sequential"),
        ("chain", "parallel"),
        ("wide", "sequential"),
        ("wide", "parallel"),
    ]
    assert all(float(row[3]) > 0 and float(row[4]) > 0 for row in rows)
