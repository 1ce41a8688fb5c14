"""Slack, Discord and Teams channels: a chat renderer on the webhook transport.

They share ``channels.webhook``'s URL rules, timeouts, retries and secrecy: the incoming
webhook URL is the credential, so only its scheme and host ever appear in a message.
Imports ``processes.report`` only for type checking.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import TYPE_CHECKING, Any, ClassVar

from processes.channels.base import ReportChannel
from processes.channels.webhook import (
    HttpTransport,
    check_url,
    mask_payload,
    redact_url,
    url_secrets,
)
from processes.checks import check_choice, check_count, check_seconds, check_type
from processes.content import ReportContent
from processes.rendering.chat import render_discord, render_slack, render_teams
from processes.rendering.findings import (
    render_finding_discord,
    render_finding_slack,
    render_finding_teams,
)
from processes.rendering.locales import LANGUAGES
from processes.rendering.webhook import serialise_payload

if TYPE_CHECKING:
    from collections.abc import Callable

    from processes.report import Finding, ProcessExecutionReport

__all__ = ["DiscordChannel", "SlackChannel", "TeamsChannel"]


class _ChatChannel(ReportChannel):
    """An incoming-webhook URL and a renderer; ``timeout`` and ``retries`` as for webhooks.

    ``language`` is one of the email's (``en``, ``es``, ``pt``, ``fr``, ``de``, ``it``).
    """

    _render: ClassVar[Callable[..., dict[str, Any]]]
    _render_finding: ClassVar[Callable[..., dict[str, Any]]]

    def __init__(
        self,
        url: str,
        content: ReportContent | None = None,
        *,
        language: str = "en",
        timeout: float = 5,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        name = type(self).__name__
        checked = check_url(url, what=f"{name} url")
        self.url = self._prepare_url(checked)
        # From the URL as given: "wait=true", added for Discord, is no secret to mask.
        self._secrets = url_secrets(checked)
        check_type("content", content, ReportContent, owner=name, allow_none=True)
        check_seconds("timeout", timeout, owner=name)
        check_count("retries", retries, owner=name)
        check_choice("language", language, LANGUAGES, owner=name)  # now, not at send time
        self.language = language
        self.content = content or ReportContent()
        self._transport = HttpTransport(
            timeout_seconds=timeout, retries=retries, sleep=sleep, clock=clock
        )

    @staticmethod
    def _prepare_url(url: str) -> str:
        return url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={redact_url(self.url)!r}, content={self.content!r})"

    def render(self, report: ProcessExecutionReport, *, errors_only: bool = False) -> bytes:
        """Return the exact body ``send_report`` would POST."""
        payload = type(self)._render(
            report, content=self.content, errors_only=errors_only, language=self.language
        )
        return serialise_payload(mask_payload(payload, self._secrets))

    def secret_values(self) -> list[str]:
        return list(self._secrets)

    def render_finding(self, finding: Finding) -> bytes:
        """Return the exact body ``send_finding`` would POST."""
        payload = type(self)._render_finding(finding, language=self.language)
        return serialise_payload(mask_payload(payload, self._secrets))

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        body = self.render(report, errors_only=errors_only)
        self._transport.post(self.url, body, lambda _timestamp: {}, secrets=self._secrets)

    def send_finding(self, finding: Finding) -> None:
        """Post a finding of the watch (§14) in the service's own format."""
        body = self.render_finding(finding)
        self._transport.post(self.url, body, lambda _timestamp: {}, secrets=self._secrets)


class SlackChannel(_ChatChannel):
    """Post the report to a Slack incoming webhook as Block Kit, with a text fallback."""

    _render = staticmethod(render_slack)
    _render_finding = staticmethod(render_finding_slack)


class DiscordChannel(_ChatChannel):
    """Post the report to a Discord webhook as embeds that cannot ping anyone.

    ``?wait=true`` is added to the URL so that Discord reports a message it refused
    instead of answering 204 and dropping it.
    """

    _render = staticmethod(render_discord)
    _render_finding = staticmethod(render_finding_discord)

    @staticmethod
    def _prepare_url(url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "wait"]
        query.append(("wait", "true"))
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


class TeamsChannel(_ChatChannel):
    """Post the report to a Teams Workflows webhook as one Adaptive Card (under 28 KB)."""

    _render = staticmethod(render_teams)
    _render_finding = staticmethod(render_finding_teams)
