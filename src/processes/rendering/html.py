"""The report as one standalone HTML page: summary, failures, timeline, task graph.

A pure function of the report. The page is package data (``templates/page.html``) filled
with ``string.Template``; every value taken from the report passes through
``rendering.common.escape``. Imports ``processes.report`` only for type checking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template
from typing import TYPE_CHECKING

from processes.content import ReportContent
from processes.outcome import SkipReason, TaskChange, TaskStatus
from processes.rendering.changes import (
    attempts_said_once,
    change_note,
    crash_notes,
    has_failed,
    never_ended,
    reuse_note,
    skip_note,
    skip_roots,
    skipped_by_a_failure,
    stop_note,
)
from processes.rendering.common import (
    ELLIPSIS,
    STATUS_LOOKS,
    Markup,
    escape,
    fill,
    folded,
    format_duration,
    is_minimal,
    item_counts,
    join,
    list_names,
    run_tally,
    skip_causes,
)
from processes.rendering.locales import get_locale

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from processes.rendering.common import ItemCounts, SkipCause
    from processes.report import ProcessExecutionReport, TaskReportEntry

__all__ = ["GraphLayout", "layout_graph", "render_html"]

#: Above these sizes the SVG graph is replaced by a note: drawn, it would cost megabytes
#: and nobody could read it anyway.
MAX_GRAPH_TASKS = 2_500
MAX_GRAPH_EDGES = 7_500
#: Runs at least this large open with successful tasks hidden from the timeline.
COLLAPSE_SUCCESSES_FROM = 500
#: Timeline rows beyond which successful tasks are left out (failures always stay).
MAX_TIMELINE_ROWS = 20_000
#: Budget for the failure details, so that 5,000 tracebacks cannot make a 50 MB page.
MAX_FAILURE_DETAIL_CHARS = 1_500_000
MAX_TRACEBACK_CHARS = 20_000
MAX_NAMES_LISTED = 25
MAX_RETRIED_LISTED = 100
#: A mapped task's row lists at most this many of its failed and skipped items.
MAX_ITEMS_LISTED = 500
_VIA_SHOWN = 5
#: Failures shown unfolded; the rest keep their one-line summary in view, folded.
OPEN_FAILURES = 3

# Graph geometry, in SVG user units (CSS pixels).
_NODE_W = 190
_NODE_H = 38
_ROW_H = 50
_SUBCOLUMN_GAP = 24
_LAYER_GAP = 70
_MARGIN = 16
_NAME_CHARS = 26
# The page is in English; its words for changes and stops come from the shared table.
_WORDS = get_locale("en")


def _counted(count: int, one: str = "task", many: str = "tasks") -> str:
    """``count`` (digits grouped) and the noun that agrees with it: "1 task", "2,000 tasks"."""
    return f"{count:,} {one if count == 1 else many}"


@cache
def _page() -> Template:
    source = resources.files("processes.rendering").joinpath("templates", "page.html")
    return Template(source.read_text(encoding="utf-8"))


def _status_colors(*, dark: bool) -> str:
    """The page's CSS variables for every status, from the colours all views share."""
    lines = []
    for status, look in STATUS_LOOKS.items():
        if dark:
            colors = (look.dark_fill, look.dark_line, look.dark_text)
        else:
            colors = (look.fill, look.line, look.text)
        for role, color in zip(("fill", "line", "text"), colors, strict=True):
            lines.append(f"--{status.value}-{role}: {color};")
    return " ".join(lines)


# -- fragments ---------------------------------------------------------------------------

