"""Example 6 runs offline, as a newcomer runs it: five nights, one killed with SIGKILL,
three alerts, two resumes."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from processes import RunHistory, TaskChange

EXAMPLE = Path(__file__).parents[2] / "examples" / "06_every_night"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def output() -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / "example6.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""  # no warnings, no tracebacks
    return done.stdout


def nights(out: str) -> list[str]:
    return out.split("== night ")[1:]


def alerts() -> list[EmailMessage]:
    paths = sorted((EXAMPLE / "state" / "outbox").glob("*.eml"))
    return [
        email.message_from_bytes(
            path.read_bytes(), _class=EmailMessage, policy=email.policy.default
        )
        for path in paths
    ]


def test_the_first_failure_alerts_the_same_failure_does_not(output: str) -> None:
    first, second, *_ = nights(output)
    assert "charge_payments" in first
    assert "new failure" in first
    assert "alert sent" in first
    assert "still failing" in second
    assert "(2 runs in a row)" in second
    assert "alert sent" not in second
    assert "no alert" in second


def test_the_resumed_night_runs_only_what_failed_and_alerts_the_recovery(output: str) -> None:
    third = nights(output)[2]
    assert "functions called: charge_payments, ship_orders\n" in third
    for reused in ("fetch_inventory", "enrich_pricing", "archive_logs"):
        assert f"{reused}" in third
    assert third.count("reused, not run") == 3
    assert "recovered" in third
    assert "alert sent" in third


def test_the_alerts_are_real_emails_that_say_what_changed(output: str) -> None:
    failed, recovered, _ = alerts()
    assert failed["Subject"].endswith("orders-pipeline | " + failed["Subject"][-8:])
    assert failed["Subject"] != recovered["Subject"]
    failed_text = failed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    recovered_text = recovered.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "charge_payments" in failed_text
    assert "new" in failed_text.lower()
    assert "recovered" in recovered_text.lower()
    for message in (failed, recovered):
        assert message.get_body(("html",)) is not None


def test_the_history_holds_the_five_nights(output: str) -> None:
    with RunHistory(EXAMPLE / "state" / "history.db") as history:
        runs = history.runs("orders-pipeline")
        assert [run.ok for run in runs] == [True, False, True, False, False]
        third = history.report(runs[2].run_id)
        assert third.changes == {"charge_payments": TaskChange.RECOVERED}
        assert [name for name, entry in third.entries.items() if entry.reused] == [
            "fetch_inventory",
            "enrich_pricing",
            "archive_logs",
        ]


def test_the_killed_night_is_found_dead_and_resumed_by_the_same_cron_line(output: str) -> None:
    fourth, fifth = nights(output)[3:]
    assert "exit status -9" in fourth
    assert "alert sent" not in fourth
    assert 'resume="last"' in fifth
    assert fifth.count("reused, not run") == 3  # what night 4 finished before it died
    assert "functions called: archive_logs, ship_orders\n" in fifth
    assert "found dead:" in fifth
    assert "after 3 of 5 tasks, during ship_orders" in fifth
    assert "alert sent" in fifth
    with RunHistory(EXAMPLE / "state" / "history.db") as history:
        runs = history.runs("orders-pipeline")
    assert [run.stopped_by.value if run.stopped_by else None for run in runs][:2] == [
        None,
        "crashed",
    ]
