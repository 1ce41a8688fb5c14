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
    crash_notes,
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
    is_summed_up,
    item_counts,
    list_names,
    run_tally,
)
from processes.rendering.locales import Locale, get_locale

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

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
#: Each crashed run's sentence is cut to this, so that the count of the rest always fits.
_CRASH_CHARS = 300
#: The mapped tasks' summaries ("load: 997 of 1,000 items succeeded; failed: ...") in all.
_ITEMS_CHARS = 1_200
_BACKTICK_RUN = re.compile(r"`(?=`)")


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
    words: Locale
    #: The earlier runs this one found dead (§13): one sentence each, said near the top.
    crashes: list[str]


def _summarise(report: ProcessExecutionReport, errors_only: bool, language: str) -> _ChatSummary:
    """Count every task of ``report``; ``errors_only`` leaves out the name lists only."""
    words = get_locale(language)
    entries = report.entries.values()
    failures = [e for e in entries if e.status is TaskStatus.ERRORED]
    skipped = [e.name for e in entries if e.status is TaskStatus.SKIPPED]
    successes = [e.name for e in entries if e.status is TaskStatus.SUCCESS]
    changes = {n: change_note(report, n, words) for n in report.changes if n in report.entries}
    recovered = [n for n in successes if report.changes.get(n) is TaskChange.RECOVERED]
    summary = _summary_text(report, words, failures, skipped, successes) + _items_text(
        report, words
    )
    named_successes = [
        e.name for e in entries if e.status is TaskStatus.SUCCESS and not is_summed_up(e)
    ]
    return _ChatSummary(
        title=_title(report, words, failures, skipped, recovered),
        summary=summary,
        ok=not has_failed(report),
        failures=failures,
        skipped=[] if errors_only else skipped,
        successes=[] if errors_only else named_successes,
        recovered=[] if errors_only else recovered,
        changes=changes,
        skip_notes=_skip_notes(entries, words),
        words=words,
        crashes=[cut(note, _CRASH_CHARS) for note in crash_notes(report, words)],
    )


def _skip_notes(entries: Iterable[TaskReportEntry], words: Locale) -> dict[str, str]:
    """Why each skipped task never ran, where the graph does not say."""
    return {
        e.name: note
        for e in entries
        if e.status is TaskStatus.SKIPPED and (note := skip_note(e, words))
    }


def _items_text(report: ProcessExecutionReport, words: Locale) -> str:
    """Each mapped task summed up on a line of its own (SPEC §15), or ""."""
    items = item_counts(report)
    if not items:
        return ""
    lines = [f"{name}: {counted.sentence(words)}" for name, counted in items.items()]
    return "\n" + cut("\n".join(lines), _ITEMS_CHARS)


def _title(
    report: ProcessExecutionReport,
    words: Locale,
    failures: list[TaskReportEntry],
    skipped: list[str],
    recovered: list[str],
) -> str:
    """What failed and whether it is new, what was skipped, or that the run went well."""
    number = words.number
    name = report.process_name or words.unnamed
    tally = run_tally(report)  # declared tasks counted as tasks, items apart (§15)
    tasks, items = tally.tasks, tally.items_said(words)
    total = number(tasks.total)
    if failures:
        new = sum(report.changes.get(e.name) is TaskChange.NEW_FAILURE for e in failures)
        known = sum(report.changes.get(e.name) is TaskChange.STILL_FAILING for e in failures)
        if tasks.failed:
            title = words.chat_title_failed.format(
                name=name, failed=number(tasks.failed), total=total
            )
            title += f" \u00b7 {items}" if items else ""
        else:  # only items failed: "nightly: 3 of 1,000 items failed"
            title = words.chat_title_items.format(name=name, items=items)
        if new:
            title += f" ({words.chat_new_count.format(n=number(new))})"
        elif known == len(failures):
            title += f" ({words.change[TaskChange.STILL_FAILING]})"
    elif has_failed(report) and (tasks.skipped or items):
        if tasks.skipped:
            title = words.chat_title_skipped.format(
                name=name, skipped=number(tasks.skipped), total=total
            )
            title += f" \u00b7 {items}" if items else ""
        else:
            title = words.chat_title_items.format(name=name, items=items)
    else:
        title = words.chat_title_ok.format(name=name, total=number(tasks.total - tasks.skipped))
        if recovered:
            title += f" ({words.chat_recovered_count.format(n=number(len(recovered)))})"
    return title


