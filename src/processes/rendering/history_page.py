"""The history as a page (SPEC §16): each process's last runs (and the runs the watch found
missing) by its tasks, one standalone HTML page with inline CSS and SVG. Pure; imports
``rendering.common`` and ``processes.outcome``, the history's grid types for type checking only.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from string import Template
from typing import TYPE_CHECKING
from urllib.parse import quote

from processes.outcome import StopReason, TaskChange, TaskStatus
from processes.rendering.common import (
    STATUS_LOOKS,
    Markup,
    cut,
    escape,
    fill,
    format_duration,
    format_time,
    join,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from processes.history.queries import GridCell, GridRun, MissedRun, ProcessGrid

__all__ = ["MAX_MESSAGE_CHARS", "MAX_TASK_ROWS", "render_history_page", "run_page_name"]

#: The most task rows a process's grid shows; the others are folded (counted, not shown):
#: its failing tasks come first, then its slowest.
MAX_TASK_ROWS = 250
#: A failure's message in a cell is cut to this many characters (its title, shown on
#: hover, to ``_TITLE_CHARS``).
MAX_MESSAGE_CHARS = 400
_TITLE_CHARS = 160
#: A failed item's message in a mapped task's cell is cut to this many characters.
_ITEM_MESSAGE_CHARS = 120
_TREND_W, _TREND_H = 96, 20

_SUCCESS, _ERRORED = TaskStatus.SUCCESS.value, TaskStatus.ERRORED.value
_SKIPPED, _PENDING = TaskStatus.SKIPPED.value, TaskStatus.PENDING.value
_NEW, _STILL = TaskChange.NEW_FAILURE.value, TaskChange.STILL_FAILING.value
_RECOVERED = TaskChange.RECOVERED.value

#: A change's letter in a cell, and its words.
_CHANGE_MARKS = {_NEW: ("N", "new failure"), _STILL: ("S", "still failing"),
                 _RECOVERED: ("R", "recovered")}  # fmt: skip

_PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="processes">
<title>$title</title>
<style>
$style
</style>
</head>
<body>
<header>
<h1>$title</h1>
<p class="muted">$intro</p>
$nav
$legend
</header>
<main>
$sections
</main>
<script>
for (const region of document.querySelectorAll(".scroll")) region.scrollLeft = region.scrollWidth;
</script>
</body>
</html>
""")

