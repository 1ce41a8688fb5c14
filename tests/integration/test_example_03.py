"""The seed page's example runs offline, and delivers to real local servers when asked."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiosmtpd.controller import Controller

if TYPE_CHECKING:
    from pytest_httpserver import HTTPServer

EXAMPLE = Path(__file__).parents[2] / "examples" / "03_reports_and_notifications" / "example3.py"

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_example(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


def test_offline_run_triages_and_describes_without_sending() -> None:
    result = run_example(SEND_NOTIFICATIONS="0")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "3 succeeded, 1 errored, 1 skipped" in out
    assert "errored  charge_payments  attempts=3" in out
    assert "skipped  ship_orders" in out
    assert "Errored: charge_payments after 3 attempts: ConnectionError" in out
    assert "skipped because of it: ship_orders" in out
    assert "nothing is sent" in out
    assert "sk_live_do_not_leak_me" not in out + result.stderr
    saved = json.loads((EXAMPLE.parent / "logs" / "report.json").read_text())
    assert saved["process_name"] == "orders-pipeline"
    assert saved["entries"]["charge_payments"]["attempts"] == 3
    assert "sk_live_do_not_leak_me" not in (EXAMPLE.parent / "logs" / "charge.log").read_text()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"


def test_sending_delivers_one_alert_by_email_and_by_signed_webhook(
    httpserver: HTTPServer,
) -> None:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        httpserver.expect_request("/incoming", method="POST").respond_with_data("ok")
        result = run_example(
            SEND_NOTIFICATIONS="1",
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(port),
            WEBHOOK_URL=httpserver.url_for("/incoming"),
        )
    finally:
        controller.stop()

    assert result.returncode == 0, result.stderr
    assert "EmailChannel: delivered" in result.stdout
    assert "WebhookChannel: delivered" in result.stdout
    # only_errors=True, then tasks=["charge_payments"]: two emails, one webhook.
    assert len(inbox.messages) == 2
    alert = inbox.messages[0]
    assert "orders-pipeline" in alert["Subject"]
    body = alert.get_body(("plain",))
    assert body is not None
    assert "charge_payments" in body.get_content()
    ((request, _response),) = httpserver.log
    raw = request.get_data()
    expected = hmac.new(b"s3cr3t", raw, hashlib.sha256).hexdigest()
    assert request.headers["X-Signature-SHA256"] == expected
    payload = json.loads(raw)
    assert list(payload["report"]["entries"]) == ["charge_payments"]
    everything = raw.decode() + "".join(str(m) for m in inbox.messages)
    assert "sk_live_do_not_leak_me" not in everything