_BADGE = Template('<span class="badge $status">$glyph $word</span>')
_CHANGE = Template('<span class="change $change" data-change="$change">$word</span>')
_COUNT = Template('<li class="$status"><strong>$count</strong> $word</li>')
_SUMMARY = Template(
    '<p class="verdict $verdict_class" role="status">$verdict</p>\n$crashed$stopped'
    '<ul class="counts" aria-label="Task counts">$counts</ul>\n'
    '<p class="times">$times</p>'
)
_STOPPED = Template('<p class="stopped">$text</p>\n')
_CRASHED = Template('<div class="crashed" role="alert">$notes</div>\n')
_FAILURE = Template(
    '<details class="failure" id="$anchor"$open><summary>$badge <span class="mono">$name'
    '</span>$change: $message</summary><div><dl>$facts</dl><div class="extra">$extra</div></div>'
    "</details>\n"
)
_FACT = Template("<dt>$term</dt><dd>$value</dd>")
_SHORT_FAILURE = Template(
    '<li id="$anchor">$badge <span class="mono">$name</span>: $message</li>\n'
)
_TRACEBACK = Template('<div><h3>Traceback</h3><pre class="traceback">$traceback</pre></div>')
_VARS = Template(
    '<div><h3>Traced variables <span class="note">at $location</span></h3>'
    '<table class="vars"><thead><tr><th scope="col">Name</th><th scope="col">Value</th>'
    "</tr></thead><tbody>$rows</tbody></table></div>"
)
_VAR_ROW = Template('<tr><td class="mono">$name</td><td><code>$value</code></td></tr>')
_TIMELINE = Template(
    '<p class="legend">Bars show when each task ran, in order of start time; '
    '$retry_note</p>\n<input type="checkbox" id="show-ok" class="toggle"$checked> '
    '<label for="show-ok">Show the $ok_count</label>\n'
    '<div class="scroll"><table class="tasks"><caption class="note">$caption</caption>'
    '<thead><tr><th scope="col">Task</th><th scope="col">Status</th>'
    '<th scope="col">Attempts</th><th scope="col">Started</th><th scope="col">Duration</th>'
    '<th scope="col"><div class="axis" role="group" aria-label="Time axis">$axis</div></th>'
    "</tr></thead>"
    "<tbody>\n$rows</tbody></table></div>"
)
_ROW = Template(
    '<tr class="$classes"><th scope="row">$name$change$items</th><td>$glyph $status$why</td>'
    '<td class="n">$attempts</td><td class="n">$offset</td><td class="n">$duration</td>'
    '<td class="tl">$bar</td></tr>\n'
)
_BAR = Template('<span style="left:$left%;width:$width%" title="$title"></span>')
_GRAPH = Template(
    '<div class="legend">$legend <span>\u2192 runs before (upstream to downstream)</span> '
    '<span style="color:var(--errored-line)">\u21e2 dashed red: skipped because of</span></div>\n'
    '<div class="scroll"><svg class="graph" xmlns="http://www.w3.org/2000/svg" '
    'width="$width" height="$height" viewBox="0 0 $width $height" role="img" '
    'aria-labelledby="graph-title"><title id="graph-title">$title</title>'
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
    'markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z"/></marker>'
    '<marker id="arrow-skip" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
    'markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z"/></marker></defs>\n'
    '<g class="edges">$edges</g>\n<g class="nodes">$nodes</g></svg></div>'
)
_EDGE = Template(
    '<path class="$classes" data-from="$source" data-to="$target" '
    'd="M$x1 ${y1}C$cx1 $y1 $cx2 $y2 $x2 $y2"/>\n'
)
_NODE = Template(
    '<g class="node $status" data-task="$name" data-status="$status" '
    'transform="translate($x $y)"><title>$tooltip</title>'
    f'<rect width="{_NODE_W}" height="{_NODE_H}" rx="6"/>'
    '<text x="10" y="16">$label</text><text class="st" x="10" y="31">$glyph $status$more</text>'
    "</g>\n"
)
_LINK = Template('<a href="#$anchor">$inner</a>')
_ITEMS = Template(
    '<details class="items"><summary>$sentence</summary><ul>$rows</ul>$more</details>'
)
_ITEM = Template("<li>$badge $key$why</li>")
_KEY = Template('<span class="mono">$key</span>')
_ERRORS_ONLY_GRAPH = Markup(
    '<p class="note" id="graph-omitted">Only the failed tasks are listed in this report, '
    "so the task graph is not drawn; the summary above counts every task.</p>"
)


# -- helpers -----------------------------------------------------------------------------


def _badge(status: TaskStatus) -> Markup:
    look = STATUS_LOOKS[status]
    return fill(_BADGE, status=status.value, glyph=look.glyph, word=look.word)


def _change(report: ProcessExecutionReport, name: str, *, short: bool = False) -> Markup:
    """The "new" / "still failing since …" / "recovered" badge after a task's name.

    ``short`` leaves out since when and how many runs, for the narrow timeline column.
    """
    change = report.changes.get(name)
    if change is None:
        return Markup("")
    word = _WORDS.change[change] if short else change_note(report, name, _WORDS)
    return fill(_CHANGE, change=change.value, word=word)


def _moment(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="milliseconds") if value else "unknown"