_STYLE = Template("""\
:root { color-scheme: light dark;
  --fg: #1f2933; --muted: #52606d; --bg: #ffffff; --panel: #f5f7fa; --rule: #d9e2ec;
  $light }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e4e7eb; --muted: #9aa5b1; --bg: #14171c; --panel: #1f2430; --rule: #323a47;
  $dark }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
header, main { max-width: 1400px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 16px; }
h1 { font-size: 1.5em; margin: 0 0 4px; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px;
  white-space: nowrap; }
h2 { font-size: 1.2em; margin: 28px 0 6px; overflow-wrap: anywhere; }
a { color: inherit; }
a:focus-visible, summary:focus-visible, .scroll:focus-visible {
  outline: 3px solid var(--fg); outline-offset: 1px; }
.muted { color: var(--muted); margin: 4px 0; }
nav ul { list-style: none; padding: 0; margin: 6px 0; display: flex; flex-wrap: wrap;
  gap: 4px 14px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 14px; padding: 0; margin: 8px 0;
  list-style: none; font-size: 13px; }
.legend span { display: inline-block; min-width: 2.2em; text-align: center; border-radius: 3px;
  border: 1px solid var(--stroke, var(--rule)); }
.scroll { overflow: auto; max-height: 85vh; border: 1px solid var(--rule); border-radius: 6px; }
table { border-collapse: separate; border-spacing: 0; font-size: 13px; }
th, td { padding: 0; border-bottom: 1px solid var(--rule); }
thead th { position: sticky; top: 0; background: var(--panel); z-index: 2; vertical-align: bottom; }
.task { position: sticky; left: 0; z-index: 1; background: var(--panel); text-align: left;
  font-weight: 600; padding: 2px 8px; min-width: min(15em, 34vw); max-width: 34vw;
  overflow-wrap: anywhere;
  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; }
thead .task { z-index: 3; }
.run { font-weight: 400; font-size: 11px; line-height: 13px; padding: 4px 1px; }
.run div { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap;
  margin: 0 auto; }
.run .id { font-family: ui-monospace, Menlo, Consolas, monospace; font-weight: 600; }
.run.failed, .run.crashed { color: var(--errored-text); background: var(--errored-fill); }
.run.stopped { color: var(--skipped-text); background: var(--skipped-fill); }
.run.ok { color: var(--success-text); background: var(--success-fill); }
.run.running { color: var(--pending-text); background: var(--pending-fill); }
.run.missed { color: var(--skipped-text); background: var(--skipped-fill); font-style: italic; }
.c.m { background: repeating-linear-gradient(135deg, var(--bg) 0 4px, var(--panel) 4px 8px); }
.c.m:empty::before { content: ""; }
.c small { font-size: 10px; vertical-align: sub; margin-left: 1px; }
.mapped { display: block; font-weight: 400; font-family: system-ui, sans-serif;
  color: var(--muted); font-size: 11px; }
.c { text-align: center; min-width: 2.6em; height: 1.9em; font-weight: 600;
  border-left: 1px solid var(--bg); }
.c b { font-size: 10px; vertical-align: super; }
.a { background: var(--bg); }
.c:empty::before { content: "\\b7"; color: var(--muted); }
.s, .r { background: var(--success-fill); color: var(--success-text);
  --stroke: var(--success-line); }
.r { box-shadow: inset 0 0 0 2px var(--success-line); }
.e { background: var(--errored-fill); color: var(--errored-text); --stroke: var(--errored-line); }
.e.n { background: var(--errored-line); color: var(--bg); }
.k { background: var(--skipped-fill); color: var(--skipped-text); --stroke: var(--skipped-line); }
.u, .p { background: var(--pending-fill); color: var(--pending-text);
  --stroke: var(--pending-line); }
.s.R { box-shadow: inset 0 0 0 2px var(--success-line); }
.c details { position: relative; }
.c summary { list-style: none; cursor: pointer; }
.c summary::-webkit-details-marker { display: none; }
.c details > div ul { margin: 4px 0 0; padding-left: 1.2em; }
.c details > div { position: absolute; z-index: 4; top: 100%; right: 0; width: min(26em, 80vw);
  background: var(--panel); color: var(--fg); border: 1px solid var(--errored-line);
  border-left-width: 5px; border-radius: 4px; padding: 6px 8px; text-align: left;
  font-weight: 400; white-space: pre-wrap; overflow-wrap: anywhere; }
.stat { white-space: nowrap; padding: 0 8px; text-align: right; font-variant-numeric: tabular-nums;
  color: var(--muted); }
.trend { padding: 0 8px; }
.trend svg { display: block; }
.trend polyline { fill: none; stroke: var(--fg); stroke-width: 1.5; }
.folded { margin: 6px 0; font-weight: 600; }
@media (max-width: 640px) {
  body { font-size: 14px; }
  header, main { padding: 0 8px; }
  .stat { white-space: normal; min-width: 4.5em; padding: 0 4px; }
  .trend { padding: 0 4px; }
  .trend svg { width: 48px; }
}
""")

