"""Slack, Discord and Teams channels against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from factories import heavy_report, hostile_report, orders_payload_report
from processes import DiscordChannel, SlackChannel, TeamsChannel

pytestmark = pytest.mark.integration

ChatChannel = SlackChannel | DiscordChannel | TeamsChannel
CHANNELS = [SlackChannel, DiscordChannel, TeamsChannel]
TOKEN_PATH = "/services/T000/B000/XXXXSECRETXXXX"


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    yield httpserver_ipv4
    httpserver_ipv4.clear()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make(kind: type[ChatChannel], url: str, sleeps: list[float], **kw: Any) -> ChatChannel:
    return kind(url, sleep=sleeps.append, **kw)


def only_payload(server: HTTPServer) -> dict[str, Any]:
    ((request, _),) = server.log
    assert request.headers["Content-Type"] == "application/json"
    payload: dict[str, Any] = json.loads(request.get_data())
    return payload


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def test_slack_receives_blocks_and_fallback_text(server: HTTPServer, sleeps: list[float]) -> None:
    server.expect_request("/slack", method="POST").respond_with_data("ok")
    (delivery,) = orders_payload_report().notify(
        make(SlackChannel, server.url_for("/slack"), sleeps)
    )
    assert delivery.ok
    payload = only_payload(server)
    assert payload["text"] == "orders-pipeline: 1 of 5 tasks failed"
    assert payload["blocks"][0]["type"] == "header"
    assert any("charge_payments" in text for text in strings(payload["blocks"]))


def test_discord_waits_for_the_verdict_and_keeps_the_query(
    server: HTTPServer, sleeps: list[float]
) -> None:
    server.expect_request("/api/webhooks/1/abc", method="POST").respond_with_json({"id": "1"})
    url = server.url_for("/api/webhooks/1/abc") + "?thread_id=77&wait=false"
    orders_payload_report().notify(make(DiscordChannel, url, sleeps))
    ((request, _),) = server.log
    assert request.args.to_dict(flat=False) == {"thread_id": ["77"], "wait": ["true"]}
    payload = only_payload(server)
    assert payload["allowed_mentions"] == {"parse": []}
    assert payload["embeds"][0]["title"] == "orders-pipeline: 1 of 5 tasks failed"


def test_teams_receives_an_adaptive_card(server: HTTPServer, sleeps: list[float]) -> None:
    server.expect_request("/workflows", method="POST").respond_with_data("", status=202)
    (delivery,) = orders_payload_report().notify(
        make(TeamsChannel, server.url_for("/workflows"), sleeps)
    )
    assert delivery.ok
    payload = only_payload(server)
    assert payload["type"] == "message"
    card = payload["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"


# -- a large run, as received ---------------------------------------------------------------

LARGE = heavy_report(5000, 300)


def test_large_run_slack(server: HTTPServer, sleeps: list[float]) -> None:
    server.expect_request("/slack").respond_with_data("ok")
    LARGE.notify(make(SlackChannel, server.url_for("/slack"), sleeps))
    blocks = only_payload(server)["blocks"]
    assert len(blocks) <= 50
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert sections
    assert max(len(text) for text in sections) <= 3000
    notes = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert any(
        re.fullmatch(r"… [\d,]+ more failed tasks \(see the full report\)", n) for n in notes
    )


def test_large_run_discord(server: HTTPServer, sleeps: list[float]) -> None:
    server.expect_request("/discord").respond_with_json({"id": "1"})
    LARGE.notify(make(DiscordChannel, server.url_for("/discord"), sleeps))
    embeds = only_payload(server)["embeds"]
    assert len(embeds) <= 10
    total = 0
    for embed in embeds:
        fields = embed.get("fields", [])
        assert len(fields) <= 25
        total += len(embed.get("title", "")) + len(embed.get("description", ""))
        total += len(embed.get("footer", {}).get("text", ""))
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
        assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 for f in fields)
    assert total <= 6000
    assert embeds[-1]["footer"]["text"].endswith("more failed tasks")


def test_large_run_teams(server: HTTPServer, sleeps: list[float]) -> None:
    server.expect_request("/teams").respond_with_data("", status=202)
    LARGE.notify(make(TeamsChannel, server.url_for("/teams"), sleeps))
    ((request, _),) = server.log
    body = request.get_data()
    assert len(body) < 28 * 1000
    assert "more failed tasks" in body.decode()


@pytest.mark.parametrize("kind", CHANNELS)
def test_only_errors_and_tasks_filters(
    server: HTTPServer, sleeps: list[float], kind: type[ChatChannel]
) -> None:
    server.expect_request("/chat").respond_with_data("ok")
    channel = make(kind, server.url_for("/chat"), sleeps)
    orders_payload_report().notify(
        channel, only_errors=True, tasks=["charge_payments", "Fetch_Inventory"]
    )
    text = "\n".join(strings(only_payload(server))).replace("\\_", "_")
    assert "charge_payments" in text
    assert "fetch_inventory" not in text
    assert "archive_logs" not in text


# -- inert task text, as received -----------------------------------------------------------


def test_slack_mentions_and_html_arrive_escaped(server: HTTPServer, sleeps: list[float]) -> None:
    server.expect_request("/slack").respond_with_data("ok")
    hostile_report().notify(make(SlackChannel, server.url_for("/slack"), sleeps))
    ((request, _),) = server.log
    raw = request.get_data().decode()
    for live in ("<!channel>", "<!here>", "<script>", "<b>", "<img"):
        assert live not in raw
    assert "&lt;!channel&gt;" in raw


def test_discord_mentions_arrive_inert(server: HTTPServer, sleeps: list[float]) -> None:
    server.expect_request("/discord").respond_with_json({})
    hostile_report().notify(make(DiscordChannel, server.url_for("/discord"), sleeps))
    payload = only_payload(server)
    assert payload["allowed_mentions"] == {"parse": []}
    assert not any("@everyone" in s or "@here" in s for s in strings(payload))


def test_teams_text_arrives_as_plain_runs(server: HTTPServer, sleeps: list[float]) -> None:
    server.expect_request("/teams").respond_with_data("", status=202)
    hostile_report().notify(make(TeamsChannel, server.url_for("/teams"), sleeps))
    raw = json.dumps(only_payload(server))
    assert '"TextBlock"' not in raw
    assert "msteams" in raw
    assert "entities" not in raw


# -- the shared transport -------------------------------------------------------------------


@pytest.mark.parametrize("kind", CHANNELS)
def test_chat_retries_503_then_delivers_the_same_body(
    server: HTTPServer, sleeps: list[float], kind: type[ChatChannel]
) -> None:
    server.expect_ordered_request("/chat").respond_with_data("", status=503)
    server.expect_ordered_request("/chat").respond_with_data("ok")
    (delivery,) = orders_payload_report().notify(make(kind, server.url_for("/chat"), sleeps))
    assert delivery.ok
    first, second = (request.get_data() for request, _ in server.log)
    assert first == second
    assert len(sleeps) == 1


@pytest.mark.parametrize("kind", CHANNELS)
def test_chat_failure_hides_the_webhook_token(
    server: HTTPServer, sleeps: list[float], kind: type[ChatChannel]
) -> None:
    server.expect_request(TOKEN_PATH).respond_with_data("invalid_token", status=403)
    channel = make(kind, server.url_for(TOKEN_PATH), sleeps)
    with pytest.warns(UserWarning, match="HTTP 403") as caught:
        (delivery,) = orders_payload_report().notify(channel)
    assert not delivery.ok
    assert len(server.log) == 1
    message = str(caught[0].message)
    assert kind.__name__ in message
    assert f"127.0.0.1:{server.port}/…" in message
    for text in (message, repr(channel), repr(delivery)):
        assert "XXXXSECRETXXXX" not in text
        assert "/services" not in text


@pytest.mark.parametrize("kind", CHANNELS)
@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:application/json,{}"]
)
def test_chat_channels_refuse_other_schemes(kind: type[ChatChannel], url: str) -> None:
    with pytest.raises(ValueError, match="must use http or https"):
        kind(url)


def test_chat_timeout_and_retries_are_validated() -> None:
    with pytest.raises(ValueError, match="SlackChannel timeout"):
        SlackChannel("https://hooks.slack.com/services/x", timeout=0)
    with pytest.raises(ValueError, match="TeamsChannel retries"):
        TeamsChannel("https://example.test/x", retries=-1)