def _listed(names: Sequence[str]) -> str:
    return list_names(names, most=MAX_NAMES_LISTED)


def _skip_note(cause: SkipCause) -> str:
    """Say which failure to fix, and the skipped tasks in between: ``a (via b)``."""
    text = _listed(cause.roots)
    via = list(cause.via)
    if len(via) > _VIA_SHOWN:  # a long chain: its two ends say the most
        via = [*via[:2], ELLIPSIS, *via[-2:]]
    return f"{text} (via {' → '.join(via)})" if via else text


def _anchors(report: ProcessExecutionReport) -> dict[str, str]:
    """Give every errored task a fragment id built from its position, never its name."""
    return {name: f"failure-{i}" for i, name in enumerate(report.errored)}


# -- sections ----------------------------------------------------------------------------


def _summary(report: ProcessExecutionReport) -> Markup:
    counts = dict.fromkeys(TaskStatus, 0)  # declared tasks; a run's items are counted apart
    for entry in report.entries.values():
        if not entry.mapped_task:
            counts[entry.status] += 1
    total = sum(counts.values())
    tally = run_tally(report)
    if not report.entries:
        verdict, verdict_class = "No tasks in this report.", "ok"
    elif not has_failed(report):
        verdict = f"\u2713 Succeeded: {'the' if total == 1 else 'all'} {_counted(total)} succeeded."
        verdict += f" {tally.items_line(_WORDS)}." if tally.items else ""
        verdict_class = "ok"
    else:
        parts = [
            f"{counts[s]} {look.count_word}"
            for s, look in STATUS_LOOKS.items()
            if s is not TaskStatus.SUCCESS
        ]
        said = ", ".join(p for p in parts if not p.startswith("0 "))
        items = tally.items_verdict(_WORDS)
        verdict = f"\u2717 Failed: {said} of {_counted(total)}." if said else "\u2717 Failed:"
        verdict += f" {items}" if items else ""
        verdict_class = "failed"
    shown = [s for s in STATUS_LOOKS if counts[s] or s is not TaskStatus.PENDING]
    count_items = join(
        fill(_COUNT, status=s.value, count=counts[s], word=STATUS_LOOKS[s].count_word)
        for s in shown
    )
    times = f"Started {_moment(report.started_at)} \u00b7 finished {_moment(report.finished_at)}"
    if not never_ended(report):
        times += f" \u00b7 took {format_duration(report.elapsed_seconds)}"
    if report.host:
        times += f" \u00b7 host {report.host}"
    times += f" \u00b7 run {report.run_id}"
    stopped = stop_note(report, _WORDS)
    return fill(
        _SUMMARY,
        verdict=verdict,
        verdict_class=verdict_class,
        crashed=_crashed(report),
        stopped=fill(_STOPPED, text=stopped) if stopped else Markup(""),
        counts=count_items,
        times=times,
    )


def _crashed(report: ProcessExecutionReport) -> Markup:
    """The earlier runs this one found dead (§13), one sentence each, or nothing."""
    notes = crash_notes(report, _WORDS)
    if not notes:
        return Markup("")
    return fill(_CRASHED, notes=join(f"<p>{escape(note)}</p>" for note in notes))


def _failure_detail(
    report: ProcessExecutionReport,
    name: str,
    entry: TaskReportEntry,
    anchor: str,
    content: ReportContent,
    budget: int,
    *,
    is_open: bool,
) -> Markup:
    error = entry.error
    message = error.headline if error else "failed (no error recorded)"
    if is_minimal(content):  # ReportContent.min(): name, status and message only
        facts: list[Markup] = []
        error = None
    else:
        facts = _facts(entry)
    extra: list[str] = []
    if error and content.show_traceback and error.traceback_str:
        traceback = error.traceback_str
        if len(traceback) > min(MAX_TRACEBACK_CHARS, budget):
            keep = max(min(MAX_TRACEBACK_CHARS, budget), 500)
            traceback = f"[\u2026 {len(traceback) - keep} characters cut]\n" + traceback[-keep:]
        extra.append(fill(_TRACEBACK, traceback=traceback))
    if error and content.show_traced_vars and error.traced_vars:
        rows = join(
            fill(_VAR_ROW, name=key, value=value) for key, value in error.traced_vars.items()
        )
        extra.append(
            fill(_VARS, location=error.traced_vars_location or "unknown location", rows=rows)
        )
    return fill(
        _FAILURE,
        anchor=anchor,
        open=Markup(" open" if is_open else ""),
        badge=_badge(entry.status),
        name=name,
        change=_change(report, name),
        message=message,
        facts=join(facts),
        extra=join(extra),
    )