def _summary_text(
    report: ProcessExecutionReport,
    words: Locale,
    failures: list[TaskReportEntry],
    skipped: list[str],
    successes: list[str],
) -> str:
    """The counts, how long the run took, its host and id, and why it stopped early."""
    number = words.number
    tally = run_tally(report)  # declared tasks counted as tasks, items apart (§15)
    parts = [
        words.chat_counts.format(
            total=number(tally.tasks.total),
            succeeded=number(tally.tasks.succeeded),
            errored=number(tally.tasks.failed),
            skipped=number(tally.tasks.skipped),
        )
    ]
    if items := tally.items_line(words):
        parts.append(items)
    if reused := sum(e.reused for e in report.entries.values()):
        parts[0] += f", {number(reused)} {words.reused}"
    if report.started_at and report.finished_at:
        parts.append(
            words.chat_took.format(duration=format_duration(report.elapsed_seconds, words))
        )
        started = report.started_at.isoformat(timespec="seconds")
        parts.append(words.chat_started.format(time=started))
    if report.host:
        parts.append(f"{words.label_host.lower()} {report.host}")
    parts.append(f"{words.label_run.lower()} {report.run_id}")
    summary = " · ".join(parts)
    if stopped := stop_note(report, words):
        summary += "\n" + stopped
    return summary


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


def _attempts(entry: TaskReportEntry, words: Locale) -> str:
    duration = format_duration(entry.elapsed_seconds, words)
    # The error is shown once below; say that every attempt failed with it.
    template = words.chat_errored_alike if repeated_error(entry) else words.chat_errored_after
    return template.format(attempts=words.attempts(entry.attempts), duration=duration)


def _exception(entry: TaskReportEntry, words: Locale) -> str:
    if entry.error and entry.error.headline:
        return entry.error.headline
    return words.chat_unknown_error


def _impact(entry: TaskReportEntry, content: ReportContent) -> tuple[str, ...]:
    # ReportContent.min() shows the name, status and message of a failure, nothing more.
    if is_minimal(content) or entry.error is None:
        return ()
    return tuple(entry.error.downstream_impact)


def _tail(text: str, limit: int) -> str:
    """Keep the end of a traceback, where the error is."""
    text = text.rstrip()
    if len(text) <= limit:
        return text
    return ELLIPSIS + text[-(limit - 1) :]


def _names(names: Sequence[str], chars: int, show: Callable[[str], str], words: Locale) -> str:
    """Join names while they fit in ``chars`` characters, then say how many are left."""
    grouped = "{n:,}" if words.thousands == "," else "{n}"
    more = words.plural(ELLIPSIS + " " + words.chat_more.replace("{n}", grouped))
    return list_names(names, chars=chars, show=show, more=more)


def _more_failed(hidden: int, words: Locale) -> str:
    return f"{ELLIPSIS} {words.chat_more_failed.format(n=words.number(hidden))}"


def _vars_lines(entry: TaskReportEntry, value_chars: int) -> list[str]:
    if not entry.error or not entry.error.traced_vars:
        return []
    return [f"{k} = {cut(v, value_chars)}" for k, v in entry.error.traced_vars.items()]


# -- Slack ----------------------------------------------------------------------------------


def _slack_escape(text: str) -> str:
    # Backticks too: "```" in a task's text would open a code block in the mrkdwn around it.
    text = _BACKTICK_RUN.sub("`" + _ZWSP, text)
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


