"""What each chat service accepts (../shared/NOTIFY.md), asserted of a payload we render.

One place for the limits, so that the unit, property and end-to-end tests hold every
payload to the same ones. Imports the standard library only.
"""

from __future__ import annotations

from typing import Any

TEAMS_MOST_BYTES = 28_000


def discord_total(payload: dict[str, Any]) -> int:
    """The characters Discord counts against its 6,000 per message, over every embed."""
    total = 0
    for embed in payload["embeds"]:
        total += len(embed.get("title", "")) + len(embed.get("description", ""))
        total += len(embed.get("footer", {}).get("text", ""))
        total += len(embed.get("author", {}).get("name", ""))
        total += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    return total


def assert_within_slack_limits(payload: dict[str, Any]) -> None:
    blocks = payload["blocks"]
    assert len(blocks) <= 50
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= 3000
    assert len(payload["text"]) <= 40_000


def assert_within_discord_limits(payload: dict[str, Any]) -> None:
    assert len(payload["content"]) <= 2000
    assert 1 <= len(payload["embeds"]) <= 10
    assert discord_total(payload) <= 6000
    for embed in payload["embeds"]:
        assert len(embed.get("title", "")) <= 256
        assert len(embed.get("description", "")) <= 4096
        assert len(embed.get("fields", [])) <= 25
        for item in embed.get("fields", []):
            assert 0 < len(item["name"]) <= 256
            assert 0 < len(item["value"]) <= 1024
    assert payload["allowed_mentions"] == {"parse": []}  # nobody pinged by a task's text


def assert_within_teams_limit(body: bytes) -> None:
    assert len(body) < TEAMS_MOST_BYTES
