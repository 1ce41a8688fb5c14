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
from processes.outcome import TaskChange, TaskStatus
from processes.rendering.changes import (
    change_note,
    has_failed,
    repeated_error,
    skip_note,
    stop_note,
)
from processes.rendering.common import (
    ELLIPSIS,
    STATUS_LOOKS,
    cut,
    format_duration,
    is_minimal,
    list_names,
)
from processes.rendering.locales import get_locale

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

_ZWSP = "\u200b"
# Chat messages are in English; their words come from the same table as the email's.
_WORDS = get_locale("en")


# -- what every chat message says -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ChatSummary:
    """What every chat message says about the run, before each service's formatting."""

    title: str
    summary: str
    ok: bool
    failures: list[TaskReportEntry]
    skipped: list[str]
    successes: list[str]
    #: Tasks that errored last time and succeeded now, in report order.
    recovered: list[str]
    #: "new", "still failing since … (3 runs)" or "recovered" by task name.
    changes: dict[str, str]
    #: Why a skipped task never ran, where the graph does not say ("skipped: deadline").
    skip_notes: dict[str, str]


def _summarise(report: ProcessExecutionReport, errors_only: bool) -> _ChatSummary:
    """Count every task of ``report``; ``errors_only`` leaves out the name lists only."""
    entries = report.entries.values()
    failures = [e for e in entries if e.status is TaskStatus.ERRORED]
    skipped = [e.name for e in entries if e.status is TaskStatus.SKIPPED]
    successes = [e.name for e in entries if e.status is TaskStatus.SUCCESS]
    name = report.process_name or "Process"
    total = len(report.entries)
    changes = {n: change_note(report, n, _WORDS) for n in report.changes if n in report.entries}
    recovered = [n for n in successes if report.changes.get(n) is TaskChange.RECOVERED]
    new = sum(report.changes.get(e.name) is TaskChange.NEW_FAILURE for e in failures)
    known = sum(report.changes.get(e.name) is TaskChange.STILL_FAILING for e in failures)
    if failures:
        title = f"{name}: {len(failures):,} of {total:,} tasks failed"
        if new:
            title += f" ({new:,} {_WORDS.change[TaskChange.NEW_FAILURE]})"
        elif known == len(failures):
            title += f" ({_WORDS.change[TaskChange.STILL_FAILING]})"
    elif skipped and has_failed(report):
        title = f"{name}: {len(skipped):,} of {total:,} tasks skipped"
    else:
        title = f"{name}: all {total - len(skipped):,} tasks succeeded"
        if recovered:
            title += f" ({len(recovered):,} {_WORDS.change[TaskChange.RECOVERED]})"
    counts = (
        (TaskStatus.SUCCESS, len(successes)),
        (TaskStatus.ERRORED, len(failures)),
        (TaskStatus.SKIPPED, len(skipped)),
    )
    words = ", ".join(f"{n:,} {STATUS_LOOKS[status].count_word}" for status, n in counts)
    parts = [f"{total:,} tasks: {words}"]
    if reused := sum(e.reused for e in entries):
        parts[0] += f", {reused:,} {_WORDS.reused}"
    if report.started_at and report.finished_at:
        parts.append(f"in {format_duration(report.elapsed_seconds)}")
        parts.append(f"started {report.started_at.isoformat(timespec='seconds')}")
    if report.host:
        parts.append(f"{_WORDS.label_host.lower()} {report.host}")
    parts.append(f"{_WORDS.label_run.lower()} {report.run_id}")
    summary = " · ".join(parts)
    if stopped := stop_note(report, _WORDS):
        summary += "\n" + stopped
    return _ChatSummary(
        title=title,
        summary=summary,
        ok=not has_failed(report),
        failures=failures,
        skipped=[] if errors_only else skipped,
        successes=[] if errors_only else successes,
        recovered=[] if errors_only else recovered,
        changes=changes,
        skip_notes={
            e.name: note
            for e in entries
            if e.status is TaskStatus.SKIPPED and (note := skip_note(e, _WORDS))
        },
    )