def _defuse_backticks(text: str) -> str:
    """Keep ``text`` from closing the code block it goes in, whatever its backticks.

    A zero-width space after every backtick that another follows: no run of two or more is
    left (replacing each "```" left "`````" as "``\u200b```", which still closes the block),
    and none at either end can join the fence around it.
    """
    text = _BACKTICK_RUN.sub("`" + _ZWSP, text)
    if text.startswith("`"):
        text = _ZWSP + text
    if text.endswith("`"):
        text += _ZWSP
    return text


def _slack_code(text: str) -> str:
    # A ``` inside the block would close it and let the rest be read as mrkdwn.
    return "```" + _slack_escape(_defuse_backticks(text)) + "```"


def _slack_name(name: str) -> str:
    return f"`{_slack_escape(name)}`" if "`" not in name else _slack_escape(name)


def _slack_failure(
    entry: TaskReportEntry, content: ReportContent, detailed: bool, words: Locale, tag: str = ""
) -> str:
    detailed = detailed and not is_minimal(content)
    name = _slack_name(cut(entry.name, 200))
    if tag:
        name += " " + _slack_escape(tag)
    exception = _slack_escape(cut(_exception(entry, words), 500 if detailed else 200))
    impact = _impact(entry, content)
    if not detailed:
        more = (
            f" ({words.chat_skipped_count.format(n=words.number(len(impact)))})" if impact else ""
        )
        return f"• {name}: {exception}{more}"
    lines = [f"*{name}* {_slack_escape(_attempts(entry, words))}", f"> {exception}"]
    if impact:
        names = _names(impact, 400, _slack_name, words)
        lines.append(f"{_slack_escape(words.label_skipped_because)}: {names}")
    optional: list[str] = []
    if content.show_traceback and entry.error and entry.error.traceback_str:
        optional.append(_slack_code(_tail(entry.error.traceback_str, 800)))
    if content.show_traced_vars and (traced := _vars_lines(entry, 80)):
        where = entry.error.traced_vars_location if entry.error else ""
        label = words.chat_variables_at.format(where=where) if where else words.chat_variables
        optional.append(_slack_escape(label) + "\n" + _slack_code("\n".join(traced[:10])))
    limit = SLACK_LIMITS["section_text"]
    # Drop whole code blocks, last first, rather than cut one open.
    while optional and len("\n".join(lines + optional)) > limit:
        optional.pop()
    return _fit_escaped("\n".join(lines + optional), limit)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _slack_crashed(overview: _ChatSummary) -> list[dict[str, Any]]:
    """A section saying the earlier runs found dead (§13), or none."""
    if not overview.crashes:
        return []
    crashed = _slack_escape("\n".join(overview.crashes))
    return [_section(_fit_escaped(f":warning: {crashed}", SLACK_LIMITS["section_text"]))]


def render_slack(
    report: ProcessExecutionReport,
    *,
    content: ReportContent | None = None,
    errors_only: bool = False,
    detailed_failures: int = 3,
    language: str = "en",
) -> dict[str, Any]:
    """Return a Slack message: Block Kit blocks plus the ``text`` notifications show."""
    content = content or ReportContent()
    overview = _summarise(report, errors_only, language)
    words = overview.words
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
        *_slack_crashed(overview),
        _section(f"{icon} {_slack_escape(overview.summary)}"),
    ]
    tail: list[dict[str, Any]] = []
    # Name lists stay short so the failures keep most of the message.
    for label, listed, show in (
        (words.label_recovered, overview.recovered, _slack_name),
        (words.label_skipped, overview.skipped, _named(overview, _slack_name, _slack_escape)),
        (words.label_succeeded, overview.successes, _slack_name),
    ):
        if listed:
            names = _names(listed, 1000, show, words)
            count = words.number(len(listed))
            tail.append(_section(f"*{_slack_escape(label)} ({count})*: {names}"))
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
        text = _slack_failure(entry, content, detailed, words, tag)
        if detailed and len(text) + 1 > chars_left:  # the one-line form may still fit
            detailed = False
            text = _slack_failure(entry, content, detailed, words, tag)
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
        note = _slack_escape(f"{_more_failed(hidden, words)} {words.chat_see_report}")
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    blocks.extend(tail)
    # ``text`` is what a notification shows: the crash goes with the title.
    text = "\n".join([overview.title, *overview.crashes])
    return {"text": _fit_escaped(_slack_escape(text), 3000), "blocks": blocks}


