"""What a user or a recipient could see of a report: the red-team tests look for secrets
in all of it, its views and what its channels deliver to real servers."""

from __future__ import annotations

import email
import json
import socket
from email import policy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_httpserver import HTTPServer

    from processes import ProcessExecutionReport


def everything(report: ProcessExecutionReport) -> str:
    """Every serialisation of a report, and every text field of its entries, joined."""
    parts = [report.to_json(), report.to_text(color=False), report.to_html(), report.to_mermaid()]
    for entry in report.entries.values():
        parts += [repr(entry.args), repr(entry.kwargs), repr(entry.result)]
        parts += list(entry.attempt_errors)
        if entry.error is not None:
            error = entry.error
            parts += [error.exception, error.traceback_str, repr(error.traced_vars)]
            parts += [repr(error.args), repr(error.kwargs)]
    return "\n".join(parts)


class Inbox:
    """An aiosmtpd handler that keeps every message it receives, as sent."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def delivered(report: ProcessExecutionReport, httpserver: HTTPServer) -> dict[str, str]:
    """Every view of ``report`` and what its email (to a real aiosmtpd on 127.0.0.1) and
    webhook (to ``httpserver``) deliver: the raw email, its decoded parts and subject, the
    body POSTed, and the same parsed and written back without escapes."""
    from aiosmtpd.controller import Controller

    from processes import EmailChannel, SMTPConfig, WebhookChannel, WebhookConfig

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    try:
        deliveries = report.notify(
            EmailChannel(SMTPConfig(("127.0.0.1", port), "ci@example.test", ["ops@example.test"])),
            WebhookChannel(WebhookConfig(httpserver.url_for("/hook"))),
        )
    finally:
        controller.stop()
    assert [d.ok for d in deliveries] == [True, True], deliveries
    (raw,) = inbox.raw
    message = email.message_from_bytes(raw, policy=policy.default)
    parts = [part.get_content() for part in message.walk() if not part.is_multipart()]
    (request, _), *_ = httpserver.log
    body = request.get_data(as_text=True)
    return {
        "to_text": report.to_text(color=False),
        "to_html": report.to_html(),
        "to_json": report.to_json(),
        "everything": everything(report),
        "the email as sent": raw.decode("utf-8", errors="replace"),
        "the email's subject": str(message["Subject"]),
        "the email's parts": "\n".join(parts),
        "the webhook body": body,
        "the webhook JSON": json.dumps(json.loads(body), ensure_ascii=False),
    }