def _facts(entry: TaskReportEntry) -> list[Markup]:
    facts = [fill(_FACT, term="Function", value=Markup(f"<code>{escape(entry.function)}</code>"))]
    repeated = attempts_said_once(entry, _WORDS)  # one error repeated: said once, counted
    facts.append(fill(_FACT, term="Attempts", value=repeated or entry.attempts))
    if entry.attempt_errors and not repeated:
        items = join(f"<li>{escape(text)}</li>" for text in entry.attempt_errors)
        facts.append(fill(_FACT, term="Failed attempts", value=Markup(f"<ol>{items}</ol>")))
    impact = entry.error.downstream_impact if entry.error else ()
    if impact:
        text = f"{_counted(len(impact))}: {_listed(impact)}"
        facts.append(fill(_FACT, term="Skipped because of it", value=text))
    facts.append(fill(_FACT, term="Duration", value=format_duration(entry.elapsed_seconds)))
    return facts


def _failures(report: ProcessExecutionReport, content: ReportContent) -> Markup:
    errored = report.errored
    anchors = _anchors(report)
    parts: list[str] = []
    if not errored:
        parts.append('<p class="note">No task failed.</p>')
    budget = MAX_FAILURE_DETAIL_CHARS
    short: list[str] = []
    if len(errored) > OPEN_FAILURES:
        parts.append(
            f'<p class="note">{_counted(len(errored))} failed; the first {OPEN_FAILURES} are '
            "unfolded, open the others for their details.</p>"
        )
    for index, (name, entry) in enumerate(errored.items()):
        if budget > 0:
            is_open = index < OPEN_FAILURES
            detail = _failure_detail(
                report, name, entry, anchors[name], content, budget, is_open=is_open
            )
            budget -= len(detail)
            parts.append(detail)
        else:
            message = entry.error.headline if entry.error else "failed"
            short.append(
                fill(
                    _SHORT_FAILURE,
                    anchor=anchors[name],
                    badge=_badge(entry.status),
                    name=name,
                    message=message,
                )
            )
    if short:
        parts.append(
            f'<p class="note">{len(short)} more failures, listed without details to keep '
            "this page small; the JSON report has them all.</p>"
            f"<ul>{''.join(short)}</ul>"
        )
    parts.extend(_skipped_notes(report))
    recovered = [
        name
        for name, change in report.changes.items()
        if change is TaskChange.RECOVERED and name in report.entries
    ]
    if recovered:
        items = join(
            f'<li><span class="mono">{escape(name)}</span>{_change(report, name)}</li>'
            for name in recovered[:MAX_RETRIED_LISTED]
        )
        more = len(recovered) - MAX_RETRIED_LISTED
        tail = f'<p class="note">\u2026 and {more} more.</p>' if more > 0 else ""
        parts.append(
            f"<h3>Recovered since the previous run ({len(recovered)})</h3><ul>{items}</ul>{tail}"
        )
    retried = [
        (name, e)
        for name, e in report.entries.items()
        if e.attempt_errors and e.status is not TaskStatus.ERRORED
    ]
    if retried:
        # Each attempt's message is a detail that ReportContent.min() leaves out.
        minimal = is_minimal(content)
        items = join(
            f'<li><span class="mono">{escape(name)}</span> succeeded after '
            f"{e.attempts} attempts"
            + ("" if minimal else ": " + escape("; ".join(e.attempt_errors)))
            + "</li>"
            for name, e in retried[:MAX_RETRIED_LISTED]
        )
        more = len(retried) - MAX_RETRIED_LISTED
        tail = f'<p class="note">\u2026 and {more} more.</p>' if more > 0 else ""
        parts.append(f"<h3>Recovered by a retry ({len(retried)})</h3><ul>{items}</ul>{tail}")
    return join(parts)