def _block_text(block: dict[str, Any]) -> str:
    text = block.get("text")
    return str(text.get("text", "")) if isinstance(text, dict) else ""


# -- Discord --------------------------------------------------------------------------------

_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>\[\]])")  # [ ] so no text becomes a link
_DISCORD_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)


def _discord_inert(text: str) -> str:
    # allowed_mentions already stops pings; the zero-width space keeps the text from even
    # looking like one.
    # Nor open a code block where markdown is read unescaped (the message's content).
    return _DISCORD_MENTION.sub("@" + _ZWSP + r"\1", _BACKTICK_RUN.sub("`" + _ZWSP, text))


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
    return "```\n" + _discord_inert(_defuse_backticks(text)) + "\n```"


def _discord_failure(
    entry: TaskReportEntry, content: ReportContent, detailed: bool, words: Locale, tag: str = ""
) -> str:
    detailed = detailed and not is_minimal(content)
    exception = _discord_md(cut(_exception(entry, words), 300 if detailed else 150))
    impact = _impact(entry, content)
    said = f"**{_discord_md(tag)}** " if tag else ""
    if not detailed:
        skipped = words.chat_skipped_count.format(n=words.number(len(impact)))
        more = f" · {_discord_md(skipped)}" if impact else ""
        return _fit_md(f"{said}{exception}{more}", DISCORD_LIMITS["field_value"])
    lines = [f"{said}{_discord_md(_attempts(entry, words))}", f"**{exception}**"]
    if impact:
        names = _names(impact, 200, _discord_md, words)
        lines.append(f"{_discord_md(words.label_skipped_because)}: {names}")
    blocks: list[str] = []
    if content.show_traceback and entry.error and entry.error.traceback_str:
        blocks.append(_discord_code(_tail(entry.error.traceback_str, 400)))
    if content.show_traced_vars and (traced := _vars_lines(entry, 60)):
        blocks.append(_discord_code("\n".join(traced[:6])))
    limit = DISCORD_LIMITS["field_value"]
    # Drop whole code blocks, last first, rather than cut one open; then cut the words.
    while blocks and len("\n".join(lines + blocks)) > limit:
        blocks.pop()
    return _fit_md("\n".join(lines + blocks), limit) if not blocks else "\n".join(lines + blocks)


def render_discord(
    report: ProcessExecutionReport,
    *,
    content: ReportContent | None = None,
    errors_only: bool = False,
    detailed_failures: int = 3,
    language: str = "en",
) -> dict[str, Any]:
    """Return a Discord webhook message: a summary ``content`` and up to ten embeds.

    ``allowed_mentions`` is empty, so nothing in the report can ping anyone.
    """
    content = content or ReportContent()
    overview = _summarise(report, errors_only, language)
    words = overview.words
    limits = DISCORD_LIMITS
    title = cut(_discord_inert(overview.title), limits["title"])
    description_parts = [_discord_md(overview.summary)]
    for label, listed, show in (
        (words.label_recovered, overview.recovered, _discord_md),
        (words.label_skipped, overview.skipped, _named(overview, _discord_md, _discord_md)),
        (words.label_succeeded, overview.successes, _discord_md),
    ):
        if listed:
            names = _names(listed, 600, show, words)
            count = words.number(len(listed))
            description_parts.append(f"**{_discord_md(label)} ({count})**: {names}")
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
        value = _discord_failure(entry, content, index < detailed_failures, words, tag)
        if len(name) + len(value) > budget:  # the one-line form may still fit
            value = _discord_failure(entry, content, False, words, tag)
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
        embeds[-1]["footer"] = {"text": _discord_inert(_more_failed(hidden, words))}
    said = "\n".join(
        [_discord_inert(overview.title), *(f"\u26a0 {_discord_md(n)}" for n in overview.crashes)]
    )
    return {
        "content": _fit_md(said, limits["content"]),
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
    entry: TaskReportEntry, content: ReportContent, detailed: bool, words: Locale, tag: str = ""
) -> dict[str, Any]:
    detailed = detailed and not is_minimal(content)
    exception = cut(_exception(entry, words), 500 if detailed else 200)
    impact = _impact(entry, content)
    said = [_text_run(f" {tag}", weight="Bolder", color="Attention")] if tag else []
    if not detailed:
        more = (
            f" ({words.chat_skipped_count.format(n=words.number(len(impact)))})" if impact else ""
        )
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
            _text_run(f" {_attempts(entry, words)}"),
        ),
        _rich(_text_run(exception, color="Attention")),
    ]
    if impact:
        names = _names(impact, 400, str, words)
        items.append(_rich(_text_run(f"{words.label_skipped_because}: {names}", isSubtle=True)))
    if content.show_traceback and entry.error and entry.error.traceback_str:
        trace = _tail(entry.error.traceback_str, 1000)
        items.append(_rich(_text_run(trace, fontType="Monospace", size="Small")))
    if content.show_traced_vars and (traced := _vars_lines(entry, 80)):
        where = entry.error.traced_vars_location if entry.error else ""
        label = words.chat_variables_at.format(where=where) if where else words.chat_variables
        items.append(_rich(_text_run(label, isSubtle=True)))
        items.append(_rich(_text_run("\n".join(traced[:10]), fontType="Monospace", size="Small")))
    return {"type": "Container", "separator": True, "items": items}


