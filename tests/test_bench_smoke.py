"""The benchmark runs end to end on small sizes and checks its own results.

Correctness only: the numbers it prints depend on the machine and are never asserted.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPES = ("chain", "wide", "fan-in", "layered", "random")


def test_quick_benchmark_runs_verifies_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--quiet", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=480,
        cwd=ROOT,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("shape"))
    for column in ("build", "loop", "seq", "seq/loop", "pool", "par", "par/pool"):
        assert column in header.split()
    assert "mem seq" in header
    for shape in SHAPES:
        assert any(line.startswith(shape + " ") for line in lines), shape
    assert any(line.startswith(("PASS ", "FAIL ")) for line in lines)
    assert "VERIFICATION FAILED" not in done.stdout

    results = json.loads(out.read_text())
    assert results["problems"] == []
    assert {t["status"] for t in results["timings"]} == {"ok"}
    kinds = ["plain", "build", "loop", "sequential", "pool", "parallel", "pool-wait"]
    if importlib.util.find_spec("dask") is not None:  # a peer, side by side, when installed
        kinds += ["dask-sync", "dask-threaded"]
        assert "dask sync" in header
        assert "dask thr" in header
    assert {(t["shape"], t["kind"]) for t in results["timings"]} == {
        (shape, kind) for shape in SHAPES for kind in kinds
    }
    assert any(line.startswith("INFO  build / plain floor") for line in lines)
    # The failing-task variant ran for every shape, both ways, with the exact skip count.
    failures = results["failures"]
    assert {(f["shape"], f["kind"]) for f in failures} == {
        (shape, kind) for shape in SHAPES for kind in ("sequential", "parallel")
    }
    chain = [f for f in failures if f["shape"] == "chain"]
    for f in chain:
        n = f["size"]
        assert f["status"] == "ok"
        assert f["counts"] == {"successes": n // 2, "errored": 1, "skipped": n - n // 2 - 1}
    assert all(f["counts"]["errored"] == 1 for f in failures)
    assert all(m["peak_bytes"] > 0 for m in results["memory"])
