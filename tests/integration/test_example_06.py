"""Example 6 runs offline, as a newcomer runs it: three nights, two alerts, one resume."""

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
    first, second, _ = nights(output)
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


def test_the_two_alerts_are_real_emails_that_say_what_changed(output: str) -> None:
    failed, recovered = alerts()
    assert failed["Subject"].endswith("orders-pipeline | " + failed["Subject"][-8:])
    assert failed["Subject"] != recovered["Subject"]
    failed_text = failed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    recovered_text = recovered.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "charge_payments" in failed_text
    assert "new" in failed_text.lower()
    assert "recovered" in recovered_text.lower()
    for message in (failed, recovered):
        assert message.get_body(("html",)) is not None


def test_the_history_holds_the_three_nights(output: str) -> None:
    with RunHistory(EXAMPLE / "state" / "history.db") as history:
        runs = history.runs("orders-pipeline")
        assert [run.ok for run in runs] == [True, False, False]
        last = history.last("orders-pipeline")
        assert last is not None
        assert last.changes == {"charge_payments": TaskChange.RECOVERED}
        assert [name for name, entry in last.entries.items() if entry.reused] == [
            "fetch_inventory",
            "enrich_pricing",
            "archive_logs",
        ]
