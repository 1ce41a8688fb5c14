"""The report as an HTML email body that survives real mail clients.

Built for Gmail, Outlook and Apple Mail (NOTIFY.md A): nested presentation tables, inline
styles with literal colours, no CSS variables, ``<details>`` or SVG, and a size budget
that keeps the body under Gmail's clipping limit. Templates are package data filled with
``string.Template``; every value that comes from a task is escaped. Pure: no I/O beyond
reading the templates. Imports ``processes.report`` only for type checking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template
from types import MappingProxyType
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
    subject_words,
)
from processes.rendering.common import (
    STATUS_LOOKS,
    FailureCut,
    Markup,
    RunTally,
    Shown,
    cut,
    cut_lines,
    escape,
    fill,
    format_duration,
    format_time,
    is_minimal,
    is_summed_up,
    item_counts,
    join,
    list_names,
    run_tally,
    show_controls,
    skip_causes,
)
from processes.rendering.locales import LANGUAGES, Locale, get_locale
from processes.rendering.text import render_text

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from processes.outcome import ErrorData
    from processes.report import ProcessExecutionReport, TaskReportEntry

__all__ = [
    "MAX_HTML_BYTES",
    "PALETTES",
    "HTMLEmailStyle",
    "Palette",
    "render_email",
    "render_email_html",
    "subject_line",
]

#: Size the HTML part is kept under; Gmail clips a message body at about 102 KB.
MAX_HTML_BYTES = 95_000
# How much of the budget failures may use while other sections still wait their turn,
# and the most that the skipped list and the timeline take before successes.
_FAILURES_SHARE = 72_000
_SKIPPED_MAX = 10_000
_TIMELINE_MAX = 10_000
#: The mapped tasks' summaries, a line each under the run's summary.
_ITEMS_MAX = 6_000
_TIMELINE_ROWS = 20

EMAIL_FONT = _FONT = "-apple-system,BlinkMacSystemFont,Segoe UI,Roboto,Helvetica,Arial,sans-serif"
_MONO = "Menlo,Consolas,DejaVu Sans Mono,Liberation Mono,monospace"


@dataclass(frozen=True, slots=True)
class StatusColors:
    """A status's badge (``solid`` behind ``on_solid``) and its tinted panel (``soft``/``ink``)."""

    solid: str
    on_solid: str
    soft: str
    ink: str


@dataclass(frozen=True, slots=True)
class Palette:
    """Literal colours for one look; mail clients drop CSS variables, so none are used."""

    name: str
    page_bg: str
    card_bg: str
    header_bg: str
    header_text: str
    text: str
    muted: str
    border: str
    code_bg: str
    code_text: str
    track: str
    success: StatusColors
    errored: StatusColors
    skipped: StatusColors
    pending: StatusColors

    def of(self, status: TaskStatus) -> StatusColors:
        return {
            TaskStatus.SUCCESS: self.success,
            TaskStatus.ERRORED: self.errored,
            TaskStatus.SKIPPED: self.skipped,
            TaskStatus.PENDING: self.pending,
        }[status]


def _shared(status: TaskStatus) -> StatusColors:
    look = STATUS_LOOKS[status]
    return StatusColors(solid=look.line, on_solid="#ffffff", soft=look.fill, ink=look.text)


# The colours every other view uses (rendering.common), on a light grey page.
_NEUTRAL = Palette(
    name="neutral",
    page_bg="#f3f4f6",
    card_bg="#ffffff",
    header_bg="#1f2937",
    header_text="#ffffff",
    text="#111827",
    muted="#4b5563",
    border="#e5e7eb",
    code_bg="#f9fafb",
    code_text="#1f2937",
    track="#eef0f3",
    success=_shared(TaskStatus.SUCCESS),
    errored=_shared(TaskStatus.ERRORED),
    skipped=_shared(TaskStatus.SKIPPED),
    pending=_shared(TaskStatus.PENDING),
)