def _skipped_notes(report: ProcessExecutionReport) -> list[str]:
    """Count the tasks a failure skipped; name the others with their reason, which is not."""
    by_failure = 0
    others: dict[str, list[str]] = {}  # reason -> names, in report order
    for name, entry in report.skipped.items():
        reason = entry.skip_reason
        if reason is None or reason is SkipReason.UPSTREAM_FAILED:  # skipped_by_a_failure
            by_failure += 1
        else:
            others.setdefault(_WORDS.skip_reason[reason], []).append(name)
    notes = []
    if by_failure:
        notes.append(
            f"<p>{_counted(by_failure)} skipped because of these failures; the timeline "
            "says which failure stopped each one.</p>"
        )
    if others:
        count = sum(len(names) for names in others.values())
        reasons = "; ".join(f"{why}: {_listed(names)}" for why, names in others.items())
        notes.append(
            f"<p>{_counted(count)} skipped, not because of a failure \u2014 {escape(reasons)}.</p>"
        )
    return notes


def _timeline(report: ProcessExecutionReport, *, errors_only: bool) -> Markup:
    # A mapped task is one row that opens to its failed and skipped items (SPEC §15).
    entries = folded(report.errored if errors_only else report.entries)
    causes = skip_causes(report)
    origin, span = _time_frame(report, entries)
    timed = sorted(
        (e.started_at, i, name) for i, (name, e) in enumerate(entries.items()) if e.started_at
    )
    untimed = [name for name, e in entries.items() if not e.started_at]
    # Past the cap, leave out successes: they are the least interesting rows.
    ok_count = sum(e.status is TaskStatus.SUCCESS for e in entries.values())
    room_for_successes = MAX_TIMELINE_ROWS - (len(entries) - ok_count)
    items = _item_lists(report, causes)
    left_out = 0
    rows: list[str] = []
    for name in [*(name for _, _, name in timed), *untimed]:
        entry = entries[name]
        if entry.status is TaskStatus.SUCCESS:
            if room_for_successes <= 0:
                left_out += 1
                continue
            room_for_successes -= 1
        rows.append(
            _timeline_row(report, name, entry, causes.get(name), origin, span, items.get(name))
        )
    collapse = len(entries) >= COLLAPSE_SUCCESSES_FROM and ok_count < len(entries)
    caption = _timeline_caption(len(entries), bool(timed), collapse, span, left_out)
    axis = join(
        f'<span style="left:{q * 25}%">+{format_duration(span * q / 4)}</span>' for q in range(5)
    )
    return fill(
        _TIMELINE,
        retry_note="a dashed outline marks a task that needed more than one attempt.",
        checked=Markup("" if collapse else " checked"),
        ok_count=_counted(ok_count, "successful task", "successful tasks"),
        caption=caption,
        axis=axis if span else Markup(""),
        rows=join(rows),
    )


def _time_frame(
    report: ProcessExecutionReport, entries: Mapping[str, TaskReportEntry]
) -> tuple[datetime | None, float]:
    """When the timeline's axis starts, and how many seconds it spans (0 without times)."""
    starts = [e.started_at for e in entries.values() if e.started_at]
    ends = [e.finished_at for e in entries.values() if e.finished_at]
    origin = min([*starts, *([report.started_at] if report.started_at else [])], default=None)
    last = max([*ends, *([report.finished_at] if report.finished_at else [])], default=None)
    span = (last - origin).total_seconds() if origin and last else 0.0
    return origin, span


def _timeline_row(
    report: ProcessExecutionReport,
    name: str,
    entry: TaskReportEntry,
    cause: SkipCause | None,
    origin: datetime | None,
    span: float,
    items: Markup | None = None,
) -> Markup:
    """A task's row: its status, why it was skipped or reused, when it started, its bar;
    a mapped task's row opens to its failed and skipped items."""
    classes = entry.status.value + (" retried" if entry.attempts > 1 else "")
    classes += " mapped" if items is not None else ""
    offset, bar = _timeline_bar(name, entry, origin, span)
    ran = entry.status in (TaskStatus.SUCCESS, TaskStatus.ERRORED)
    return fill(
        _ROW,
        classes=classes,
        name=name,
        change=_change(report, name, short=True),
        items=items or Markup(""),
        glyph=STATUS_LOOKS[entry.status].glyph,
        status=STATUS_LOOKS[entry.status].word,
        why=_timeline_why(entry, cause),
        attempts=entry.attempts if entry.attempts > 1 or ran else "",
        offset=offset,
        duration=format_duration(entry.elapsed_seconds) if ran else "",
        bar=bar,
    )