def _named(
    overview: _ChatSummary, show: Callable[[str], str], inert: Callable[[str], str]
) -> Callable[[str], str]:
    """Show a skipped task's name with why it was skipped, where the graph does not say."""

    def named(name: str) -> str:
        note = overview.skip_notes.get(name)
        return f"{show(name)} ({inert(note)})" if note else show(name)

    return named


def _tag(overview: _ChatSummary, name: str) -> str:
    """``[new]`` and the like after a task's name, or ""."""
    change = overview.changes.get(name)
    return f"[{change}]" if change else ""


def _attempts(entry: TaskReportEntry) -> str:
    plural = "" if entry.attempts == 1 else "s"
    duration = format_duration(entry.elapsed_seconds)
    # The error is shown once below; say that every attempt failed with it.
    alike = ", all with this error" if repeated_error(entry) else ""
    return f"errored after {entry.attempts} attempt{plural}{alike}, {duration}"


def _exception(entry: TaskReportEntry) -> str:
    return entry.error.exception if entry.error and entry.error.exception else "unknown error"


def _impact(entry: TaskReportEntry, content: ReportContent) -> tuple[str, ...]:
    # ReportContent.min() shows the name, status and message of a failure, nothing more.
    if is_minimal(content) or entry.error is None:
        return ()
    return entry.error.downstream_impact


def _tail(text: str, limit: int) -> str:
    """Keep the end of a traceback, where the error is."""
    text = text.rstrip()
    if len(text) <= limit:
        return text
    return ELLIPSIS + text[-(limit - 1) :]


def _names(names: Sequence[str], chars: int, show: Callable[[str], str]) -> str:
    """Join names while they fit in ``chars`` characters, then say how many are left."""
    return list_names(names, chars=chars, show=show, more=ELLIPSIS + " {n:,} more")


def _vars_lines(entry: TaskReportEntry, value_chars: int) -> list[str]:
    if not entry.error or not entry.error.traced_vars:
        return []
    return [f"{k} = {cut(v, value_chars)}" for k, v in entry.error.traced_vars.items()]


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
    return cut + ELLIPSIS


def _slack_code(text: str) -> str:
    # A ``` inside the block would close it and let the rest be read as mrkdwn.
    return "```" + _slack_escape(text.replace("```", "``" + _ZWSP + "`")) + "```"


def _slack_name(name: str) -> str:
    return f"`{_slack_escape(name)}`" if "`" not in name else _slack_escape(name)


def _slack_failure(
    entry: TaskReportEntry, content: ReportContent, detailed: bool, tag: str = ""
) -> str:
    detailed = detailed and not is_minimal(content)
    name = _slack_name(cut(entry.name, 200))
    if tag:
        name += " " + _slack_escape(tag)
    exception = _slack_escape(cut(_exception(entry), 500 if detailed else 200))
    impact = _impact(entry, content)
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
    overview = _summarise(report, errors_only)
    section_max = SLACK_LIMITS["section_text"]
    icon = ":white_check_mark:" if overview.ok else ":x:"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _fit_escaped(_slack_escape(overview.title), SLACK_LIMITS["header_text"]),
            },
        },
        _section(f"{icon} {_slack_escape(overview.summary)}"),
    ]
    tail: list[dict[str, Any]] = []
    # Name lists stay short so the failures keep most of the message.
    if overview.recovered:
        names = _names(overview.recovered, 1000, _slack_name)
        tail.append(_section(f"*Recovered ({len(overview.recovered):,})*: {names}"))
    if overview.skipped:
        names = _names(overview.skipped, 1000, _named(overview, _slack_name, _slack_escape))
        tail.append(_section(f"*Skipped ({len(overview.skipped):,})*: {names}"))
    if overview.successes:
        names = _names(overview.successes, 1000, _slack_name)
        tail.append(_section(f"*Succeeded ({len(overview.successes):,})*: {names}"))
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
    for index, entry in enumerate(overview.failures):
        detailed = index < detailed_failures
        tag = _tag(overview, entry.name)
        text = _slack_failure(entry, content, detailed, tag)
        if detailed and len(text) + 1 > chars_left:  # the one-line form may still fit
            detailed = False
            text = _slack_failure(entry, content, detailed, tag)
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
    if hidden := len(overview.failures) - shown:
        note = f"{ELLIPSIS} {hidden:,} more failed tasks (see the full report)"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    blocks.extend(tail)
    return {"text": _fit_escaped(_slack_escape(overview.title), 3000), "blocks": blocks}


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
    return cut + ELLIPSIS