# Catppuccin Mocha (https://catppuccin.com/palette): base, mantle, crust and accents.
_CATPPUCCIN = Palette(
    name="catppuccin",
    page_bg="#11111b",
    card_bg="#1e1e2e",
    header_bg="#181825",
    header_text="#cdd6f4",
    text="#cdd6f4",
    muted="#a6adc8",
    border="#313244",
    code_bg="#181825",
    code_text="#cdd6f4",
    track="#313244",
    success=StatusColors("#a6e3a1", "#11111b", "#25332f", "#a6e3a1"),
    errored=StatusColors("#f38ba8", "#11111b", "#3a2535", "#f38ba8"),
    skipped=StatusColors("#f9e2af", "#11111b", "#36322f", "#f9e2af"),
    pending=StatusColors("#9399b2", "#11111b", "#313244", "#bac2de"),
)

# Neobones light, from the zenbones family: paper green background, muted inks.
_NEOBONES = Palette(
    name="neobones",
    page_bg="#d5dfd6",
    card_bg="#e5ede6",
    header_bg="#202e18",
    header_text="#e5ede6",
    text="#202e18",
    muted="#54624d",
    border="#c2cfc3",
    code_bg="#dbe5dc",
    code_text="#202e18",
    track="#d3ddd4",
    success=StatusColors("#567a30", "#f3f7f3", "#d6e4cc", "#3e5a21"),
    errored=StatusColors("#a8334c", "#f3f7f3", "#efd7da", "#8a2a3f"),
    skipped=StatusColors("#944927", "#f3f7f3", "#ecdfcd", "#7a3b1f"),
    pending=StatusColors("#88507d", "#f3f7f3", "#e4d8e1", "#6d4064"),
)

_SLATE = Palette(
    name="slate",
    page_bg="#e2e8f0",
    card_bg="#ffffff",
    header_bg="#0f172a",
    header_text="#f8fafc",
    text="#0f172a",
    muted="#475569",
    border="#cbd5e1",
    code_bg="#f1f5f9",
    code_text="#0f172a",
    track="#f1f5f9",
    success=StatusColors("#047857", "#ffffff", "#ecfdf5", "#065f46"),
    errored=StatusColors("#be123c", "#ffffff", "#fff1f2", "#9f1239"),
    skipped=StatusColors("#b45309", "#ffffff", "#fffbeb", "#92400e"),
    pending=StatusColors("#64748b", "#ffffff", "#f8fafc", "#334155"),
)

PALETTES: Mapping[str, Palette] = MappingProxyType(
    {palette.name: palette for palette in (_NEUTRAL, _CATPPUCCIN, _NEOBONES, _SLATE)}
)


@dataclass(frozen=True, slots=True)
class HTMLEmailStyle:
    """How the email looks: a colour ``palette`` and the ``language`` of every word.

    Palettes: ``neutral``, ``catppuccin``, ``neobones``, ``slate``; languages: ``en``,
    ``es``, ``pt``, ``fr``, ``de``, ``it``.
    """

    palette: str = "neutral"
    language: str = "en"

    def __post_init__(self) -> None:
        # SPEC §8 fixes ValueError and these messages for anything else, a non-str too,
        # so ``checks.check_choice`` (TypeError for a non-str) is not used here.
        if self.palette not in PALETTES:
            raise ValueError(f"palette must be one of {', '.join(PALETTES)}; got {self.palette!r}")
        if self.language not in LANGUAGES:
            raise ValueError(
                f"language must be one of {', '.join(LANGUAGES)}; got {self.language!r}"
            )


@cache
def email_template(name: str) -> Template:
    """The email template ``name`` (``templates/email/<name>.html``), whitespace between
    tags dropped; the findings' email (``rendering.findings``) fills ``page`` too."""
    text = resources.files("processes.rendering").joinpath(f"templates/email/{name}.html")
    # The templates are indented for people; the whitespace between tags is dropped so
    # that it does not eat into the size budget. Substituted values are untouched.
    return Template(re.sub(r">\s+<", "><", text.read_text(encoding="utf-8").strip()))


_template = email_template


def _size(markup: str) -> int:
    return len(markup.encode("utf-8"))