def _item_lists(
    report: ProcessExecutionReport, causes: Mapping[str, SkipCause]
) -> dict[str, Markup]:
    """Each mapped task's items: its summary, opening to the failed and skipped ones."""
    anchors = _anchors(report)
    listed: dict[str, list[str]] = {}
    for name, entry in report.entries.items():
        mapped = entry.mapped_task
        if not mapped or entry.status is TaskStatus.SUCCESS:
            continue
        rows = listed.setdefault(mapped, [])
        if len(rows) >= MAX_ITEMS_LISTED:
            continue
        key = entry.item_key or ""
        if entry.status is TaskStatus.ERRORED:
            why = f": {entry.error.headline}" if entry.error else ""
        else:
            why = _timeline_why(entry, causes.get(name))
        shown = fill(_KEY, key=key)
        if name in anchors:  # a failed item links to its failure's details
            shown = fill(_LINK, anchor=anchors[name], inner=shown)
        rows.append(fill(_ITEM, badge=_badge(entry.status), key=shown, why=why))
    lists = {}
    for mapped, counted in item_counts(report).items():
        hidden = len(counted.failed) + len(counted.skipped) - MAX_ITEMS_LISTED
        more = (
            f'<p class="note">\u2026 and {hidden:,} more; the JSON report has them all.</p>'
            if hidden > 0
            else ""
        )
        lists[mapped] = fill(
            _ITEMS,
            sentence=counted.sentence(_WORDS),
            rows=join(listed.get(mapped, ())),
            more=Markup(more),
        )
    return lists


def _timeline_why(entry: TaskReportEntry, cause: SkipCause | None) -> str:
    """Why a skipped task never ran, or where a reused result came from, in brackets; or ""."""
    if entry.status is TaskStatus.SKIPPED:
        if skip_note(entry, _WORDS) and entry.skip_reason is not None:
            return f" ({_WORDS.skip_reason[entry.skip_reason]})"
        if cause is not None and cause.roots:
            return f" (because of {_skip_note(cause)})"
        if roots := skip_roots(entry, ()):
            return f" (because of {_listed(roots)})"
    elif reused := reuse_note(entry, _WORDS):
        return f" ({reused})"
    return ""


def _timeline_bar(
    name: str, entry: TaskReportEntry, origin: datetime | None, span: float
) -> tuple[str, Markup]:
    """When a task started after the run (``+1.2s``) and its bar; empty without times."""
    offset, bar = "", Markup("")
    if entry.started_at and origin:
        start_seconds = (entry.started_at - origin).total_seconds()
        offset = f"+{format_duration(start_seconds)}"
        if span > 0:
            end = entry.finished_at or entry.started_at
            width = (end - entry.started_at).total_seconds() / span * 100
            left = start_seconds / span * 100
            word = STATUS_LOOKS[entry.status].word
            title = f"{name}: {word}, {format_duration(entry.elapsed_seconds)}"
            if entry.attempts > 1:
                title += f", {entry.attempts} attempts"
            bar = fill(_BAR, left=f"{left:.3f}", width=f"{width:.3f}", title=title)
    return offset, bar


def _timeline_caption(count: int, timed: bool, collapse: bool, span: float, left_out: int) -> str:
    """What the timeline shows of ``count`` tasks, and what it leaves out."""
    if not timed:
        caption = "No start times were recorded, so there are no bars; tasks in report order."
    elif collapse:
        caption = (
            f"{_counted(count)}: successful ones are hidden to keep failures in view; "
            "tick the box above to show them."
        )
    else:
        caption = f"{_counted(count)} over {format_duration(span)}."
    if left_out:
        caption += (
            f" {_counted(left_out, 'successful task is', 'successful tasks are')} not listed, "
            "to keep this page small; "
            "the JSON report has them all."
        )
    return caption


# -- graph -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GraphLayout:
    """Where each task sits: its layer (longest path from a root) and its (x, y) corner."""

    layers: dict[str, int]
    positions: dict[str, tuple[int, int]]
    width: int
    height: int


