"""The report as a Slack, Discord or Microsoft Teams message, within each one's limits.

Pure: no I/O. Each renderer fits its service's documented limits (NOTIFY.md D) by showing
the first failures in full, the next ones on one line each, and "… N more" for the rest.
Task text is made inert: escaped for Slack's mrkdwn, mention-proofed for Discord, and
carried in plain text runs for Teams. Imports ``processes.report`` only for type checking.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from processes.content import ReportContent
from processes.outcome import TaskStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from processes.report import ProcessExecutionReport, TaskReportEntry

__all__ = [
    "DISCORD_LIMITS",
    "SLACK_LIMITS",
    "TEAMS_MAX_BYTES",
    "render_discord",
    "render_slack",
    "render_teams",
]

#: Slack Block Kit (api.slack.com/reference/block-kit/blocks).
SLACK_LIMITS = {"blocks": 50, "section_text": 3000, "header_text": 150, "total_text": 12_000}
#: Discord embeds (discord-api-docs message.mdx#embed-limits).
DISCORD_LIMITS = {
    "content": 2000,
    "embeds": 10,
    "total": 6000,
    "fields": 25,
    "field_name": 256,
    "field_value": 1024,
    "title": 256,
    "description": 4096,
    "footer": 2048,
}
#: Teams Workflows webhooks refuse messages of 28 KB and more; this leaves headroom.
TEAMS_MAX_BYTES = 27_000

_ELLIPSIS = "…"
_ZWSP = "\u200b"


# -- what every chat message says -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Run:
    title: str
    summary: str
    ok: bool
    failures: list[TaskReportEntry]
    skipped: list[str]
    successes: list[str]


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes:.0f} min {rest:.0f} s"


def _digest(report: ProcessExecutionReport, errors_only: bool) -> _Run:
    entries = report.entries.values()
    failures = [e for e in entries if e.status is TaskStatus.ERRORED]
    skipped = [e.name for e in entries if e.status is TaskStatus.SKIPPED]
    successes = [e.name for e in entries if e.status is TaskStatus.SUCCESS]
    name = report.process_name or "Process"
    total = len(report.entries)
    if failures:
        title = f"{name}: {len(failures):,} of {total:,} tasks failed"
    elif skipped:
        title = f"{name}: {len(skipped):,} of {total:,} tasks skipped"
    else:
        title = f"{name}: all {total:,} tasks succeeded"
    parts = [
        f"{total:,} tasks: {len(successes):,} succeeded, {len(failures):,} errored, "
        f"{len(skipped):,} skipped"
    ]
    if report.started_at and report.finished_at:
        parts.append(f"in {_duration(report.elapsed_seconds)}")
        parts.append(f"started {report.started_at.isoformat(timespec='seconds')}")
    return _Run(
        title=title,
        summary=" · ".join(parts),
        ok=report.ok,
        failures=failures,
        skipped=[] if errors_only else skipped,
        successes=[] if errors_only else successes,
    )


def _attempts(entry: TaskReportEntry) -> str:
    plural = "" if entry.attempts == 1 else "s"
    return f"errored after {entry.attempts} attempt{plural}, {_duration(entry.elapsed_seconds)}"


def _exception(entry: TaskReportEntry) -> str:
    return entry.error.exception if entry.error and entry.error.exception else "unknown error"


def _impact(entry: TaskReportEntry) -> tuple[str, ...]:
    return entry.error.downstream_impact if entry.error else ()


def _tail(text: str, limit: int) -> str:
    """Keep the end of a traceback, where the error is."""
    text = text.rstrip()
    if len(text) <= limit:
        return text
    return _ELLIPSIS + text[-(limit - 1) :]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + _ELLIPSIS


def _names(names: Sequence[str], limit: int, show: Callable[[str], str]) -> str:
    """Join names while they fit in ``limit`` characters, then say how many are left."""
    shown: list[str] = []
    used = 0
    for index, name in enumerate(names):
        piece = show(name)
        rest = len(names) - index - 1
        reserve = len(f", {_ELLIPSIS} {len(names):,} more") if rest else 0
        if used + len(piece) + 2 + reserve > limit:
            return (
                ", ".join(shown) + f"{', ' if shown else ''}{_ELLIPSIS} {len(names) - index:,} more"
            )
        shown.append(piece)
        used += len(piece) + 2
    return ", ".join(shown)


def _vars_lines(entry: TaskReportEntry, value_chars: int) -> list[str]:
    if not entry.error or not entry.error.traced_vars:
        return []
    return [f"{k} = {_cut(v, value_chars)}" for k, v in entry.error.traced_vars.items()]


# -- Slack ----------------------------------------------------------------------------------


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fit_escaped(text: str, limit: int) -> str:
    """Cut escaped text to ``limit`` characters without splitting an ``&…;`` entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + _ELLIPSIS