_NAV_ITEM = Template('<li><a href="#$anchor">$name</a> <span class="muted">$count</span></li>')
_SECTION = Template("""<section id="$anchor" aria-labelledby="$anchor-h">
<h2 id="$anchor-h">$name</h2>
<p class="muted">$summary</p>
$folded<div class="scroll" tabindex="0" role="region" aria-label="$label">
<table>
<thead><tr><th scope="col" class="task">task</th>$heads\
<th scope="col" class="stat">p50 / p95</th>\
<th scope="col" class="trend">duration trend</th></tr></thead>
<tbody>
$rows
</tbody>
</table>
</div>
</section>""")
_HEAD = Template('<th scope="col" class="run $kind"><div>$id<br>$start<br>$outcome</div></th>')
_ID = Template('<span class="id">$run_id</span>')
_LINKED_ID = Template('<a class="id" href="$href" title="this run\'s own page">$run_id</a>')
_MISSED_HEAD = Template(
    '<th scope="col" class="run missed"><div><span class="id">\u25cc missed</span><br>'
    "expected by $due<br>no run$found</div></th>"
)
_MAPPED = Template(
    '<span class="mapped" title="a mapped task: its items in its newest run">$words</span>'
)
_MISSED_CELL = Markup('<td class="c m" title="missed: no run"></td>')
_ROW = Template(
    '<tr><th scope="row" class="task">$name$mapped</th>$cells'
    '<td class="stat">$p50 / $p95</td><td class="trend">$trend</td></tr>'
)
_PLAIN_CELL = Template('<td class="c $kind" title="$title">$mark</td>')
_FAILED_CELL = Template(
    '<td class="c $kind"><details><summary title="$title">$mark</summary>'
    "<div>$said</div></details></td>"
)
_TREND = Template(
    '<svg width="$w" height="$h" viewBox="0 0 $w $h" role="img" aria-label="$label">'
    '<polyline points="$points"/></svg>'
)


def run_page_name(run_id: str) -> str:
    """The file name of run ``run_id``'s own page, in the folder ``render_history_page``'s
    ``run_pages`` names: the run id itself when it is a plain file name (as the runs'
    ids are), else a digest of it (a hand-made report's id could be ``../x``)."""
    if _PLAIN_NAME.fullmatch(run_id):
        return f"{run_id}.html"
    return f"run-{hashlib.sha256(run_id.encode('utf-8', 'surrogatepass')).hexdigest()[:20]}.html"


_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,120}")


def render_history_page(
    grids: Sequence[ProcessGrid], *, limit: int, run_pages: str | None = None
) -> str:
    """The page of ``grids`` (one per process, each its last ``limit`` runs at most).
    With ``run_pages`` (a folder's relative URL, e.g. ``"runs.html-runs"``) each run's id
    links to its own page there, ``run_page_name(run_id)``."""
    anchors = [f"process-{index}" for index in range(len(grids))]
    nav = ""
    if len(grids) > 1:
        nav = join(
            [
                Markup('<nav aria-label="processes"><ul>'),
                *(
                    fill(_NAV_ITEM, anchor=a, name=g.process_name, count=_count(g))
                    for a, g in zip(anchors, grids, strict=True)
                ),
                Markup("</ul></nav>"),
            ]
        )
    sections = join(_section(a, g, run_pages) for a, g in zip(anchors, grids, strict=True))
    if not grids:
        sections = Markup('<p class="muted">No runs recorded yet.</p>')
    intro = fill(
        Template(
            "The last $limit runs of each process, oldest on the left, newest on the right;"
            " <code>python -m processes show FILE.db RUN_ID</code> shows one of them"
            " in full$linked."
        ),
        limit=limit,
        linked=", and each run id links to its own page" if run_pages is not None else "",
    )
    return fill(
        _PAGE,
        title="Run history",
        style=Markup(_style()),
        intro=intro,
        nav=nav,
        legend=_legend(),
        sections=sections,
    )


def _style() -> str:
    def variables(dark: bool) -> str:
        lines = []
        for status, look in STATUS_LOOKS.items():
            colors = (look.dark_fill, look.dark_line, look.dark_text) if dark else (
                look.fill, look.line, look.text)  # fmt: skip
            for role, color in zip(("fill", "line", "text"), colors, strict=True):
                lines.append(f"--{status.value}-{role}: {color};")
        return " ".join(lines)

    return _STYLE.substitute(light=variables(dark=False), dark=variables(dark=True))