def _discord_code(text: str) -> str:
    return "```\n" + _discord_inert(text.replace("```", "``" + _ZWSP + "`")) + "\n```"


def _discord_failure(
    entry: TaskReportEntry, content: ReportContent, detailed: bool, tag: str = ""
) -> str:
    detailed = detailed and not is_minimal(content)
    exception = _discord_md(cut(_exception(entry), 300 if detailed else 150))
    impact = _impact(entry, content)
    said = f"**{_discord_md(tag)}** " if tag else ""
    if not detailed:
        more = f" · skipped {len(impact):,}" if impact else ""
        return _fit_md(f"{said}{exception}{more}", DISCORD_LIMITS["field_value"])
    lines = [f"{said}{_attempts(entry)}", f"**{exception}**"]
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
    overview = _summarise(report, errors_only)
    limits = DISCORD_LIMITS
    title = cut(_discord_inert(overview.title), limits["title"])
    description_parts = [_discord_md(overview.summary)]
    if overview.recovered:
        names = _names(overview.recovered, 600, _discord_md)
        description_parts.append(f"**Recovered ({len(overview.recovered):,})**: {names}")
    if overview.skipped:
        names = _names(overview.skipped, 600, _named(overview, _discord_md, _discord_md))
        description_parts.append(f"**Skipped ({len(overview.skipped):,})**: {names}")
    if overview.successes:
        names = _names(overview.successes, 600, _discord_md)
        description_parts.append(f"**Succeeded ({len(overview.successes):,})**: {names}")
    description = _fit_md("\n".join(description_parts), 1500)
    verdict = TaskStatus.SUCCESS if overview.ok else TaskStatus.ERRORED
    colour = int(STATUS_LOOKS[verdict].line.removeprefix("#"), 16)  # the views' own colours
    first: dict[str, Any] = {"title": title, "description": description, "color": colour}
    embeds: list[dict[str, Any]] = [first]
    footer_reserve = 60
    budget = limits["total"] - len(title) - len(description) - footer_reserve
    shown = 0
    for index, entry in enumerate(overview.failures):
        name = _fit_md(_discord_md(entry.name), limits["field_name"])
        tag = _tag(overview, entry.name)
        value = _discord_failure(entry, content, index < detailed_failures, tag)
        if len(name) + len(value) > budget:  # the one-line form may still fit
            value = _discord_failure(entry, content, False, tag)
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
    if hidden := len(overview.failures) - shown:
        embeds[-1]["footer"] = {"text": f"{ELLIPSIS} {hidden:,} more failed tasks"}
    return {
        "content": cut(_discord_inert(overview.title), limits["content"]),
        "embeds": embeds,
        "allowed_mentions": {"parse": []},
    }


# -- Microsoft Teams ------------------------------------------------------------------------


def _compact_size(value: Any) -> int:
    # Must measure exactly as rendering.webhook.serialise_payload writes.
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _text_run(text: str, **style: Any) -> dict[str, Any]:
    """An Adaptive Card TextRun: read as plain text, so no task text becomes a link."""
    return {"type": "TextRun", "text": text, **style}


def _rich(*runs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(runs), **extra}