def _slack_code(text: str) -> str:
    # A ``` inside the block would close it and let the rest be read as mrkdwn.
    return "```" + _slack_escape(text.replace("```", "``" + _ZWSP + "`")) + "```"


def _slack_name(name: str) -> str:
    return f"`{_slack_escape(name)}`" if "`" not in name else _slack_escape(name)


def _slack_failure(entry: TaskReportEntry, content: ReportContent, detailed: bool) -> str:
    name = _slack_name(_cut(entry.name, 200))
    exception = _slack_escape(_cut(_exception(entry), 500 if detailed else 200))
    impact = _impact(entry)
    if not detailed:
        more = f" (skipped {len(impact):,})" if impact else ""
        return f"• {name}: {exception}{more}"
    lines = [f"*{name}* {_attempts(entry)}", f"> {exception}"]
    if impact:
        lines.append("Skipped because of it: " + _names(impact, 400, _slack_name))
    optional: list[str] = []
    if content.show_traceback and entry.error and entry.error.traceback_str:
        optional.append(_slack_code(_tail(entry.error.traceback_str, 800)))
    if content.show_traced_vars and (traced := _vars_lines(entry, 80)):
        where = entry.error.traced_vars_location if entry.error else ""
        label = f"Variables at {_slack_escape(where)}:" if where else "Variables:"
        optional.append(label + "\n" + _slack_code("\n".join(traced[:10])))
    limit = SLACK_LIMITS["section_text"]
    # Drop whole code blocks, last first, rather than cut one open.
    while optional and len("\n".join(lines + optional)) > limit:
        optional.pop()
    return _fit_escaped("\n".join(lines + optional), limit)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def render_slack(
    report: ProcessExecutionReport,
    *,
    content: ReportContent | None = None,
    errors_only: bool = False,
    detailed_failures: int = 3,
) -> dict[str, Any]:
    """Return a Slack message: Block Kit blocks plus the ``text`` notifications show."""
    content = content or ReportContent()
    run = _digest(report, errors_only)
    section_max = SLACK_LIMITS["section_text"]
    icon = ":white_check_mark:" if run.ok else ":x:"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _fit_escaped(_slack_escape(run.title), SLACK_LIMITS["header_text"]),
            },
        },
        _section(f"{icon} {_slack_escape(run.summary)}"),
    ]
    tail: list[dict[str, Any]] = []
    # Name lists stay short so the failures keep most of the message.
    if run.skipped:
        names = _names(run.skipped, 1000, _slack_name)
        tail.append(_section(f"*Skipped ({len(run.skipped):,})*: {names}"))
    if run.successes:
        names = _names(run.successes, 1000, _slack_name)
        tail.append(_section(f"*Succeeded ({len(run.successes):,})*: {names}"))
    used_chars = sum(len(_block_text(block)) for block in [*blocks, *tail])
    chars_left = SLACK_LIMITS["total_text"] - used_chars
    # One block is kept for the "… N more" note, one for the divider.
    blocks_left = SLACK_LIMITS["blocks"] - len(blocks) - len(tail) - 2
    failure_blocks: list[dict[str, Any]] = []
    pending: list[str] = []  # one-line failures, packed into sections

    def flush() -> None:
        if pending:
            failure_blocks.append(_section("\n".join(pending)))
            pending.clear()

    shown = 0
    for index, entry in enumerate(run.failures):
        detailed = index < detailed_failures
        text = _slack_failure(entry, content, detailed)
        if detailed and len(text) + 1 > chars_left:  # the one-line form may still fit
            detailed = False
            text = _slack_failure(entry, content, detailed)
        if len(text) + 1 > chars_left:
            break
        if detailed:
            if len(failure_blocks) + (1 if pending else 0) >= blocks_left:
                break
            flush()
            failure_blocks.append(_section(text))
        else:
            packed = len("\n".join([*pending, text]))
            if pending and packed > section_max:
                if len(failure_blocks) + 1 >= blocks_left:
                    break
                flush()
            elif not pending and len(failure_blocks) >= blocks_left:
                break
            pending.append(text)
        chars_left -= len(text) + 1
        shown += 1
    flush()
    if failure_blocks:
        blocks.append({"type": "divider"})
        blocks.extend(failure_blocks)
    if hidden := len(run.failures) - shown:
        note = f"{_ELLIPSIS} {hidden:,} more failed tasks (see the full report)"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    blocks.extend(tail)
    return {"text": _fit_escaped(_slack_escape(run.title), 3000), "blocks": blocks}


