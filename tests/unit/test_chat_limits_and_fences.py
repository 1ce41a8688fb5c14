"""Chat messages stay within each service's documented limits, code blocks never broken open.

Limits: NOTIFY.md D (Slack Block Kit, Discord embed limits, Teams 28 KB). A code block is
"broken open" when a fence is cut off or a run of backticks inside it closes it early:
either way an odd number of ``` fences, or more fences than blocks, is left in a text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from factories import make_entry, make_error, make_report
from processes import TaskStatus
from processes.rendering.chat import render_discord, render_slack, render_teams

FENCE = "```"
BIG = 64 * 1024


def fences(text: str) -> int:
    return text.count(FENCE)


def slack_texts(message: dict[str, Any]) -> list[str]:
    texts = [message["text"]]
    for block in message["blocks"]:
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts += [element["text"] for element in block.get("elements", [])]
    return texts


def discord_values(message: dict[str, Any]) -> list[str]:
    return [field["value"] for embed in message["embeds"] for field in embed.get("fields", [])]


def starred_failure(name: str, traceback: str, **error: Any) -> Any:
    # Every "*" is escaped for Discord ("\*"), so the message takes twice its length there.
    return make_entry(
        name,
        TaskStatus.ERRORED,
        error=make_error(name, "ValueError: " + "*" * 290, traceback=traceback, **error),
    )


def test_discords_traceback_block_stays_closed_when_nothing_was_skipped() -> None:
    traceback = "Traceback (most recent call last):\n" + "  frame line\n" * 200 + "ValueError"
    report = make_report(starred_failure("load", traceback))  # no skipped dependants
    (value,) = discord_values(render_discord(report))
    assert len(value) <= 1024
    assert fences(value) % 2 == 0, value


@pytest.mark.parametrize("ticks", [3, 4, 5, 6, 9])
def test_runs_of_backticks_never_close_slacks_or_discords_code_blocks(ticks: int) -> None:
    run = "`" * ticks
    traceback = f"Traceback (most recent call last):\n  x = {run}oops{run}\nValueError: {run}"
    entry = make_entry(
        "render",
        TaskStatus.ERRORED,
        error=make_error(
            "render",
            f"ValueError: {run}",
            traceback=traceback,
            traced_vars={"markdown": f"'{run}python'", "tail": f"'{run}'"},
        ),
    )
    report = make_report(entry)
    (failure_text,) = [t for t in slack_texts(render_slack(report)) if "Traceback" in t]
    assert fences(failure_text) == 4  # two blocks, two fences each: nothing inside closes one
    (value,) = discord_values(render_discord(report))
    assert fences(value) == 4, value
    for text in (failure_text, value):
        inner = text.split(FENCE)[1::2]
        assert all("``" not in block for block in inner)
        assert all(not block.endswith("`") for block in inner)


def huge_report() -> Any:
    hostile = "`````@everyone <!channel> *_~|>" * 2000
    failures = [
        make_entry(
            f"load_{i:04d}" + "`" * (i % 7),
            TaskStatus.ERRORED,
            error=make_error(
                f"load_{i:04d}",
                "ValueError: " + hostile[: BIG - 12],
                traceback="Traceback (most recent call last):\n" + hostile[:BIG] + "\nValueError",
                traced_vars={f"v{j}" * 20: hostile[:5000] for j in range(12)},
                downstream=tuple(f"after_{i}_{j}" for j in range(i % 3)),
            ),
        )
        for i in range(2000)
    ]
    successes = [make_entry(f"ok_{i:05d}`") for i in range(20_000)]
    return make_report(*failures, *successes)


@pytest.fixture(scope="module")
def huge() -> Any:
    return huge_report()


def test_slack_stays_within_block_kit_limits(huge: Any) -> None:
    message = render_slack(huge)
    assert len(message["blocks"]) <= 50
    assert len(message["text"]) <= 40_000
    for block in message["blocks"]:
        text = block.get("text")
        if block["type"] == "header":
            assert len(text["text"]) <= 150
        elif isinstance(text, dict):
            assert len(text["text"]) <= 3000
    for text in slack_texts(message):
        assert fences(text) % 2 == 0


def test_discord_stays_within_embed_limits(huge: Any) -> None:
    message = render_discord(huge)
    assert len(message["content"]) <= 2000
    assert len(message["embeds"]) <= 10
    total = 0
    for embed in message["embeds"]:
        assert len(embed.get("title", "")) <= 256
        assert len(embed.get("description", "")) <= 4096
        assert len(embed.get("fields", [])) <= 25
        footer = embed.get("footer", {}).get("text", "")
        assert len(footer) <= 2048
        total += len(embed.get("title", "")) + len(embed.get("description", "")) + len(footer)
        for field in embed.get("fields", []):
            assert len(field["name"]) <= 256
            assert len(field["value"]) <= 1024
            assert fences(field["value"]) % 2 == 0
            total += len(field["name"]) + len(field["value"])
    assert total <= 6000


def test_teams_stays_under_28_kb(huge: Any) -> None:
    message = render_teams(huge)
    size = len(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode())
    assert size < 28 * 1024
