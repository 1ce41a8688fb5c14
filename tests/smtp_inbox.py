"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message as it arrived.

Shared by the email tests that look at the delivered bytes (size, spam score, HTML
checks); imports aiosmtpd and the standard library only.
"""

from __future__ import annotations

import asyncio
import email
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass
class Arrival:
    """One message as the server got it: the EHLO name, the envelope and the bytes."""

    ehlo_name: str | None
    mail_options: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Inbox:
    """An aiosmtpd handler; ``replies`` are answered to DATA first, then ``250``."""

    arrivals: list[Arrival] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    attempts: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.replies:
            return self.replies.pop(0)
        self.arrivals.append(
            Arrival(session.host_name, list(envelope.mail_options), envelope.original_content)
        )
        return "250 OK"


class _Loopback(Controller):
    def __init__(self, handler: Inbox, **kwargs: Any) -> None:
        super().__init__(
            handler, hostname=HOST, port=0, server_hostname="mx.example.test", **kwargs
        )

    def _trigger_server(self) -> None:
        self.port = cast("asyncio.Server", self.server).sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@contextmanager
def smtp_server(inbox: Inbox | None = None, **kwargs: Any) -> Iterator[tuple[Inbox, int]]:
    """Run an aiosmtpd server on a free loopback port; yield its inbox and port.

    ``kwargs`` go to aiosmtpd's ``SMTP`` (e.g. ``decode_data``, ``authenticator``).
    """
    inbox = Inbox() if inbox is None else inbox
    controller = _Loopback(inbox, **kwargs)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()