_DETAIL_LEVELS = (
    FailureCut(2_000, 5, 45, 40, 300, 50, arguments=True, attempt_list=True),
    FailureCut(800, 3, 17, 12, 160, 20, arguments=True, attempt_list=True),
    FailureCut(300, 0, 6, 0, 0, 10, arguments=False, attempt_list=False),
    FailureCut(200, 0, 0, 0, 0, 0, arguments=False, attempt_list=False),
)


def _arguments(error: ErrorData, level: FailureCut, words: Locale) -> str:
    """The failed call's arguments as ``repr``s, cut to the level's length."""
    arguments = ", ".join(
        [repr(a) for a in error.args] + [f"{k}={v!r}" for k, v in error.kwargs.items()]
    )
    return cut(arguments, level.value_chars, words.more_chars)


def _attempt_list(entry: TaskReportEntry, level: FailureCut, words: Locale) -> str:
    """Each failed attempt's error, numbered, the middle ones cut when there are many."""
    lines = [
        f"{number}. {cut(message, level.value_chars, words.more_chars)}"
        for number, message in enumerate(entry.attempt_errors, start=1)
    ]
    return cut_lines("\n".join(lines), 3, 7, words.more_lines)


def _skipped_names(error: ErrorData, level: FailureCut, words: Locale) -> str:
    """The tasks a failure skipped: as many names as the level shows, or their count."""
    skipped = list(error.downstream_impact)
    return (
        list_names(skipped, most=level.skipped_names, more=words.and_more)
        if level.skipped_names
        else str(len(skipped))
    )


def _traced_vars(error: ErrorData, level: FailureCut, words: Locale) -> tuple[str, str]:
    """The label and lines of a failure's traced variables, as many as the level shows."""
    items = list(error.traced_vars.items())
    lines = [
        f"{var} = {cut(value, level.value_chars, words.more_chars)}"
        for var, value in items[: level.traced_vars]
    ]
    if len(items) > level.traced_vars:
        lines.append(words.more_vars.format(n=len(items) - level.traced_vars))
    label = words.label_traced_vars
    if error.traced_vars_location:
        label += f" {words.at} {error.traced_vars_location}"
    return label, "\n".join(lines)


def _fit_names(names: Sequence[str], budget: int) -> int:
    """Return how many of ``names`` fit, comma-separated and escaped, in ``budget`` bytes."""
    used = 0
    for count, name in enumerate(names):
        used += len(escape(name).encode("utf-8")) + 2
        if used > budget:
            return count
    return len(names)


