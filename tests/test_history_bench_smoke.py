"""bench/history.py runs end to end on small sizes; its numbers are never asserted."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_history_benchmark_measures_every_case(tmp_path: Path) -> None:
    out = tmp_path / "history.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "history.py"),
            "--quick",
            "--baseline",
            "HEAD",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())
    for size in results["sizes"]:
        record = results[f"record {size}"]["median"]
        assert set(record) >= {"fresh", "second", "retention", "fresh cpu", "plain run cpu"}
        assert all(value > 0 for value in record.values())
        assert len(results[f"plain {size}"]["now"]) == results["repeat"]
    assert set(results["reading"]["median"]) == {
        "runs() first call",
        "runs()",
        "runs(name)",
        "last(name)",
        "report(run_id)",
    }
    assert sum(line.startswith(("PASS ", "FAIL ")) for line in results["verdicts"]) == 8