def _legend() -> Markup:
    items = [
        ("s", "\u2713", "succeeded"),
        ("r", "\u21bb3", "succeeded after retries (3 attempts)"),
        ("e", "\u2717", "failed (click for its message)"),
        ("e n", "\u2717<b>N</b>", "new failure"),
        ("e", "\u2717<b>S</b>", "still failing"),
        ("s R", "\u2713<b>R</b>", "recovered"),
        ("k", "\u2298", "skipped"),
        ("u", "\u21e0", "reused from the run it resumed"),
        ("p", "\u2026", "running"),
        ("a", "\u00b7", "not in that run"),
        ("s", "\u2713<small>3</small>", "a mapped task: 3 of its items failed (click for them)"),
        ("run missed", "\u25cc", "missed: no run when one was expected (the watch, check())"),
    ]
    return join(
        [
            Markup('<ul class="legend" aria-label="what the marks mean">'),
            *(
                Markup(f'<li><span class="c {kind}">{mark}</span> {escape(words)}</li>')
                for kind, mark, words in items
            ),
            Markup("</ul>"),
        ]
    )


def _count(grid: ProcessGrid) -> str:
    runs, tasks, missed = len(grid.runs), len(grid.task_names), len(grid.missed)
    words = f"{runs} run{'s' * (runs != 1)}, {tasks} task{'s' * (tasks != 1)}"
    return words + (f", {missed} missed" if missed else "")


@dataclass(frozen=True, slots=True)
class _Row:
    """A task's row: its name, its cells run by run (None: not in that run), its durations
    where it ran, and how many of the runs it failed in."""

    name: str
    cells: tuple[GridCell | None, ...]
    items: int | None
    durations: tuple[float | None, ...]
    failures: int
    p50: float | None
    p95: float | None


def _rows(grid: ProcessGrid) -> list[_Row]:
    rows = []
    for name in grid.task_names:
        cells = tuple(run.cells.get(name) for run in grid.runs)
        durations = tuple(c.elapsed_seconds if c is not None and _ran(c) else None for c in cells)
        ran = sorted(d for d in durations if d is not None)
        failures = sum(c is not None and _failed(c) for c in cells)
        items = next((c.items for c in reversed(cells) if c is not None), None)
        rows.append(_Row(name, cells, items, durations, failures, _pct(ran, 50), _pct(ran, 95)))
    return rows


def _failed(cell: GridCell) -> bool:
    """Whether the task failed in that run, or (a mapped task) any of its items did."""
    return cell.status == _ERRORED or cell.failed_items > 0


def _ran(cell: GridCell) -> bool:
    """Whether the task ran in that run: a reused or skipped one has no time of its own."""
    return cell.status == _ERRORED or (cell.status == _SUCCESS and cell.attempts > 0)


def _pct(ordered: list[float], percent: int) -> float | None:
    if not ordered:
        return None
    return ordered[max(math.ceil(percent / 100 * len(ordered)), 1) - 1]


def _columns(grid: ProcessGrid) -> list[int | MissedRun]:
    """The grid's columns in time order: each run (its index) by its start, each missed
    run by when it was due; a run whose start is unknown keeps its place."""
    columns: list[int | MissedRun] = []
    missed = list(grid.missed)
    for index, column in enumerate(grid.runs):
        started = column.run.started_at
        while missed and started is not None and _instant(missed[0].due) < _instant(started):
            columns.append(missed.pop(0))
        columns.append(index)
    return columns + missed


