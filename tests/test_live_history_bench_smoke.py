"""bench/live_history.py runs (``--quick``); its timings are never judged by a test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "live_history.py"


def test_quick_live_history_benchmark_measures_every_kind() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = [line for line in done.stdout.splitlines() if line.startswith("200 ")]
    # size, plain, history, extra, floor, ratio, tasks floor, ratio to it
    assert len(row.split()) == 8
    assert "extra <= 8 us/task" in done.stdout