def layout_graph(report: ProcessExecutionReport) -> GraphLayout:
    """Lay the tasks out left to right in layers by longest path from a root.

    Linear in tasks + edges (plus a sort per layer). Within a layer tasks are ordered by
    the mean row of their upstream tasks, so edges cross less; a layer taller than the
    page wraps into several sub-columns. Dependencies missing from the report (a filtered
    report) are ignored; tasks caught in a cycle go in one extra layer at the end.
    """
    entries = folded(report.entries)  # a mapped task's node stands for its items
    upstream = {
        name: list(dict.fromkeys(d for d in e.dependencies if d in entries and d != name))
        for name, e in entries.items()
    }
    layers = _layers(upstream)

    by_layer: list[list[str]] = [[] for _ in range(max(layers.values(), default=-1) + 1)]
    for name in entries:
        by_layer[layers[name]].append(name)
    rows_cap = max(10, math.ceil(math.sqrt(len(entries) * 2)))
    row_of: dict[str, float] = {}
    positions: dict[str, tuple[int, int]] = {}
    x = _MARGIN
    tallest = 1
    for index, names in enumerate(by_layer):
        if index:

            def barycentre(name: str) -> float:
                rows = [row_of[d] for d in upstream[name] if d in row_of]
                return sum(rows) / len(rows) if rows else math.inf

            names.sort(key=barycentre)
        columns = max(1, math.ceil(len(names) / rows_cap))
        rows_used = math.ceil(len(names) / columns)
        tallest = max(tallest, rows_used)
        for i, name in enumerate(names):
            # Row-major wrapping keeps neighbours in the sorted order at similar heights.
            row, column = divmod(i, columns)
            row_of[name] = row
            positions[name] = (x + column * (_NODE_W + _SUBCOLUMN_GAP), row)
        x += columns * (_NODE_W + _SUBCOLUMN_GAP) - _SUBCOLUMN_GAP + _LAYER_GAP
    _centre_columns(positions, tallest)
    width = max(x - _LAYER_GAP + _MARGIN, _NODE_W + 2 * _MARGIN)
    height = tallest * _ROW_H - (_ROW_H - _NODE_H) + 2 * _MARGIN
    return GraphLayout(layers=layers, positions=positions, width=width, height=height)