def _instant(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _section(anchor: str, grid: ProcessGrid, run_pages: str | None) -> Markup:
    rows = _rows(grid)
    columns = _columns(grid)
    folded = Markup("")
    if len(rows) > MAX_TASK_ROWS:
        rows.sort(key=lambda row: (-row.failures, -(row.p95 or 0.0)))
        shown, hidden = rows[:MAX_TASK_ROWS], rows[MAX_TASK_ROWS:]
        failing = sum(row.failures > 0 for row in hidden)
        slowest = max((row.p95 or 0.0 for row in hidden), default=0.0)
        if failing:
            why = f"{failing:,} of them failed in these runs too"
        else:
            why = f"none failed in these runs, none is slower than {_seconds(slowest)} at p95"
        words = (
            f"Showing the {MAX_TASK_ROWS} failing and slowest of its {len(rows):,} tasks,"
            f" failing first, then slowest; {len(hidden):,} tasks folded ({why})."
        )
        folded = fill(Template('<p class="folded" role="note">$words</p>\n'), words=words)
        rows = shown
    return fill(
        _SECTION,
        anchor=anchor,
        name=grid.process_name or "(no name)",
        summary=_summary(grid),
        folded=folded,
        label=f"runs of {grid.process_name} by task",
        heads=join(
            _head(grid.runs[c], run_pages) if isinstance(c, int) else _missed_head(c)
            for c in columns
        ),
        rows=join(_row(row, columns) for row in rows),
    )


def _summary(grid: ProcessGrid) -> str:
    failed = sum(not run.run.ok for run in grid.runs)
    return f"{_count(grid)}; {failed} of the runs shown did not succeed."


def _missed_head(missed: MissedRun) -> Markup:
    found = f" (found {format_time(missed.found_at)})" if missed.found_at is not None else ""
    return fill(_MISSED_HEAD, due=format_time(missed.due), found=found)


def _head(column: GridRun, run_pages: str | None) -> Markup:
    run = column.run
    if run.finished_at is None:
        kind, outcome = "running", "\u2026 running"
    elif run.stopped_by is StopReason.CRASHED:
        kind, outcome = "crashed", "\u2620 crashed"
    elif run.stopped_by is not None:
        kind, outcome = "stopped", f"\u25a0 stopped ({run.stopped_by.value.replace('_', ' ')})"
    elif run.ok:
        kind, outcome = "ok", "\u2713 succeeded"
    else:
        failed = sum(_failed(c) for c in column.cells.values())
        kind, outcome = "failed", f"\u2717 failed ({failed} of {len(column.cells)})"
    took = format_duration(run.elapsed_seconds) if run.finished_at is not None else "-"
    start = format_time(run.started_at) if run.started_at is not None else "start unknown"
    if run_pages is None:
        shown = fill(_ID, run_id=run.run_id)
    else:
        href = f"{quote(run_pages)}/{quote(run_page_name(run.run_id))}"
        shown = fill(_LINKED_ID, href=href, run_id=run.run_id)
    return fill(_HEAD, kind=kind, id=shown, start=f"{start} \u00b7 {took}", outcome=outcome)


def _row(row: _Row, columns: Sequence[int | MissedRun]) -> Markup:
    mapped = Markup("")
    if row.items is not None:
        words = f"mapped \u00b7 {row.items:,} item{'s' * (row.items != 1)}"
        mapped = fill(_MAPPED, words=words)
    return fill(
        _ROW,
        name=row.name,
        mapped=mapped,
        cells=join(_cell(row.cells[c]) if isinstance(c, int) else _MISSED_CELL for c in columns),
        p50=_seconds(row.p50),
        p95=_seconds(row.p95),
        trend=_trend(row.durations),
    )


def _cell(cell: GridCell | None) -> Markup:
    if cell is None:
        return Markup('<td class="c"></td>')
    if cell.items is not None:
        return _mapped_cell(cell)
    took = format_duration(cell.elapsed_seconds)
    letter, change = _CHANGE_MARKS.get(cell.change, ("", ""))
    suffix = Markup(f"<b>{letter}</b>") if letter else Markup("")
    if cell.status == _ERRORED:
        words = [change or "failed", f"{cell.attempts} attempt{'s' * (cell.attempts != 1)}",
                 took]  # fmt: skip
        said = f"{', '.join(words)}: "
        kind = "e n" if cell.change == _NEW else "e"
        return fill(
            _FAILED_CELL,
            kind=kind,
            title=said + cut(cell.message, _TITLE_CHARS),
            said=said + cut(cell.message, MAX_MESSAGE_CHARS),
            mark=Markup("\u2717" + suffix),
        )
    if cell.status == _SUCCESS and cell.reused:
        return fill(_PLAIN_CELL, kind="u", title="reused", mark="\u21e0")
    if cell.status == _SUCCESS:
        if cell.attempts > 1:
            title = f"succeeded after {cell.attempts} attempts, {took}"
            return fill(_PLAIN_CELL, kind="r", title=title, mark=f"\u21bb{cell.attempts}")
        kind = "s R" if letter else "s"
        title = f"{change}, {took}" if change else took
        return fill(_PLAIN_CELL, kind=kind, title=title, mark=Markup("\u2713" + suffix))
    if cell.status == _SKIPPED:
        title = f"skipped: {cut(cell.message, MAX_MESSAGE_CHARS)}" if cell.message else "skipped"
        return fill(_PLAIN_CELL, kind="k", title=title, mark="\u2298")
    return fill(_PLAIN_CELL, kind="p", title="running", mark="\u2026")


def _seconds(value: float | None) -> str:
    return "-" if value is None else format_duration(value)


def _trend(durations: Sequence[float | None]) -> Markup:
    """A small line of the durations where the task ran, run by run (x: the run)."""
    known = [d for d in durations if d is not None]
    if len(known) < 2:
        return Markup("")
    top = max(known) or 1.0
    step = (_TREND_W - 4) / max(len(durations) - 1, 1)
    points = [
        f"{2 + i * step:.0f},{_TREND_H - 2 - (d / top) * (_TREND_H - 4):.0f}"
        for i, d in enumerate(durations)
        if d is not None
    ]
    label = f"durations from {format_duration(min(known))} to {format_duration(max(known))}"
    return fill(
        _TREND,
        w=_TREND_W,
        h=_TREND_H,
        label=label,
        points=" ".join(points),
    )


def _mapped_cell(cell: GridCell) -> Markup:
    """A mapped task (§15) in one run: its own status and its count of items that did
    not succeed, and those items' keys and messages (the first ones) on click."""
    items = cell.items or 0
    letter, change = _CHANGE_MARKS.get(cell.change, ("", ""))
    errored = cell.status == _ERRORED
    kind, mark, word = _MAPPED_LOOKS.get(cell.status, ("p", "\u2026", "running"))
    if letter:
        kind = "e n" if cell.change == _NEW else kind if errored else "s R"
    shown = mark + (f"<b>{letter}</b>" if letter else "")
    if cell.failed_items:
        shown += f"<small>{cell.failed_items:,}</small>"
    failed = f"{cell.failed_items:,} of {items:,} item{'s' * (items != 1)} failed"
    if cell.skipped_items:
        failed += f" ({cell.skipped_items:,} of them skipped)"
    said = ", ".join([change or word, failed, format_duration(cell.elapsed_seconds)])
    named = [cut(key, _ITEM_MESSAGE_CHARS) for key, _ in cell.failed_keys]
    more = cell.failed_items - len(named)
    keys = ", ".join(named) + (f" and {more:,} more" if more > 0 else "")
    title = cut(f"{said}: {keys}" if named else said, _TITLE_CHARS * 2)
    if not errored and not cell.failed_items:
        return fill(_PLAIN_CELL, kind=kind, title=title, mark=Markup(shown))
    lines = [
        fill(_ITEM_LINE, key=key, why=cut(why, _ITEM_MESSAGE_CHARS))
        for key, (_, why) in zip(named, cell.failed_keys, strict=True)
    ]
    if more > 0:
        lines.append(fill(Template("<li>and $more more</li>"), more=f"{more:,}"))
    message = f" {cut(cell.message, MAX_MESSAGE_CHARS)}" if cell.message else ""
    body = fill(_ITEMS, said=f"{said}.{message}", lines=join(lines))
    return fill(_FAILED_CELL, kind=kind, title=title, said=body, mark=Markup(shown))


#: A mapped task's class, mark and word by its own status.
_MAPPED_LOOKS = {
    _SUCCESS: ("s", "\u2713", "succeeded"),
    _ERRORED: ("e", "\u2717", "failed"),
    _SKIPPED: ("k", "\u2298", "skipped"),
}
_ITEM_LINE = Template("<li><code>$key</code> $why</li>")
_ITEMS = Template("$said<ul>$lines</ul>")
