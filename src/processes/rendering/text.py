"""The report as compact, aligned text: for a terminal, and as the email's plain-text part.

Pure: no I/O except asking whether stdout is a colour terminal when ``color`` is None.
Imports ``processes.report`` only for type checking.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from processes.content import ReportContent
from processes.outcome import TaskChange, TaskStatus
from processes.rendering.changes import (
    attempts_said_once,
    change_note,
    crash_notes,
    has_failed,
    never_ended,
    reuse_note,
    skip_note,
    skip_roots,
    stop_note,
)
from processes.rendering.common import (
    STATUS_LOOKS,
    cut,
    cut_lines,
    format_duration,
    format_time,
    is_minimal,
    is_summed_up,
    item_counts,
    list_names,
    run_tally,
    show_controls,
    skip_causes,
)
from processes.rendering.locales import Locale, get_locale

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from processes.outcome import ErrorData
    from processes.rendering.common import FailureCut, Shown
    from processes.report import ProcessExecutionReport, TaskReportEntry

__all__ = ["render_text", "supports_color"]

_RESET = "\033[0m"
_BOLD = "\033[1m"
_DIM = "\033[2m"
#: A new failure stands out; a known one and a recovery are coloured as their status.
_CHANGE_CODES = {
    TaskChange.NEW_FAILURE: "\033[1;31m",
    TaskChange.STILL_FAILING: "\033[31m",
    TaskChange.RECOVERED: "\033[32m",
}
#: Names longer than this do not widen the name column for everyone else.
_MAX_NAME_COLUMN = 40


def supports_color(stream: object = None) -> bool:
    """Tell whether ``stream`` (stdout by default) is a terminal that wants colour.

    Honours ``NO_COLOR`` (https://no-color.org) and ``TERM=dumb``.
    """
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # a closed or detached stream
        return False


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def paint(self, text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if self.color else text

    def status(self, status: TaskStatus, word: str) -> str:
        return self.paint(word, STATUS_LOOKS[status].ansi)


def render_text(
    report: ProcessExecutionReport,
    *,
    color: bool | None = None,
    content: ReportContent | None = None,
    language: str = "en",
    errors_only: bool = False,
    shown: Shown | None = None,
) -> str:
    """Return the report as aligned text: totals, one line per task, then each failure.

    ``color=None`` colours only when stdout is a terminal that supports it. With
    ``errors_only`` the totals still count every task, but only errored ones are listed.
    With ``shown`` (the email's text part) only the tasks it names are listed, each failure
    is cut as it says, and what it left out is said.
    """
    words = get_locale(language)
    content = ReportContent() if content is None else content
    style = _Style(supports_color() if color is None else color)
    lines = _header(report, words, style)
    if not report.entries:
        return "\n".join([*lines, "", words.no_tasks]) + "\n"
    lines.append("")
    if errors_only:
        lines.extend([words.errors_only, ""])
    if shown is not None and shown.items:  # said as the HTML part says them, under the totals
        lines.extend([*shown.items, ""])
    listed, left_out = _listed(report, errors_only, shown)
    # The email's text part says the mapped tasks' summaries above, as its HTML part does.
    summaries = {} if shown is not None else _item_summaries(report, words)
    lines.extend(_task_lines(report, words, style, listed, summaries))
    if left_out:
        lines.append(f"  {words.and_more.format(n=left_out)}")
    for name, entry in report.errored.items():
        limit = None if shown is None else shown.failures.get(name)
        if shown is not None and limit is None:
            continue  # named only, in the task lines and the note below
        lines.append("")
        lines.extend(_failure_lines(name, entry, words, style, content, limit))
    if shown is not None:
        for note in shown.notes:
            lines.extend(["", note])
        if shown.successes:
            lines.extend(["", f"{shown.successes_heading}:", *shown.successes])
    return "\n".join(lines) + "\n"


def _header(report: ProcessExecutionReport, words: Locale, style: _Style) -> list[str]:
    overall = TaskStatus.ERRORED if has_failed(report) else TaskStatus.SUCCESS
    name = show_controls(report.process_name) or words.unnamed
    tally = run_tally(report)  # declared tasks counted as tasks, items apart (§15)
    counts = [
        (words.label_tasks, tally.tasks.total),
        (words.label_succeeded, tally.tasks.succeeded),
        (words.label_failed, tally.tasks.failed),
        (words.label_skipped, tally.tasks.skipped),
    ]
    totals = " | ".join(f"{label} {count}" for label, count in counts)
    if items := tally.items_line(words):
        totals += f" | {items}"
    if not never_ended(report):
        totals += f" | {words.label_duration} {format_duration(report.elapsed_seconds, words)}"
    lines = [f"{style.paint(name, _BOLD)}  {style.status(overall, words.status[overall])}", totals]
    when = [f"{words.label_run} {show_controls(report.run_id)}"]
    if report.host:
        when.insert(0, f"{words.label_host} {show_controls(report.host)}")
    if report.started_at is not None:
        when.insert(0, f"{words.label_started} {format_time(report.started_at)}")
    lines.append(" | ".join(when))
    # An earlier run found dead (§13): said before anything about this run's tasks.
    lines.extend(style.paint(show_controls(note), _BOLD) for note in crash_notes(report, words))
    if stopped := stop_note(report, words):
        lines.append(style.paint(stopped, _BOLD))
    return lines


def _listed(
    report: ProcessExecutionReport, errors_only: bool, shown: Shown | None
) -> tuple[Mapping[str, TaskReportEntry], int]:
    """The entries with a line of their own, and how many more are left unnamed.

    Of a mapped task's items (SPEC §15), only those that failed or were skipped: its own
    line sums them up."""
    listed = report.errored if errors_only else report.entries
    if shown is None:
        if any(entry.mapped_task for entry in listed.values()):
            listed = {name: entry for name, entry in listed.items() if not is_summed_up(entry)}
        return listed, 0
    # Successes are listed by name in a line of their own, as the HTML part lists them; a
    # recovered task keeps its row, as it has one there.
    recovered = {n for n, c in report.changes.items() if c is TaskChange.RECOVERED}
    kept = {
        name: entry
        for name, entry in listed.items()
        if entry.status is not TaskStatus.SUCCESS or name in recovered
    }
    named = {name: entry for name, entry in kept.items() if name in shown.named}
    return named, len(kept) - len(named)


def _task_lines(
    report: ProcessExecutionReport,
    words: Locale,
    style: _Style,
    listed: Mapping[str, TaskReportEntry],
    summaries: Mapping[str, str],
) -> list[str]:
    if not listed:
        return []
    status_width = max(len(words.status[e.status]) for e in listed.values())
    names = {name: show_controls(name) for name in listed}
    name_width = min(_MAX_NAME_COLUMN, max(len(text) for text in names.values()))
    causes = skip_causes(report)
    rows: list[tuple[TaskReportEntry, str, str, str, str]] = []
    for name, entry in listed.items():
        if entry.status is TaskStatus.SKIPPED:
            attempts, duration = "-", "-"
            why = skip_note(entry, words)  # a skip no failure explains: fail-fast, deadline...
            because = () if why else skip_roots(entry, causes[name].roots)
            note = f"({words.label_caused_by} {_names(because)})" if because else why and f"({why})"
        else:
            reuse = reuse_note(entry, words)
            attempts = words.reused if entry.reused else words.attempts(entry.attempts)
            duration = format_duration(entry.elapsed_seconds, words)
            note = f"({reuse})" if reuse and not entry.reused else ""
        if summary := summaries.get(name):
            note = f"{summary} {note}".rstrip()
        if said := change_note(report, name, words):
            note = f"[{said}] {note}".rstrip()
        rows.append((entry, names[name], attempts, duration, note))
    attempts_width = max(len(row[2]) for row in rows)
    duration_width = max(len(row[3]) for row in rows)
    lines = []
    for entry, label, attempts, duration, note in rows:
        word = words.status[entry.status]
        line = (
            f"  {style.status(entry.status, word)}{' ' * (status_width - len(word))}"
            f"  {label:<{name_width}}"
            f"  {attempts:<{attempts_width}}  {duration:>{duration_width}}"
        )
        if note:
            changed = report.changes.get(entry.name)
            code = _CHANGE_CODES[changed] if changed is not None else _DIM
            line += "  " + style.paint(note, code)
        lines.append(line.rstrip())
    return lines


def _item_summaries(report: ProcessExecutionReport, words: Locale) -> dict[str, str]:
    """Each mapped task's items summed up (SPEC §15), by the mapped task's name."""
    return {mapped: items.sentence(words) for mapped, items in item_counts(report).items()}


def _failure_lines(
    name: str,
    entry: TaskReportEntry,
    words: Locale,
    style: _Style,
    content: ReportContent,
    limit: FailureCut | None = None,
) -> list[str]:
    word = style.status(TaskStatus.ERRORED, words.status[TaskStatus.ERRORED])
    error = entry.error
    title = f"{word} {style.paint(show_controls(name), _BOLD)}"
    minimal = is_minimal(content)
    if entry.function and entry.function != name and not minimal:
        title += f"  ({words.label_function} {show_controls(entry.function)})"
    lines = [title]
    if error is None:
        return lines
    message = error.headline
    if limit is not None:
        message = cut(message, limit.message_chars, words.more_chars)
    lines.extend(_indent(show_controls(message), "  "))
    if not minimal:  # ReportContent.min(): name, status and message only
        lines.extend(_attempt_lines(entry, words, limit))
        lines.extend(_error_details(error, words, content, limit))
    return lines


def _attempt_lines(entry: TaskReportEntry, words: Locale, limit: FailureCut | None) -> list[str]:
    lines = []
    if repeated := attempts_said_once(entry, words):  # one error, said once with the count
        if limit is not None:
            repeated = cut(repeated, limit.value_chars or 200, words.more_chars)
        lines.extend(_indent(show_controls(repeated), f"  {words.label_attempts}: ", "    "))
    elif len(entry.attempt_errors) <= 1 or (limit is not None and not limit.attempt_list):
        lines.append(f"  {words.label_attempts}: {entry.attempts}")
    elif limit is not None:  # as the HTML part lists them: numbered, the middle ones cut
        listed = "\n".join(
            f"{number}. {cut(message, limit.value_chars, words.more_chars)}"
            for number, message in enumerate(entry.attempt_errors, start=1)
        )
        lines.append(f"  {words.label_failed_attempts}:")
        lines.extend(_indent(show_controls(cut_lines(listed, 3, 7, words.more_lines)), "    "))
    else:
        lines.append(f"  {words.label_failed_attempts}:")
        for number, message in enumerate(entry.attempt_errors, start=1):
            lines.extend(_indent(show_controls(message), f"    {number}. ", "       "))
    return lines


def _error_details(
    error: ErrorData, words: Locale, content: ReportContent, limit: FailureCut | None
) -> list[str]:
    lines = []
    if error.downstream_impact:
        skipped = _names(error.downstream_impact)
        if limit is not None:
            skipped = (
                list_names(
                    [show_controls(n) for n in error.downstream_impact],
                    most=limit.skipped_names,
                    more=words.and_more,
                )
                if limit.skipped_names
                else str(len(error.downstream_impact))
            )
        lines.append(f"  {words.label_skipped_because}: {skipped}")
    if content.show_traced_vars and error.traced_vars and (limit is None or limit.traced_vars):
        lines.extend(_traced_var_lines(error, words, limit))
    if (
        content.show_traceback
        and error.traceback_str.strip()
        and (limit is None or limit.traceback_tail)
    ):
        trace = error.traceback_str.rstrip()
        if limit is not None:
            trace = cut_lines(trace, limit.traceback_head, limit.traceback_tail, words.more_lines)
            trace = cut(trace, 12_000, words.more_chars)
        lines.append(f"  {words.label_traceback}:")
        lines.extend(_indent(show_controls(trace), "    "))
    return lines


def _traced_var_lines(error: ErrorData, words: Locale, limit: FailureCut | None) -> list[str]:
    where = (
        f" {words.at} {show_controls(error.traced_vars_location)}"
        if error.traced_vars_location
        else ""
    )
    lines = [f"  {words.label_traced_vars}{where}:"]
    items = list(error.traced_vars.items())
    most = len(items) if limit is None else limit.traced_vars
    for var, value in items[:most]:
        if limit is not None:
            value = cut(value, limit.value_chars, words.more_chars)
        lines.extend(_indent(show_controls(value), f"    {show_controls(var)} = ", "      "))
    if len(items) > most:
        lines.append(f"    {words.more_vars.format(n=len(items) - most)}")
    return lines


def _names(names: Iterable[str]) -> str:
    return ", ".join(show_controls(name) for name in names)


def _indent(text: str, first: str, rest: str | None = None) -> list[str]:
    rest = first if rest is None else rest
    return [(first if i == 0 else rest) + line for i, line in enumerate(text.splitlines() or [""])]