def _layers(upstream: dict[str, list[str]]) -> dict[str, int]:
    """Each task's layer: the longest path from a root; tasks in a cycle go in one more."""
    downstream: dict[str, list[str]] = {name: [] for name in upstream}
    waiting = {name: len(deps) for name, deps in upstream.items()}
    for name, deps in upstream.items():
        for dep in deps:
            downstream[dep].append(name)
    layers: dict[str, int] = {}
    ready = [name for name, count in waiting.items() if count == 0]
    for name in ready:  # ready grows while we walk it: Kahn's algorithm
        layers[name] = max((layers[d] + 1 for d in upstream[name]), default=0)
        for child in downstream[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    if len(layers) < len(upstream):
        extra = max(layers.values(), default=-1) + 1
        layers.update({name: extra for name in upstream if name not in layers})
    return layers


def _centre_columns(positions: dict[str, tuple[int, int]], tallest: int) -> None:
    """Turn each task's (x, row) into its (x, y), each column centred on the tallest one."""
    column_rows: dict[int, int] = {}
    for column_x, row in positions.values():
        column_rows[column_x] = max(column_rows.get(column_x, 0), row + 1)
    for name, (column_x, row) in positions.items():
        offset = (tallest - column_rows[column_x]) * _ROW_H // 2
        positions[name] = (column_x, _MARGIN + offset + row * _ROW_H)


def _graph(report: ProcessExecutionReport) -> Markup:
    entries = folded(report.entries)  # a mapped task is one node, counting its items
    causes = skip_causes(report)
    edge_count = sum(len(e.dependencies) for e in entries.values())
    if not entries:
        return Markup('<p class="note">No tasks, so no graph.</p>')
    if len(entries) > MAX_GRAPH_TASKS or edge_count > MAX_GRAPH_EDGES:
        return Markup(
            '<p class="note" id="graph-omitted">The task graph is not drawn for runs of more '
            f"than {MAX_GRAPH_TASKS:,} tasks or {MAX_GRAPH_EDGES:,} dependencies (this one has "
            f"{_counted(len(entries))} and {_counted(edge_count, 'dependency', 'dependencies')}): "
            "it would make this page "
            "too large to open. The failures above name what each one skipped; "
            "<code>report.to_mermaid()</code> gives the graph as text.</p>"
        )
    layout = layout_graph(report)
    anchors = _anchors(report)
    edges, skip_edges = _edges(report, layout)
    items = item_counts(report)
    nodes = [
        _node(name, entry, layout, causes.get(name), anchors.get(name), items.get(name))
        for name, entry in entries.items()
    ]
    edge_total = len(edges) + len(skip_edges)
    counts = f"{_counted(len(entries))} and {_counted(edge_total, 'dependency', 'dependencies')}"
    legend = join(_badge(status) for status in STATUS_LOOKS)
    return fill(
        _GRAPH,
        legend=legend,
        width=layout.width,
        height=layout.height,
        title=f"Task graph of {report.process_name or 'the process'}: {counts}, "
        "coloured by status, upstream tasks on the left.",
        edges=join([*edges, *skip_edges]),
        nodes=join(nodes),
    )


def _edges(report: ProcessExecutionReport, layout: GraphLayout) -> tuple[list[str], list[str]]:
    """The graph's edges, and apart those along which a failure skipped a task."""
    entries = report.entries
    failed = (TaskStatus.ERRORED, TaskStatus.SKIPPED)
    edges: list[str] = []
    skip_edges: list[str] = []  # drawn last, so grey edges never hide what skipped what
    for name, entry in entries.items():
        if name not in layout.positions:
            continue  # an item: its mapped task's node stands for it
        x2, top2 = layout.positions[name]
        y2 = top2 + _NODE_H // 2
        for dep in dict.fromkeys(entry.dependencies):
            if dep not in layout.positions or dep == name:
                continue
            x1, top1 = layout.positions[dep]
            x1 += _NODE_W
            y1 = top1 + _NODE_H // 2
            bend = max((x2 - x1) // 2, 20)
            skip = skipped_by_a_failure(entry) and entries[dep].status in failed
            (skip_edges if skip else edges).append(
                fill(
                    _EDGE,
                    classes="edge skip" if skip else "edge",
                    source=dep,
                    target=name,
                    x1=x1,
                    y1=y1,
                    cx1=x1 + bend,
                    cx2=x2 - bend,
                    x2=x2,
                    y2=y2,
                )
            )
    return edges, skip_edges


def _node(
    name: str,
    entry: TaskReportEntry,
    layout: GraphLayout,
    cause: SkipCause | None,
    anchor: str | None,
    items: ItemCounts | None = None,
) -> str:
    """A task's box: its status, a label cut to fit, a tooltip, a link to its failure; a
    mapped task's box counts its items."""
    x, y = layout.positions[name]
    label = name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 1] + "\u2026"
    retried = entry.attempts > 1
    more = f" \u00b7 {entry.attempts} attempts" if retried else ""
    tooltip = f"{name}: {STATUS_LOOKS[entry.status].word}"
    tooltip += f", {entry.attempts} attempts" if retried else ""
    if items is not None:
        more = f" \u00b7 {items.succeeded:,}/{items.total:,} items ok"
        tooltip += f"; {items.sentence(_WORDS)}"
    if skip_note(entry, _WORDS) and entry.skip_reason is not None:  # no failure's doing
        tooltip += f" ({_WORDS.skip_reason[entry.skip_reason]})"
    elif cause is not None and cause.roots:
        tooltip += f", skipped because of {_skip_note(cause)}"
    node = fill(
        _NODE,
        status=entry.status.value,
        name=name,
        x=x,
        y=y,
        tooltip=tooltip,
        label=label,
        glyph=STATUS_LOOKS[entry.status].glyph,
        more=more,
    )
    if anchor is not None:
        node = fill(_LINK, anchor=anchor, inner=node)
    return node


# -- page --------------------------------------------------------------------------------


def render_html(
    report: ProcessExecutionReport,
    *,
    content: ReportContent | None = None,
    errors_only: bool = False,
) -> str:
    """Return the report as one self-contained HTML page (no scripts, nothing fetched).

    ``content`` chooses the failure details shown (traceback, traced variables); by
    default both. Large runs stay one file of a few MB: successes start collapsed in the
    timeline, failure details have a size budget and the graph gives way to a note. With
    ``errors_only`` the summary still counts every task, the timeline lists the errored
    ones only and the graph is left out.
    """
    content = content or ReportContent()
    name = report.process_name or "Process"
    verdict = "failed" if has_failed(report) else "ok"
    graph = _ERRORS_ONLY_GRAPH if errors_only else _graph(report)
    return fill(
        _page(),
        title=f"{name}: {verdict} \u2014 processes report",
        heading=f"{name} \u2014 run report",
        failure_count=len(report.errored),
        status_colors=Markup(_status_colors(dark=False)),
        status_colors_dark=Markup(_status_colors(dark=True)),
        summary=_summary(report),
        failures=_failures(report, content),
        timeline=_timeline(report, errors_only=errors_only),
        graph=graph,
    )