def _teams_note(hidden: int, words: Locale) -> dict[str, Any]:
    return _rich(_text_run(_more_failed(hidden, words), isSubtle=True))


def render_teams(
    report: ProcessExecutionReport,
    *,
    content: ReportContent | None = None,
    errors_only: bool = False,
    detailed_failures: int = 5,
    max_bytes: int = TEAMS_MAX_BYTES,
    language: str = "en",
) -> dict[str, Any]:
    """Return a Teams Workflows message: one Adaptive Card under ``max_bytes`` of UTF-8."""
    content = content or ReportContent()
    overview = _summarise(report, errors_only, language)
    words = overview.words
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
    if overview.crashes:
        crashed = cut("\n".join(overview.crashes), 3000)
        body.insert(1, _rich(_text_run(crashed, weight="Bolder", color="Attention")))
    tail: list[dict[str, Any]] = []
    names_chars = min(2000, max_bytes // 10)
    for label, listed, show, style in (
        (words.label_recovered, overview.recovered, str, {"color": "Good"}),
        (words.label_skipped, overview.skipped, _named(overview, str, str), {}),
        (words.label_succeeded, overview.successes, str, {}),
    ):
        if listed:
            tail.append(
                _rich(
                    _text_run(f"{label} ({words.number(len(listed))}): ", weight="Bolder"),
                    _text_run(_names(listed, names_chars, show, words), **style),
                    separator=True,
                )
            )
    message = teams_card(body)
    note_reserve = _compact_size(_teams_note(len(overview.failures), words))
    # The body list grows by one serialised item plus a comma per element.
    size = _compact_size(message) + sum(_compact_size(item) + 1 for item in tail)
    budget = max_bytes - size - note_reserve - 1
    shown = 0
    for index, entry in enumerate(overview.failures):
        tag = _tag(overview, entry.name)
        item = _teams_failure(entry, content, index < detailed_failures, words, tag)
        cost = _compact_size(item) + 1
        if cost > budget:  # the one-line form may still fit
            item = _teams_failure(entry, content, False, words, tag)
            cost = _compact_size(item) + 1
        if cost > budget:
            break
        body.append(item)
        budget -= cost
        shown += 1
    if hidden := len(overview.failures) - shown:
        body.append(_teams_note(hidden, words))
    body.extend(tail)
    return message


def teams_card(body: list[dict[str, Any]]) -> dict[str, Any]:
    """A Teams message holding one Adaptive Card (1.2, full width) with ``body``."""
    return {
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