def _teams_failure(
    entry: TaskReportEntry, content: ReportContent, detailed: bool, tag: str = ""
) -> dict[str, Any]:
    detailed = detailed and not is_minimal(content)
    exception = cut(_exception(entry), 500 if detailed else 200)
    impact = _impact(entry, content)
    said = [_text_run(f" {tag}", weight="Bolder", color="Attention")] if tag else []
    if not detailed:
        more = f" (skipped {len(impact):,})" if impact else ""
        return _rich(
            _text_run(cut(entry.name, 200), weight="Bolder"),
            *said,
            _text_run(f": {exception}{more}"),
            spacing="Small",
        )
    items: list[dict[str, Any]] = [
        _rich(
            _text_run(cut(entry.name, 200), weight="Bolder"),
            *said,
            _text_run(f" {_attempts(entry)}"),
        ),
        _rich(_text_run(exception, color="Attention")),
    ]
    if impact:
        names = _names(impact, 400, str)
        items.append(_rich(_text_run(f"Skipped because of it: {names}", isSubtle=True)))
    if content.show_traceback and entry.error and entry.error.traceback_str:
        trace = _tail(entry.error.traceback_str, 1000)
        items.append(_rich(_text_run(trace, fontType="Monospace", size="Small")))
    if content.show_traced_vars and (traced := _vars_lines(entry, 80)):
        where = entry.error.traced_vars_location if entry.error else ""
        label = f"Variables at {where}:" if where else "Variables:"
        items.append(_rich(_text_run(label, isSubtle=True)))
        items.append(_rich(_text_run("\n".join(traced[:10]), fontType="Monospace", size="Small")))
    return {"type": "Container", "separator": True, "items": items}


def _teams_note(hidden: int) -> dict[str, Any]:
    return _rich(_text_run(f"{ELLIPSIS} {hidden:,} more failed tasks", isSubtle=True))


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
    overview = _summarise(report, errors_only)
    body: list[dict[str, Any]] = [
        _rich(
            _text_run(
                cut(overview.title, 300),
                size="Large",
                weight="Bolder",
                color="Good" if overview.ok else "Attention",
            )
        ),
        _rich(_text_run(overview.summary, isSubtle=True)),
    ]
    tail: list[dict[str, Any]] = []
    names_chars = min(2000, max_bytes // 10)
    if overview.recovered:
        tail.append(
            _rich(
                _text_run(f"Recovered ({len(overview.recovered):,}): ", weight="Bolder"),
                _text_run(_names(overview.recovered, names_chars, str), color="Good"),
                separator=True,
            )
        )
    if overview.skipped:
        tail.append(
            _rich(
                _text_run(f"Skipped ({len(overview.skipped):,}): ", weight="Bolder"),
                _text_run(_names(overview.skipped, names_chars, _named(overview, str, str))),
                separator=True,
            )
        )
    if overview.successes:
        tail.append(
            _rich(
                _text_run(f"Succeeded ({len(overview.successes):,}): ", weight="Bolder"),
                _text_run(_names(overview.successes, names_chars, str)),
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
    note_reserve = _compact_size(_teams_note(len(overview.failures)))
    # The body list grows by one serialised item plus a comma per element.
    size = _compact_size(message) + sum(_compact_size(item) + 1 for item in tail)
    budget = max_bytes - size - note_reserve - 1
    shown = 0
    for index, entry in enumerate(overview.failures):
        tag = _tag(overview, entry.name)
        item = _teams_failure(entry, content, index < detailed_failures, tag)
        cost = _compact_size(item) + 1
        if cost > budget:  # the one-line form may still fit
            item = _teams_failure(entry, content, False, tag)
            cost = _compact_size(item) + 1
        if cost > budget:
            break
        body.append(item)
        budget -= cost
        shown += 1
    if hidden := len(overview.failures) - shown:
        body.append(_teams_note(hidden))
    body.extend(tail)
    return message
