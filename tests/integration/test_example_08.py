"""Example 8 runs offline as a newcomer runs it: the alert of night 1 names the malformed
file, and the resumed night loads only that file again (SPEC §15, §12)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).parents[2] / "examples" / "08_fan_out" / "example8.py"


def test_example_8_names_the_malformed_file_and_resumes_only_it() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""  # no warnings, no tracebacks
    first, second = result.stdout.split("== the file is fixed")
    assert "ok: False; loaded: 2026-12-01.csv, 2026-12-02.csv, 2026-12-03.csv" in first
    alert = first.split("the alert says")[1]
    assert "load_file[2026-12-03.csv]" in alert
    assert "4 of 5 items succeeded" in alert
    assert "ValueError: 2026-12-03.csv line 3" in alert
    assert "2026-12-01.csv" not in alert  # the files that loaded are not listed one by one
    assert "ok: True; loaded again: 2026-12-03.csv\n" in second
    assert (
        "reused from night 1: load_file[2026-12-01.csv], load_file[2026-12-02.csv], "
        "load_file[2026-12-04.csv], load_file[2026-12-05.csv]\n"
    ) in second
    assert "load_file[2026-12-03.csv] recovered" in second
    assert "summarise: 5 files, 13 rows, 859.75 EUR" in second
    assert "load_file per run: items (5, 5), not succeeded (1, 0)" in second