def _where_time_went(
    timed: list[tuple[TaskReportEntry, datetime, datetime]], count: int
) -> list[tuple[TaskReportEntry, datetime, datetime]]:
    """``count`` of the timed tasks: half the rows for failures, the rest for the longest runs."""
    failed = [t for t in timed if t[0].status is TaskStatus.ERRORED][: (count + 1) // 2]
    longest = sorted(
        (t for t in timed if t[0].status is not TaskStatus.ERRORED),
        key=lambda t: t[0].elapsed_seconds,
        reverse=True,
    )
    return failed + longest[: count - len(failed)]


def _verdict(
    report: ProcessExecutionReport, words: Locale, tally: RunTally, errors_only: bool
) -> str:
    """The sentence under the counts: declared tasks counted as tasks, items apart (§15)."""
    tasks = tally.tasks
    if not report.entries:
        verdict = words.no_tasks
    elif errors_only:
        verdict = words.errors_only
    elif not has_failed(report):
        verdict = words.all_ok
    elif tasks.failed or tasks.skipped:
        verdict = words.some_failed(tasks.failed, tasks.skipped)
        if items := tally.items_verdict(words):
            verdict = f"{verdict} {items}"
    else:  # only items failed: "3 of 1,000 items failed."
        verdict = tally.items_verdict(words) or words.some_failed(0, 0)
    if stopped := stop_note(report, words):
        verdict = f"{verdict} {stopped}"
    return verdict


class _Renderer:
    def __init__(
        self,
        report: ProcessExecutionReport,
        content: ReportContent,
        palette: Palette,
        words: Locale,
        errors_only: bool = False,
    ) -> None:
        self.report = report
        # What the sections list; the header and summary always count the whole report.
        self.listed = report.errored if errors_only else report.entries
        self.content = content
        self.palette = palette
        self.words = words
        colors = {
            name: getattr(palette, name)
            for name in (
                "page_bg",
                "card_bg",
                "header_bg",
                "header_text",
                "text",
                "muted",
                "border",
                "code_bg",
                "code_text",
                "track",
            )
        }
        self.colors = {key: Markup(value) for key, value in colors.items()}
        self.colors.update(font=Markup(_FONT), mono=Markup(_MONO))
        # What the body shows, for the text part to show the same (``Shown``).
        self.named: set[str] = set()
        self.levels: dict[str, FailureCut] = {}
        self.left_out: list[str] = []
        self.success_notes: list[str] = []
        self.item_lines: list[str] = []

    def fill(self, template: str, /, **values: object) -> Markup:
        return fill(_template(template), **{**self.colors, **values})

    def change_badge(self, name: str) -> Markup:
        """The "new" / "still failing since …" / "recovered" badge after a task's name."""
        change = self.report.changes.get(name)
        if change is None:
            return Markup("")
        if change is TaskChange.RECOVERED:
            colors = self.palette.success
            background, ink, line = colors.soft, colors.ink, colors.solid
        elif change is TaskChange.NEW_FAILURE:
            colors = self.palette.errored
            background, ink, line = colors.solid, colors.on_solid, colors.solid
        else:  # still failing: known already, so quieter than a new failure
            colors = self.palette.errored
            background, ink, line = self.palette.card_bg, colors.ink, colors.solid
        badge = self.fill(
            "change_badge",
            change=change.value,
            word=change_note(self.report, name, self.words),
            change_bg=Markup(background),
            change_ink=Markup(ink),
            change_line=Markup(line),
        )
        return Markup("&nbsp;&nbsp;" + badge)

    def badge(self, status: TaskStatus) -> Markup:
        colors = self.palette.of(status)
        return self.fill(
            "badge",
            status=status.value,
            word=self.words.status[status],
            badge_bg=Markup(colors.solid),
            badge_ink=Markup(colors.on_solid),
        )

    # -- the frame ------------------------------------------------------------------------

    def header(self) -> Markup:
        report, words = self.report, self.words
        overall = TaskStatus.ERRORED if has_failed(report) else TaskStatus.SUCCESS
        duration = f"{words.label_duration} {format_duration(report.elapsed_seconds, words)}"
        meta = [] if never_ended(report) else [duration]
        if report.started_at is not None:
            meta.insert(0, f"{words.label_started} {format_time(report.started_at)}")
        # Which machine and which run, on a line of their own: what on-call looks up first.
        where = [f"{words.label_run} {report.run_id}"]
        if report.host:
            where.insert(0, f"{words.label_host} {report.host}")
        lines = (" \u00b7 ".join(meta), " \u00b7 ".join(where))
        return self.fill(
            "header",
            process_name=report.process_name or words.unnamed,
            badge=self.badge(overall),
            meta=Markup("<br>".join(escape(line) for line in lines)),
        )

    def summary(self, errors_only: bool) -> Markup:
        report, words = self.report, self.words
        tally = run_tally(report)  # declared tasks counted as tasks, items apart (§15)
        tasks = tally.tasks
        cells = [
            self.fill(
                "stat_cell",
                number=tasks.total,
                label=words.label_tasks,
                cell_bg=Markup(self.palette.code_bg),
                cell_ink=Markup(self.palette.text),
            )
        ]
        for status, label, count in (
            (TaskStatus.SUCCESS, words.label_succeeded, tasks.succeeded),
            (TaskStatus.ERRORED, words.label_failed, tasks.failed),
            (TaskStatus.SKIPPED, words.label_skipped, tasks.skipped),
        ):
            colors = self.palette.of(status)
            cells.append(
                self.fill(
                    "stat_cell",
                    number=count,
                    label=label,
                    cell_bg=Markup(colors.soft),
                    cell_ink=Markup(colors.ink),
                )
            )
        verdict = _verdict(report, words, tally, errors_only)
        return self.fill("summary", cells=join(cells), verdict=verdict)

    def section(self, heading: str, rows: str) -> Markup:
        return self.fill("section", heading=heading, rows=Markup(rows))

    def note(self, text: str) -> Markup:
        return self.fill("note", text=text)

    # -- failures -------------------------------------------------------------------------

    def failure(self, name: str, entry: TaskReportEntry, level: FailureCut) -> Markup:
        colors = self.palette.of(TaskStatus.ERRORED)
        error = entry.error
        message = error.headline if error and error.headline else self.words.status[entry.status]
        details = self.failure_details(entry, error, level, colors) if error else Markup("")
        return self.fill(
            "failure",
            badge=self.badge(TaskStatus.ERRORED),
            name=name,
            change=self.change_badge(name),
            message=cut(message, level.message_chars, self.words.more_chars),
            details=details,
            soft=Markup(colors.soft),
            solid=Markup(colors.solid),
            ink=Markup(colors.ink),
        )

    def failure_details(
        self, entry: TaskReportEntry, error: ErrorData, level: FailureCut, colors: StatusColors
    ) -> Markup:
        words = self.words
        soft = Markup(colors.soft)
        rows: list[Markup] = []

        def detail(label: str, value: str) -> None:
            rows.append(self.fill("detail", label=label, value=value, soft=soft))

        def block(label: str, text: str) -> None:
            rows.append(self.fill("block", label=label, text=text, soft=soft))

        if is_minimal(self.content):  # ReportContent.min(): name, status and message only
            return Markup("")
        if entry.function and entry.function != entry.name:
            detail(words.label_function, entry.function)
        if level.arguments and (error.args or error.kwargs):
            detail(words.label_arguments, _arguments(error, level, words))
        duration = format_duration(entry.elapsed_seconds, words)
        # One error repeated by every attempt is said once, with the count.
        repeated = attempts_said_once(entry, words)
        if repeated:
            repeated = cut(repeated, level.value_chars or 200, words.more_chars)
        detail(words.label_attempts, f"{repeated or entry.attempts} \u00b7 {duration}")
        if level.attempt_list and len(entry.attempt_errors) > 1 and not repeated:
            block(words.label_failed_attempts, _attempt_list(entry, level, words))
        if error.downstream_impact:
            detail(words.label_skipped_because, _skipped_names(error, level, words))
        if self.content.show_traced_vars and error.traced_vars and level.traced_vars:
            block(*_traced_vars(error, level, words))
        if self.content.show_traceback and error.traceback_str.strip() and level.traceback_tail:
            text = cut_lines(
                error.traceback_str, level.traceback_head, level.traceback_tail, words.more_lines
            )
            block(words.label_traceback, cut(text, 12_000, words.more_chars))
        return join(rows)

    def failures(self, budget: int) -> tuple[Markup, int]:
        """Render every failure, stepping each down to a smaller form until all fit."""
        errored = list(self.report.errored.items())
        parts: list[Markup] = []
        left = budget
        for index, (name, entry) in enumerate(errored):
            share = left // (len(errored) - index)
            chosen = None
            for level in _DETAIL_LEVELS:
                card = self.failure(name, entry, level)
                if _size(card) <= share:
                    chosen = card
                    break
            if chosen is None and _size(card) <= left:
                chosen = card  # the smallest form, even past its share: it still fits
            if chosen is None:
                rest = [n for n, _ in errored[index:]]
                count = _fit_names(rest, left - 600)
                said = f"{self.words.more_failures.format(n=len(rest))} " + list_names(
                    rest, most=count, more=self.words.and_more
                )
                note = self.note(said)
                self.named.update(rest[:count])
                self.left_out.append(said)
                parts.append(note)
                left -= _size(note)
                break
            self.named.add(name)
            self.levels[name] = level
            parts.append(chosen)
            left -= _size(chosen)
        return join(parts), budget - left

    # -- skipped --------------------------------------------------------------------------

    def skipped(self, budget: int) -> Markup:
        """One row per skipped task while they all fit, else one row per causing failure."""
        words = self.words
        entries = self.report.entries
        causes = {
            name: skip_roots(entries[name], cause.roots)
            for name, cause in skip_causes(self.report).items()
        }
        badge = self.badge(TaskStatus.SKIPPED)
        rows: list[Markup] = []
        for name, because in causes.items():
            shown = list_names(because, most=5, more=words.and_more)
            note = skip_note(entries[name], words)
            if because and not note:
                note = f"{words.label_caused_by} {shown}"
            rows.append(
                self.fill(
                    "task_row",
                    badge=badge,
                    name=name,
                    change="",
                    note=note,
                    duration=words.not_run,
                )
            )
        listing = self.fill("list", rows=join(rows))
        if _size(listing) <= budget:
            for name, because in causes.items():
                self.named.add(name)
                self.named.update(because[:5])
            return listing
        return self.skipped_by_cause(causes, budget)

    def skipped_by_cause(self, causes: Mapping[str, Sequence[str]], budget: int) -> Markup:
        words = self.words
        groups: dict[str, list[str]] = {}
        for name, because in causes.items():
            groups.setdefault(because[0] if because else "", []).append(name)
        parts: list[Markup] = []
        left = budget - 1_000  # the frame around the groups and the overflow note
        for index, (cause, names) in enumerate(groups.items()):
            title = f"{words.label_caused_by} {cause}" if cause else words.label_skipped
            empty = self.fill("skipped_group", title=title, count=len(names), names="")
            share = left // (len(groups) - index) - _size(empty)
            if share < 40:
                break
            shown = list_names(
                names, most=max(1, _fit_names(names, share - 40)), more=words.and_more
            )
            group = self.fill("skipped_group", title=title, count=len(names), names=shown)
            self.named.update([cause, *names[: max(1, _fit_names(names, share - 40))]])
            parts.append(group)
            left -= _size(group)
        body = [
            self.fill("skipped_groups", badge=self.badge(TaskStatus.SKIPPED), groups=join(parts))
        ]
        if len(parts) < len(groups):
            hidden = sum(len(names) for names in list(groups.values())[len(parts) :])
            body.append(self.note(words.and_more.format(n=hidden)))
            self.left_out.append(words.and_more.format(n=hidden))
        return join(body)

    # -- recovered ------------------------------------------------------------------------

    def recovered(self, names: Sequence[str], budget: int) -> Markup:
        """A row per recovered task while they fit, then their names in one note."""
        badge = self.badge(TaskStatus.SUCCESS)
        entries = self.report.entries
        rows: list[Markup] = []
        left = budget - 600
        for index, name in enumerate(names):
            entry = entries[name]
            row = self.fill(
                "task_row",
                badge=badge,
                name=name,
                change=self.change_badge(name),
                note=reuse_note(entry, self.words),
                duration=format_duration(entry.elapsed_seconds, self.words),
            )
            if _size(row) > left - 400:
                rest = list(names[index:])
                count = _fit_names(rest, left - 400)
                self.named.update(rest[:count])
                more = self.note(list_names(rest, most=count, more=self.words.and_more))
                return join([self.fill("list", rows=join(rows)), more])
            self.named.add(name)
            rows.append(row)
            left -= _size(row)
        return self.fill("list", rows=join(rows))

    # -- timeline -------------------------------------------------------------------------

    def timeline(self, budget: int) -> Markup:
        timed: list[tuple[TaskReportEntry, datetime, datetime]] = [
            (e, e.started_at, e.finished_at)
            for e in self.listed.values()
            if e.started_at is not None and e.finished_at is not None and not is_summed_up(e)
        ]
        if not timed:
            return Markup("")
        start = min(started for _, started, _ in timed)
        span = max((max(finished for _, _, finished in timed) - start).total_seconds(), 1e-9)

        def row(item: tuple[TaskReportEntry, datetime, datetime]) -> Markup:
            entry, started, finished = item
            offset = (started - start).total_seconds() / span
            return self.timeline_row(entry, offset, (finished - started).total_seconds() / span)

        widest = max(_size(row(item)) for item in timed[:50]) + 64  # a longer name may follow
        count = min(_TIMELINE_ROWS, len(timed), max(0, (budget - 1_500) // widest))
        if count == 0:
            return Markup("")
        chosen = timed if count == len(timed) else _where_time_went(timed, count)
        chosen.sort(key=lambda t: (t[1], t[0].name))
        self.named.update(entry.name for entry, _, _ in chosen)
        parts = [self.fill("list", rows=join(row(item) for item in chosen))]
        if len(chosen) < len(timed):
            note = self.words.timeline_partial.format(shown=len(chosen), total=len(timed))
            parts.insert(0, self.note(note))
        return join(parts)

    def timeline_row(self, entry: TaskReportEntry, offset: float, length: float) -> Markup:
        # Whole percentages, so that every client lays the bar out the same way; a task
        # too short to see still gets 1%.
        before = min(99, max(0, int(offset * 100)))
        width = min(100 - before, max(1, round(length * 100)))
        after = 100 - before - width
        track = Markup(self.palette.track)
        bar = Markup(self.palette.of(entry.status).solid)
        segments = [
            self.fill("segment", width=size, color=color)
            for size, color in ((before, track), (width, bar), (after, track))
            if size > 0
        ]
        # The status in words too: a bar's colour alone says nothing to a colour-blind
        # reader or after a client's dark mode has recoloured it (NOTIFY E5).
        return self.fill(
            "timeline_row",
            name=entry.name,
            word=self.words.status[entry.status],
            ink=Markup(self.palette.of(entry.status).ink),
            segments=join(segments),
            duration=format_duration(entry.elapsed_seconds, self.words),
        )

    # -- successes ------------------------------------------------------------------------

    def successes(self, budget: int) -> Markup:
        words = self.words
        names = [n for n, e in self.report.successes.items() if not is_summed_up(e)]  # §15
        if not names:
            return Markup("")
        reused = [name for name in names if self.report.entries[name].reused]
        parts = []
        if reused:  # taken from the resumed run, not run again
            count = _fit_names(reused, budget // 3)
            shown = list_names(reused, most=count, more=words.and_more)
            self.named.update(reused[:count])
            self.success_notes.append(f"{words.reused} ({len(reused)}): {shown}")
            parts.append(self.note(self.success_notes[-1]))
            budget -= _size(parts[0])
        count = _fit_names(names, budget - 800)
        self.named.update(names[:count])
        self.success_notes.insert(0, list_names(names, most=count, more=words.and_more))
        parts.insert(0, self.note(self.success_notes[0]))
        return join(parts)


def _crashed(renderer: _Renderer) -> list[Markup]:
    """The earlier runs this run found dead (§13): a red panel under the header, or none."""
    notes = crash_notes(renderer.report, renderer.words)
    if not notes:
        return []
    colors = renderer.palette.errored
    return [
        renderer.fill(
            "crashed",
            notes=Markup("<br>".join(escape(note) for note in notes)),
            soft=Markup(colors.soft),
            solid=Markup(colors.solid),
            ink=Markup(colors.ink),
        )
    ]


def _items(renderer: _Renderer) -> list[Markup]:
    """Each mapped task's items summed up, a line each under the summary (SPEC §15)."""
    rows: list[Markup] = []
    left = _ITEMS_MAX
    counted = list(item_counts(renderer.report).items())
    for index, (name, items) in enumerate(counted):
        sentence = items.sentence(renderer.words)
        row = renderer.fill("items", name=name, sentence=sentence)
        if _size(row) > left:
            said = renderer.words.and_more.format(n=len(counted) - index)
            rows.append(renderer.note(said))
            renderer.item_lines.append(said)
            break
        rows.append(row)
        left -= _size(row)
        renderer.named.add(name)
        renderer.item_lines.append(f"{show_controls(name)}: {sentence}")
    return rows


def render_email_html(
    report: ProcessExecutionReport,
    content: ReportContent | None = None,
    style: HTMLEmailStyle | None = None,
    *,
    errors_only: bool = False,
) -> str:
    """Return the email's HTML body: failures first and in full, then skipped, timeline, successes.

    The body stays under ``MAX_HTML_BYTES``: when a run is large, failures lose detail
    before any of them is dropped, and successes shrink to a count first. With
    ``errors_only`` only the errored entries are shown, while the summary still counts
    every task (so "Skipped 1" agrees with a failure's "Skipped because of it").
    """
    return _render(report, content, style, errors_only)[0]


def render_email(
    report: ProcessExecutionReport,
    content: ReportContent | None = None,
    style: HTMLEmailStyle | None = None,
    *,
    errors_only: bool = False,
) -> tuple[str, str]:
    """Return the email's two parts, ``(text, html)``, which carry the same content.

    The text part names the tasks the HTML part names, details the failures it details as
    far as it does, and says in the same words what both left out: spam filters score
    alternative parts whose words differ (SpamAssassin's ``MPART_ALT_DIFF_COUNT``).
    """
    style = HTMLEmailStyle() if style is None else style
    markup, shown = _render(report, content, style, errors_only)
    text = render_text(
        report,
        color=False,
        content=content,
        language=style.language,
        errors_only=errors_only,
        shown=shown,
    )
    return text, markup


def _render(
    report: ProcessExecutionReport,
    content: ReportContent | None,
    style: HTMLEmailStyle | None,
    errors_only: bool,
) -> tuple[str, Shown]:
    style = HTMLEmailStyle() if style is None else style
    words = get_locale(style.language)
    palette = PALETTES[style.palette]
    content = ReportContent() if content is None else content
    renderer = _Renderer(report, content, palette, words, errors_only)

    frame = [
        renderer.header(),
        *_crashed(renderer),
        renderer.summary(errors_only),
        *_items(renderer),
    ]
    footer = renderer.fill("footer", footer=words.footer)
    headings = {
        TaskStatus.ERRORED: words.heading_failures,
        TaskStatus.SKIPPED: words.heading_skipped,
        TaskStatus.SUCCESS: words.heading_successes,
    }
    page_overhead = _size(renderer.fill("page", lang="", title="", body=""))
    left = MAX_HTML_BYTES - page_overhead - sum(map(_size, frame)) - _size(footer) - 3_000
    left -= _size(report.process_name) * 2

    sections: list[Markup] = []
    later = not errors_only and bool(report.skipped or report.successes)
    if report.errored:
        body, used = renderer.failures(min(_FAILURES_SHARE, left) if later else left)
        sections.append(renderer.section(headings[TaskStatus.ERRORED], body))
        left -= used
    recovered = [n for n, c in report.changes.items() if c is TaskChange.RECOVERED]
    recovered = [n for n in recovered if n in report.entries]
    if recovered and not errors_only:
        body = renderer.recovered(
            recovered, max(0, min(left - 6_000, max(_SKIPPED_MAX, left // 3)))
        )
        sections.append(renderer.section(words.heading_recovered, body))
        left -= _size(body)
    if report.skipped and not errors_only:
        body = renderer.skipped(min(left - 4_000, max(_SKIPPED_MAX, left // 2)))
        sections.append(renderer.section(headings[TaskStatus.SKIPPED], body))
        left -= _size(body)
    if timeline := renderer.timeline(min(_TIMELINE_MAX, left - 2_000)):
        sections.append(renderer.section(words.heading_timeline, timeline))
        left -= _size(timeline)
    if report.successes and not errors_only:
        body = renderer.successes(left)
        sections.append(renderer.section(headings[TaskStatus.SUCCESS], body))

    title = subject_line(report, words, errors_only=errors_only)
    page = renderer.fill(
        "page",
        lang=words.code,
        title=title,
        body=join([*frame, *sections, footer]),
    )
    shown = Shown(
        frozenset(renderer.named),
        dict(renderer.levels),
        tuple(renderer.left_out),
        words.heading_successes,
        tuple(renderer.success_notes),
        tuple(renderer.item_lines),
    )
    return page, shown


def subject_line(report: ProcessExecutionReport, words: Locale, *, errors_only: bool) -> str:
    """Return ``<subject words> <process name>``, the subject before its date.

    The words end in a colon before a name ("Failed: orders"); without a name they stand
    alone ("Failed").
    """
    spoken = subject_words(report, words, errors_only=errors_only)
    if not report.process_name:
        return spoken.rstrip(" :")
    return f"{spoken} {report.process_name}"
