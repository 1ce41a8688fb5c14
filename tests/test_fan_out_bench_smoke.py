"""bench/fan_out.py runs end to end on 100 and 1,000 items and checks its own runs.

Correctness only: the numbers it prints depend on the machine and are never asserted.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_fan_out_benchmark_runs_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "fan_out.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fan_out.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = [
        line.split("  ", 1)[1]
        for line in done.stdout.splitlines()
        if line.startswith(("PASS ", "FAIL "))
    ]
    # time, growth (one per mode) and memory: each judged, whatever the numbers say
    assert [verdict.split(" ", 2)[:2] for verdict in verdicts] == [
        ["mapped/declared", "run"],
        ["sequential", "per-item"],
        ["parallel", "per-item"],
        ["peak", "memory"],
    ]
    summary = json.loads(out.read_text())
    rows = summary["rows"]
    assert [(row["size"], row["mode"]) for row in rows] == [
        (100, "sequential"),
        (100, "parallel"),
        (1000, "sequential"),
        (1000, "parallel"),
    ]
    assert all(row["mapped"] > 0 and row["declared"] > 0 for row in rows)
    # memory is measured apart from the timed runs, per item and per declared task
    assert all(row["memory_mapped"] > 0 and row["memory_declared"] > 0 for row in rows)
    assert len(summary["verdicts"]) == 7  # with three INFO lines
