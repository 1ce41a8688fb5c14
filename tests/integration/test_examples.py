"""Examples 1, 2 and 5 run offline, as a newcomer runs them, and print what their READMEs say.

Examples 3 and 4 have their own tests (test_example_03.py, test_example_04.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"

pytestmark = pytest.mark.integration


def run_example(relative: str) -> tuple[str, float]:
    script = EXAMPLES / relative
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == "", result.stderr  # no warnings, no tracebacks
    return result.stdout, elapsed


def statuses(block: str) -> dict[str, str]:
    """Map task name -> status from lines like '  success  download_weather'."""
    found = re.findall(r"^  (success|errored|skipped)\s+(\w+)", block, flags=re.MULTILINE)
    return {name: status for status, name in found}


def test_example_1_orders_tasks_and_skips_only_the_dependants_of_a_failure() -> None:
    out, _ = run_example("01_basic_tasks_and_dependencies/example1.py")

    assert (
        "Run order: download_weather -> download_news -> build_digest -> send_digest -> clean_up"
        in out
    )
    assert "Downstream of download_news: build_digest, send_digest" in out
    good, bad = out.split("== the news site is down")
    assert set(statuses(good).values()) == {"success"}
    assert len(statuses(good)) == 5
    assert "(sending) Weather: sunny, 21 °C. News: processes 8 released." in good
    assert statuses(bad) == {
        "download_weather": "success",
        "download_news": "errored",
        "build_digest": "skipped",
        "send_digest": "skipped",
        "clean_up": "success",
    }
    assert "(sending)" not in bad
    assert "2 succeeded, 1 errored, 2 skipped" in bad
    assert (
        "download_news failed with ConnectionError: news.example.test did not answer; "
        "skipped because of it: build_digest, send_digest"
    ) in bad
    assert "Log files: digest.log, news.log, send.log, weather.log" in out
    assert "news.log ends with: ConnectionError: news.example.test did not answer" in out
    assert "First run ok: True; second run ok: False" in out


def test_example_2_passes_results_as_args_in_listed_order_and_as_kwargs() -> None:
    out, _ = run_example("02_task_dependencies_result_passing/example2.py")

    assert "load_orders('2024-05')" in out
    assert "totals_per_customer('EUR', <3 orders>)" in out
    assert "write_invoices(<customers>, <totals>, tax_rate=0.2, footer='Thank you!')" in out
    assert "totals_per_customer: {'c1': '150.00 EUR', 'c2': '80.00 EUR'}" in out
    assert (
        "write_invoices: ['Ada: 150.00 EUR (VAT 20%) Thank you!', "
        "'Grace: 80.00 EUR (VAT 20%) Thank you!']"
    ) in out
    assert "announce: '2 invoices for May'" in out
    assert "write_invoices was called with kwargs: ['footer', 'tax_rate']" in out
    assert "All ok: True" in out
    assert "TypeError: Dependency 'load_tax_rate' passes its result as a keyword argument" in out
    cycle = re.search(r"CircularDependencyError: Circular dependency detected\. (.+)", out)
    assert cycle is not None
    names = cycle.group(1).split(" -> ")
    assert names[0] == names[-1]
    assert sorted(names[:-1]) == ["a", "b", "c"]


def test_example_5_retries_the_transient_abandons_the_stuck_and_fails_fast() -> None:
    out, elapsed = run_example("05_retries_timeouts_fail_fast/example5.py")

    first, second = out.split("== run 2")
    retries = re.findall(
        r"fetch_prices: attempt (\d)/5 failed \(ConnectionError: .*\); retrying in ([\d.]+)s",
        first,
    )
    assert [attempt for attempt, _ in retries] == ["1", "2"]
    # retry_delay=0.05, backoff 2, jitter ±20%: about 0.05 then about 0.10.
    delays = [float(delay) for _, delay in retries]
    assert 0.03 <= delays[0] <= 0.07
    assert 0.07 <= delays[1] <= 0.13
    assert re.search(r"success  fetch_prices\s+attempts=3\n", first)
    assert re.search(r"errored  fetch_stock\s+attempts=1\s+TimeoutError: .*timed out", first)
    assert re.search(r"success  fetch_rates\s+attempts=1\n", first)
    assert re.search(
        r"errored  check_rates\s+attempts=1\s+ValueError: rates must be positive", first
    )
    assert re.search(r"skipped  publish\s+attempts=0\n", first)
    assert (
        "fetch_prices failed attempts: ['ConnectionError: connection reset by peer (call 1)'"
        in first
    )
    assert "the service was called 3 times for prices" in first
    took = re.search(r"the run took ([\d.]+)s although fetch_stock never returns", first)
    assert took is not None
    assert float(took.group(1)) < 5  # the hung call was abandoned, not waited for

    assert statuses(second) == {
        "fetch_prices": "success",
        "fetch_stock": "errored",
        "fetch_rates": "skipped",
        "check_rates": "skipped",
        "publish": "skipped",
    }
    assert "1 succeeded, 1 errored, 3 skipped" in second
    # The interpreter exited although two threads are still stuck in stock().
    assert elapsed < 30
