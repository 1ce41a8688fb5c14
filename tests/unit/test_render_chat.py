"""Slack, Discord and Teams payloads: each service's limits, truncation, inert task text."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chat_limits import (
    assert_within_discord_limits,
    assert_within_slack_limits,
    assert_within_teams_limit,
)
from factories import heavy_report, hostile_report, orders_payload_report
from processes import ReportContent
from processes.rendering.chat import render_discord, render_slack, render_teams
from processes.rendering.webhook import serialise_payload

LARGE = heavy_report(5000, 300)
ERRORED = list(LARGE.errored)


def strings(value: Any) -> list[str]:
    """Every string in a JSON-like value, keys excluded."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def shown_and_hidden(payload: dict[str, Any], names: list[str]) -> tuple[int, int]:
    text = "\n".join(strings(payload)).replace("\\_", "_")
    shown = sum(name in text for name in names)
    more = re.search(r"… ([\d,]+) more failed tasks", text)
    return shown, int(more.group(1).replace(",", "")) if more else 0


def test_large_run_fits_slack_limits() -> None:
    payload = render_slack(LARGE)
    assert_within_slack_limits(payload)
    blocks = payload["blocks"]
    assert len([b for b in blocks if b["type"] == "header"]) == 1
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert payload["text"].startswith("nightly-warehouse-load: 300 of 5,000 tasks failed")
    shown, hidden = shown_and_hidden(payload, ERRORED)
    assert shown >= 10
    assert shown + hidden == 300
    assert "*Succeeded (4,387)*" in "\n".join(sections)


def test_large_run_fits_discord_limits() -> None:
    payload = render_discord(LARGE)
    assert_within_discord_limits(payload)
    shown, hidden = shown_and_hidden(payload, ERRORED)
    assert shown >= 10
    assert shown + hidden == 300


def test_many_short_failures_spill_into_more_embeds_within_limits() -> None:
    small = heavy_report(2000, 1000)
    payload = render_discord(small, content=ReportContent.min(), detailed_failures=0)
    assert_within_discord_limits(payload)
    assert len(payload["embeds"]) >= 2


def test_large_run_fits_teams_limit() -> None:
    payload = render_teams(LARGE)
    assert_within_teams_limit(serialise_payload(payload))
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"
    assert attachment["content"]["version"] == "1.2"
    shown, hidden = shown_and_hidden(payload, ERRORED)
    assert shown >= 10
    assert shown + hidden == 300


@pytest.mark.parametrize("max_bytes", [4000, 9000, 15000])
def test_teams_respects_any_byte_budget(max_bytes: int) -> None:
    payload = render_teams(LARGE, max_bytes=max_bytes)
    assert len(serialise_payload(payload)) <= max_bytes
    shown, hidden = shown_and_hidden(payload, ERRORED)
    assert shown + hidden == 300


@pytest.mark.parametrize("render", [render_slack, render_discord, render_teams])
def test_a_small_run_shows_every_task_and_no_truncation(render: Any) -> None:
    text = "\n".join(strings(render(orders_payload_report()))).replace("\\_", "_")
    for name in ("fetch_inventory", "enrich_pricing", "charge_payments", "ship_orders"):
        assert name in text
    assert "more failed tasks" not in text
    assert "ConnectionError: payment gateway unreachable" in text
    assert "1 of 5 tasks failed" in text


@pytest.mark.parametrize("render", [render_slack, render_discord, render_teams])
def test_errors_only_leaves_out_successes_but_keeps_the_counts(render: Any) -> None:
    text = "\n".join(strings(render(orders_payload_report(), errors_only=True))).replace("\\_", "_")
    assert "charge_payments" in text
    assert "fetch_inventory" not in text
    assert "archive_logs" not in text
    assert "3 succeeded" in text


@pytest.mark.parametrize("render", [render_slack, render_discord, render_teams])
def test_content_presets_decide_traceback_and_variables(render: Any) -> None:
    full = "\n".join(strings(render(orders_payload_report(), content=ReportContent.full())))
    trace = "\n".join(strings(render(orders_payload_report(), content=ReportContent.trace())))
    minimal = "\n".join(strings(render(orders_payload_report(), content=ReportContent.min())))
    assert "Traceback (most recent call last)" in full
    assert "order = 'A-17'" in full
    assert "Traceback (most recent call last)" in trace
    assert "order = 'A-17'" not in trace
    assert "Traceback (most recent call last)" not in minimal
    assert "order = 'A-17'" not in minimal
    assert "payment gateway unreachable" in minimal


def test_all_succeeded_title() -> None:
    report = heavy_report(50, 1)
    only_ok = report.only(report.successes)
    assert render_slack(only_ok)["text"] == "nightly-warehouse-load: all 48 tasks succeeded"


# -- inert task text ------------------------------------------------------------------------


def test_slack_escapes_mentions_and_markup() -> None:
    payload = render_slack(hostile_report())
    body = json.dumps(payload, ensure_ascii=False)
    for live in ("<!channel>", "<!here>", "<script>", "<b>", "<img", "& more"):
        assert live not in body
    text = "\n".join(strings(payload))
    assert "&lt;!channel&gt;" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&amp; more" in text
    # The traceback's own ``` cannot close the code block early.
    code = next(t for t in strings(payload) if "Traceback" in t)
    assert code.count("```") % 2 == 0


def test_discord_cannot_ping_or_link() -> None:
    payload = render_discord(hostile_report())
    assert payload["allowed_mentions"] == {"parse": []}
    link = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")  # [text]( not escaped
    for text in strings(payload):
        assert "@everyone" not in text
        assert "@here" not in text
        outside_code = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
        assert not link.search(outside_code)
    text = "\n".join(strings(payload))
    assert "@\u200beveryone" in text
    assert "\\[x\\](https://evil.test)" in text


def test_teams_carries_task_text_only_in_plain_text_runs() -> None:
    payload = render_teams(hostile_report())
    body = serialise_payload(payload).decode()
    assert '"TextBlock"' not in body  # TextBlock would read the text as markdown
    assert "entities" not in body  # no mention entities, so <at> and @everyone stay text
    card = payload["attachments"][0]["content"]

    def runs(item: Any) -> list[dict[str, Any]]:
        if isinstance(item, dict):
            found = [item] if item.get("type") == "TextRun" else []
            return found + [r for value in item.values() for r in runs(value)]
        if isinstance(item, list):
            return [r for value in item for r in runs(value)]
        return []

    texts = [run["text"] for run in runs(card["body"])]
    assert any("<script>alert(1)</script>" in text for text in texts)
    assert sum(len(t) for t in texts) == sum(len(s) for s in strings(card["body"]) if s in texts)
