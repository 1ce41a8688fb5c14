"""Example 5's third run: a cleanup task releases its lock after a failure, and the run's
deadline abandons the call that hangs (test_examples.py checks the first two runs)."""

from __future__ import annotations

import re

import pytest
from test_examples import run_example

pytestmark = pytest.mark.integration


def test_example_5_releases_its_lock_after_a_failure_and_stops_at_its_deadline() -> None:
    out, _ = run_example("05_retries_timeouts_fail_fast/example5.py")

    third = out.split("== run 3")[1]
    found = dict(re.findall(r"^  (\w+)\s+(success|errored|skipped)", third, flags=re.MULTILINE))
    assert found == {
        "take_lock": "success",
        "fetch_stock": "errored",
        "fetch_rates": "success",
        "check_rates": "errored",
        "release_lock": "success",
        "report_stock": "skipped",
    }
    assert re.search(r"fetch_stock\s+errored  TimeoutError: the run's deadline passed", third)
    assert "report_stock  skipped (upstream_failed: fetch_stock)" in third
    assert "stopped by: deadline" in third
    assert "release_lock: released lock-1; locks held: 0" in third
