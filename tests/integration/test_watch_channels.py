"""A finding of the watch through every channel (SPEC §14, §8): the email to a real SMTP
server (aiosmtpd), the webhook signed to a real HTTP server, Slack, Discord and Teams in
their formats, files; in several languages, secrets masked, sizes bounded."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from processes import (
    DiscordChannel,
    EmailChannel,
    Expectation,
    FileChannel,
    Finding,
    FindingKind,
    HTMLEmailStyle,
    Process,
    ReportChannel,
    RunHistory,
    SlackChannel,
    SMTPConfig,
    Task,
    TeamsChannel,
    WebhookChannel,
    WebhookConfig,
    verify,
)
from processes.rendering.common import format_duration
from processes.rendering.locales import get_locale
from processes.report import ProcessExecutionReport
from smtp_inbox import HOST, smtp_server

pytestmark = pytest.mark.integration

FROM, TO = "watch@example.com", "oncall@example.com"
SECRET = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="


def run_job(history: RunHistory, seconds: float = 0.0) -> ProcessExecutionReport:
    def work() -> None:
        if seconds:
            import time

            time.sleep(seconds)  # the job's own duration

    with Process([Task("work", work)], name="nightly-etl") as process:
        return process.run(parallel=False, history=history)


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[FindingKind, Finding]:
    """A MISSED and a TOO_SHORT finding, from a history of real runs."""
    path = tmp_path_factory.mktemp("watch") / "runs.db"
    with RunHistory(path) as history:
        for _ in range(5):
            run_job(history, seconds=0.12)
        expect = Expectation("nightly-etl", timedelta(days=1), min_runtime="usual")
        history.check(expect)
        quick = run_job(history)
        assert quick.started_at is not None
        (too_short,) = history.check(expect, now=quick.started_at + timedelta(hours=1))
        (missed,) = history.check(expect, now=quick.started_at + timedelta(days=2))
    return {FindingKind.MISSED: missed, FindingKind.TOO_SHORT: too_short}


def parts(raw: bytes) -> tuple[str, str, Any]:
    import email
    from email import policy

    message = email.message_from_bytes(raw, policy=policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    markup = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, markup, message


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ("Missed: nightly-etl", "did not run", "Last run", "Usual duration", "succeeded")),
        ("de", ("Ausgefallen: nightly-etl", "nicht gelaufen", "Letzter Lauf", "Übliche Dauer")),
    ],
)
def test_a_missed_email_arrives_in_its_language(
    findings: dict[FindingKind, Finding], language: str, words: tuple[str, ...]
) -> None:
    missed = findings[FindingKind.MISSED]
    with smtp_server() as (inbox, port):
        channel = EmailChannel(
            SMTPConfig((HOST, port), FROM, [TO]), HTMLEmailStyle("slate", language)
        )
        (delivery,) = missed.notify(channel)
    assert delivery.ok, delivery.error
    (arrival,) = inbox.arrivals
    text, markup, message = parts(arrival.raw)
    assert message["Subject"].startswith(words[0] + " | ")
    assert message.get_content_type() == "multipart/alternative"
    assert message["Message-ID"]
    assert message["Date"]
    assert f'lang="{language}"' in markup
    for word in words[1:]:
        assert word in text
        assert word in markup
    assert missed.last_run_id is not None
    assert missed.last_run_id in text  # the last run, by its id
    assert len(arrival.raw) < 100_000


def test_a_too_short_email_says_the_usual_duration(findings: dict[FindingKind, Finding]) -> None:
    too_short = findings[FindingKind.TOO_SHORT]
    assert too_short.usual_seconds is not None
    with smtp_server() as (inbox, port):
        channel = EmailChannel(SMTPConfig((HOST, port), FROM, [TO]), HTMLEmailStyle(language="fr"))
        (delivery,) = too_short.notify(channel)
    assert delivery.ok, delivery.error
    text, markup, message = parts(inbox.arrivals[0].raw)
    assert message["Subject"].startswith("Trop courte: nightly-etl")
    assert "n'a duré que" in text
    # the median of the five runs of about 0.12 s before it, as French writes durations
    usual = format_duration(too_short.usual_seconds, get_locale("fr"))
    assert re.search(rf"Durée habituelle: +{re.escape(usual)}\r?\n", text)
    assert usual in markup


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    yield httpserver_ipv4
    httpserver_ipv4.clear()


def only_request(server: HTTPServer) -> Any:
    ((request, _),) = server.log
    return request


@pytest.mark.parametrize("signing", ["hmac-sha256", "standard-webhooks"])
def test_the_webhook_posts_a_signed_finding_payload(
    server: HTTPServer, findings: dict[FindingKind, Finding], signing: str
) -> None:
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    config = WebhookConfig(
        server.url_for("/hook"), secret=SECRET, signing=signing, extra_payload={"team": "data"}
    )
    (delivery,) = findings[FindingKind.MISSED].notify(WebhookChannel(config, sleep=lambda _: None))
    assert delivery.ok, delivery.error
    request = only_request(server)
    body = request.get_data()
    assert verify(body, dict(request.headers), SECRET)
    payload = json.loads(body)
    assert payload["kind"] == "finding"
    assert payload["team"] == "data"
    finding = payload["finding"]
    assert finding["kind"] == "missed"
    assert finding["process_name"] == "nightly-etl"
    assert finding["run_id"] is None
    assert finding["title"] == "Missed: nightly-etl"
    assert finding["since"] == findings[FindingKind.MISSED].since.isoformat()
    assert finding["last_run"]["outcome"] == "ok"


@pytest.mark.parametrize(
    ("kind", "language", "title"),
    [
        (SlackChannel, "en", "Too short: nightly-etl"),
        (SlackChannel, "es", "Demasiado corta: nightly-etl"),
        (DiscordChannel, "de", "Zu kurz: nightly-etl"),
        (DiscordChannel, "pt", "Curta demais: nightly-etl"),
        (TeamsChannel, "it", "Troppo breve: nightly-etl"),
        (TeamsChannel, "en", "Too short: nightly-etl"),
    ],
)
def test_chat_channels_post_the_finding_in_their_format_and_language(
    server: HTTPServer,
    findings: dict[FindingKind, Finding],
    kind: type[SlackChannel | DiscordChannel | TeamsChannel],
    language: str,
    title: str,
) -> None:
    server.expect_request("/chat", method="POST").respond_with_data("ok")
    channel = kind(server.url_for("/chat"), language=language, sleep=lambda _: None)
    (delivery,) = findings[FindingKind.TOO_SHORT].notify(channel)
    assert delivery.ok, delivery.error
    payload = json.loads(only_request(server).get_data())
    if kind is SlackChannel:
        assert payload["blocks"][0]["text"]["text"] == title
        assert payload["text"].startswith(title)
    elif kind is DiscordChannel:
        assert payload["embeds"][0]["title"] == title
        assert payload["allowed_mentions"] == {"parse": []}
    else:
        card = payload["attachments"][0]["content"]
        assert card["type"] == "AdaptiveCard"
        assert card["body"][0]["inlines"][0]["text"] == title


def hostile_finding() -> Finding:
    """A finding whose texts hold a URL's password and a webhook's token, and are huge."""
    name = "sync https://bob:hunter2-secret-pass@db.example/x " + "@everyone " + "x" * 20_000
    return Finding(
        FindingKind.MISSED,
        name,
        None,
        datetime.fromisoformat("2026-12-05T02:15:00+00:00"),
        f"{name} did not run: XXXXSECRETXXXXTOKEN",
    )


def test_secrets_are_masked_and_sizes_bounded_on_every_channel(
    server: HTTPServer, tmp_path: Path
) -> None:
    token_path = "/services/T000/B000/XXXXSECRETXXXXTOKEN"
    for path in ("/hook", "/slack", token_path):
        server.expect_request(path, method="POST").respond_with_data("ok")
    channels = [
        WebhookChannel(WebhookConfig(server.url_for("/hook")), sleep=lambda _: None),
        SlackChannel(server.url_for(token_path), sleep=lambda _: None),
        DiscordChannel(server.url_for("/slack"), sleep=lambda _: None),
        TeamsChannel(server.url_for("/slack"), sleep=lambda _: None),
        FileChannel(tmp_path / "finding.json", "json"),
    ]
    deliveries = hostile_finding().notify(*channels)
    assert all(delivery.ok for delivery in deliveries), deliveries
    bodies = [request.get_data() for request, _ in server.log]
    bodies.append((tmp_path / "finding.json").read_bytes())
    assert len(bodies) == 5
    for body in bodies:
        assert b"hunter2-secret-pass" not in body
        assert b"XXXXSECRETXXXXTOKEN" not in body
        assert len(body) < 30_000
    slack = json.loads(bodies[1])
    assert len(slack["blocks"][0]["text"]["text"]) <= 150
    discord = json.loads(bodies[2])
    assert len(discord["content"]) <= 2000
    assert "@everyone" not in json.dumps(discord)  # made inert


def test_file_channel_writes_a_finding_in_each_format(
    findings: dict[FindingKind, Finding], tmp_path: Path
) -> None:
    missed = findings[FindingKind.MISSED]
    channels = [FileChannel(tmp_path / f"finding.{f}", f) for f in ("json", "text", "html")]  # type: ignore[arg-type]
    assert all(delivery.ok for delivery in missed.notify(*channels))
    assert json.loads((tmp_path / "finding.json").read_text())["kind"] == "missed"
    assert (tmp_path / "finding.text").read_text().startswith("Missed: nightly-etl\n")
    assert "<title>Missed: nightly-etl</title>" in (tmp_path / "finding.html").read_text()


def test_a_channel_without_send_finding_fails_its_delivery_with_a_warning(
    findings: dict[FindingKind, Finding], tmp_path: Path
) -> None:
    class OldChannel(ReportChannel):
        def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
            pass

    class DuckChannel:
        def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
            pass

    written = FileChannel(tmp_path / "after.txt", "text")
    with pytest.warns(UserWarning, match="failed to deliver the finding") as caught:
        old, duck, after = findings[FindingKind.MISSED].notify(OldChannel(), DuckChannel(), written)
    assert (old.ok, duck.ok, after.ok) == (False, False, True)
    assert isinstance(old.error, NotImplementedError)
    assert "send_finding" in str(old.error)
    assert isinstance(duck.error, TypeError)
    assert any("OldChannel failed to deliver the finding" in str(w.message) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (quiet,) = findings[FindingKind.MISSED].notify(OldChannel(), show_warnings=False)
    assert not quiet.ok
