"""Example 4 runs the same pipeline on threads, a process pool and Dask, or skips Dask."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "04_scaling_out" / "example4.py"
INTS_PER_TASK = 100_000
N = 8 * INTS_PER_TASK
EXPECTED = sum(v * v for v in range(N))

pytestmark = pytest.mark.integration


def run_example(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "EXAMPLE4_INTS_PER_TASK": str(INTS_PER_TASK), **env},
        check=False,
    )


def timing_line(out: str, executor: str) -> re.Match[str]:
    match = re.search(rf"^{executor} .* (\d+\.\d\d) s   total=(\d+)", out, re.MULTILINE)
    assert match is not None, out
    return match


def test_runs_on_threads_processes_and_dask_with_the_same_result() -> None:
    result = run_example()

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "8 tasks x 100,000 ints, then a fan-in" in out
    for executor in ("threads", "processes", "dask"):
        assert int(timing_line(out, executor)[2]) == EXPECTED
    assert "ProcessPoolExecutor" in out
    assert re.search(r"cluster started in \d+\.\d\d s, not counted", out)
    assert f"All 3 runs agree: the sum of squares is {EXPECTED}." in out


def test_without_dask_it_skips_that_part_with_a_clear_line(tmp_path: Path) -> None:
    # A package named distributed that cannot be imported hides the installed one.
    blocker = tmp_path / "distributed"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('distributed is hidden')\n")
    pythonpath = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))

    result = run_example(PYTHONPATH=pythonpath)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert int(timing_line(out, "threads")[2]) == EXPECTED
    assert int(timing_line(out, "processes")[2]) == EXPECTED
    assert "dask      skipped: distributed is not installed" in out
    assert "total=" not in out.split("dask      skipped")[1]
    assert f"All 2 runs agree: the sum of squares is {EXPECTED}." in out