def _block_text(block: dict[str, Any]) -> str:
    text = block.get("text")
    return str(text.get("text", "")) if isinstance(text, dict) else ""


# -- Discord --------------------------------------------------------------------------------

_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>\[\]])")  # [ ] so no text becomes a link
_DISCORD_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)


def _discord_inert(text: str) -> str:
    # allowed_mentions already stops pings; the zero-width space keeps the text from even
    # looking like one.
    return _DISCORD_MENTION.sub("@" + _ZWSP + r"\1", text)


def _discord_md(text: str) -> str:
    return _discord_inert(_DISCORD_MARKDOWN.sub(r"\\\1", text))


def _fit_md(text: str, limit: int) -> str:
    """Cut backslash-escaped text without leaving a lone backslash at the end."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut + _ELLIPSIS


def _discord_code(text: str) -> str:
    return "```\n" + _discord_inert(text.replace("```", "``" + _ZWSP + "`")) + "\n```"


def _discord_failure(entry: TaskReportEntry, content: ReportContent, detailed: bool) -> str:
    exception = _discord_md(_cut(_exception(entry), 300 if detailed else 150))
    impact = _impact(entry)
    if not detailed:
        more = f" · skipped {len(impact):,}" if impact else ""
        return _fit_md(f"{exception}{more}", DISCORD_LIMITS["field_value"])
    lines = [f"{_attempts(entry)}", f"**{exception}**"]
    if impact:
        lines.append("Skipped because of it: " + _names(impact, 200, _discord_md))
    if content.show_traceback and entry.error and entry.error.traceback_str:
        lines.append(_discord_code(_tail(entry.error.traceback_str, 400)))
    if content.show_traced_vars and (traced := _vars_lines(entry, 60)):
        lines.append(_discord_code("\n".join(traced[:6])))
    text = "\n".join(lines)
    if len(text) > DISCORD_LIMITS["field_value"]:  # drop the code blocks rather than cut one
        text = _fit_md("\n".join(lines[:3]), DISCORD_LIMITS["field_value"])
    return text


def render_discord(
    report: ProcessExecutionReport,
    *,
    content: ReportContent | None = None,
    errors_only: bool = False,
    detailed_failures: int = 3,
) -> dict[str, Any]:
    """Return a Discord webhook message: a summary ``content`` and up to ten embeds.

    ``allowed_mentions`` is empty, so nothing in the report can ping anyone.
    """
    content = content or ReportContent()
    run = _digest(report, errors_only)
    limits = DISCORD_LIMITS
    title = _cut(_discord_inert(run.title), limits["title"])
    description_parts = [_discord_md(run.summary)]
    if run.skipped:
        names = _names(run.skipped, 600, _discord_md)
        description_parts.append(f"**Skipped ({len(run.skipped):,})**: {names}")
    if run.successes:
        names = _names(run.successes, 600, _discord_md)
        description_parts.append(f"**Succeeded ({len(run.successes):,})**: {names}")
    description = _fit_md("\n".join(description_parts), 1500)
    colour = 0x2EB67D if run.ok else 0xE01E5A
    first: dict[str, Any] = {"title": title, "description": description, "color": colour}
    embeds: list[dict[str, Any]] = [first]
    footer_reserve = 60
    budget = limits["total"] - len(title) - len(description) - footer_reserve
    shown = 0
    for index, entry in enumerate(run.failures):
        name = _fit_md(_discord_md(entry.name), limits["field_name"])
        value = _discord_failure(entry, content, index < detailed_failures)
        if len(name) + len(value) > budget:  # the one-line form may still fit
            value = _discord_failure(entry, content, False)
        size = len(name) + len(value)
        if size > budget:
            break
        current = embeds[-1]
        fields = current.setdefault("fields", [])
        if len(fields) >= limits["fields"]:
            if len(embeds) >= limits["embeds"]:
                break
            current = {"color": colour, "fields": []}
            embeds.append(current)
            fields = current["fields"]
        fields.append({"name": name, "value": value, "inline": False})
        budget -= size
        shown += 1
    if hidden := len(run.failures) - shown:
        embeds[-1]["footer"] = {"text": f"{_ELLIPSIS} {hidden:,} more failed tasks"}
    return {
        "content": _cut(_discord_inert(run.title), limits["content"]),
        "embeds": embeds,
        "allowed_mentions": {"parse": []},
    }


# -- Microsoft Teams ------------------------------------------------------------------------


def _compact_size(value: Any) -> int:
    # Must measure exactly as rendering.webhook.serialise_payload writes.
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _run(text: str, **style: Any) -> dict[str, Any]:
    # TextRun text is not read as markdown, so task text cannot become a link or a format.
    return {"type": "TextRun", "text": text, **style}


def _rich(*runs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(runs), **extra}


def _teams_failure(
    entry: TaskReportEntry, content: ReportContent, detailed: bool
) -> dict[str, Any]:
    exception = _cut(_exception(entry), 500 if detailed else 200)
    impact = _impact(entry)
    if not detailed:
        more = f" (skipped {len(impact):,})" if impact else ""
        return _rich(
            _run(_cut(entry.name, 200), weight="Bolder"),
            _run(f": {exception}{more}"),
            spacing="Small",
        )
    items: list[dict[str, Any]] = [
        _rich(_run(_cut(entry.name, 200), weight="Bolder"), _run(f" {_attempts(entry)}")),
        _rich(_run(exception, color="Attention")),
    ]
    if impact:
        names = _names(impact, 400, str)
        items.append(_rich(_run(f"Skipped because of it: {names}", isSubtle=True)))
    if content.show_traceback and entry.error and entry.error.traceback_str:
        trace = _tail(entry.error.traceback_str, 1000)
        items.append(_rich(_run(trace, fontType="Monospace", size="Small")))
    if content.show_traced_vars and (traced := _vars_lines(entry, 80)):
        where = entry.error.traced_vars_location if entry.error else ""
        label = f"Variables at {where}:" if where else "Variables:"
        items.append(_rich(_run(label, isSubtle=True)))
        items.append(_rich(_run("\n".join(traced[:10]), fontType="Monospace", size="Small")))
    return {"type": "Container", "separator": True, "items": items}


def _teams_note(hidden: int) -> dict[str, Any]:
    return _rich(_run(f"{_ELLIPSIS} {hidden:,} more failed tasks", isSubtle=True))


def render_teams(
    report: ProcessExecutionReport,
    *,
    content: ReportContent | None = None,
    errors_only: bool = False,
    detailed_failures: int = 5,
    max_bytes: int = TEAMS_MAX_BYTES,
) -> dict[str, Any]:
    """Return a Teams Workflows message: one Adaptive Card under ``max_bytes`` of UTF-8."""
    content = content or ReportContent()
    run = _digest(report, errors_only)
    body: list[dict[str, Any]] = [
        _rich(
            _run(
                _cut(run.title, 300),
                size="Large",
                weight="Bolder",
                color="Good" if run.ok else "Attention",
            )
        ),
        _rich(_run(run.summary, isSubtle=True)),
    ]
    tail: list[dict[str, Any]] = []
    names_chars = min(2000, max_bytes // 10)
    if run.skipped:
        tail.append(
            _rich(
                _run(f"Skipped ({len(run.skipped):,}): ", weight="Bolder"),
                _run(_names(run.skipped, names_chars, str)),
                separator=True,
            )
        )
    if run.successes:
        tail.append(
            _rich(
                _run(f"Succeeded ({len(run.successes):,}): ", weight="Bolder"),
                _run(_names(run.successes, names_chars, str)),
                separator=True,
            )
        )
    message: dict[str, Any] = {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.2",
                    "msteams": {"width": "Full"},
                    "body": body,
                },
            }
        ],
    }
    note_reserve = _compact_size(_teams_note(len(run.failures)))
    # The body list grows by one serialised item plus a comma per element.
    size = _compact_size(message) + sum(_compact_size(item) + 1 for item in tail)
    budget = max_bytes - size - note_reserve - 1
    shown = 0
    for index, entry in enumerate(run.failures):
        item = _teams_failure(entry, content, index < detailed_failures)
        cost = _compact_size(item) + 1
        if cost > budget:  # the one-line form may still fit
            item = _teams_failure(entry, content, False)
            cost = _compact_size(item) + 1
        if cost > budget:
            break
        body.append(item)
        budget -= cost
        shown += 1
    if hidden := len(run.failures) - shown:
        body.append(_teams_note(hidden))
    body.extend(tail)
    return message
