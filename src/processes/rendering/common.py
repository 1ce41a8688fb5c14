"""What every rendering shares: the status vocabulary, durations, times, skip causes, markup.

One meaning per status in every view: green success, red errored, amber skipped, grey
pending. Pure; imports ``processes.outcome`` and ``rendering.locales``, and
``processes.report`` only for type checking.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from processes.outcome import TaskStatus
from processes.rendering.locales import Locale, get_locale

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from string import Template

    from processes.content import ReportContent
    from processes.report import ProcessExecutionReport, TaskReportEntry

__all__ = [
    "ELLIPSIS",
    "STATUS_LOOKS",
    "FailureCut",
    "ItemCounts",
    "Markup",
    "RunTally",
    "Shown",
    "SkipCause",
    "StatusLook",
    "Tally",
    "cut",
    "cut_lines",
    "escape",
    "fill",
    "folded",
    "format_duration",
    "format_time",
    "is_minimal",
    "is_summed_up",
    "item_counts",
    "join",
    "list_names",
    "run_tally",
    "show_controls",
    "skip_causes",
]

ELLIPSIS = "\u2026"


@dataclass(frozen=True, slots=True)
class StatusLook:
    """How one status reads and looks: English words, a glyph, terminal and CSS colours.

    ``fill``/``line``/``text`` are the light colours (a tinted panel, its border or a bar,
    and the ink on the panel); the ``dark_`` ones are the same roles on a dark page.
    """

    word: str
    count_word: str
    glyph: str
    ansi: str
    fill: str
    line: str
    text: str
    dark_fill: str
    dark_line: str
    dark_text: str


STATUS_LOOKS: Mapping[TaskStatus, StatusLook] = MappingProxyType(
    {
        TaskStatus.SUCCESS: StatusLook(
            "success", "succeeded", "\u2713", "\033[32m",  # check mark, green
            "#dcfce7", "#15803d", "#14532d", "#123524", "#4ade80", "#bbf7d0",
        ),
        TaskStatus.ERRORED: StatusLook(
            "errored", "errored", "\u2717", "\033[1;31m",  # ballot x, bold red
            "#fee2e2", "#b91c1c", "#7f1d1d", "#3f1518", "#f87171", "#fecaca",
        ),
        TaskStatus.SKIPPED: StatusLook(
            "skipped", "skipped", "\u2298", "\033[33m",  # circled slash, amber
            "#fef3c7", "#a16207", "#713f12", "#3a2a0c", "#fbbf24", "#fde68a",
        ),
        TaskStatus.PENDING: StatusLook(
            "pending", "pending", "\u2026", "\033[2m",  # ellipsis, dim grey
            "#f9fafb", "#6b7280", "#374151", "#14171c", "#7b8794", "#9aa5b1",
        ),
    }
)  # fmt: skip


def is_minimal(content: ReportContent) -> bool:
    """Tell whether ``content`` is ``ReportContent.min()``: name, status and message only."""
    return not content.show_traceback and not content.show_traced_vars


# -- durations and times --------------------------------------------------------------------


def format_duration(seconds: float, locale: Locale | None = None) -> str:
    """Return a short duration in ``locale`` (English by default).

    ``850 ms``, ``1.25 s``, ``12.5 s``, ``1 min 05 s``, ``1 h 02 min``; in German ``1,25 s``.
    """
    words = get_locale("en") if locale is None else locale
    if not math.isfinite(seconds):  # a report built or edited by hand
        return "?"
    seconds = max(0.0, seconds)
    milliseconds = round(seconds * 1000)
    if milliseconds < 1000:
        return f"{milliseconds} {words.unit_ms}"
    # Rounded first, so 9.996 s reads "10.0 s" and 59.97 s "1 min 00 s", never "60.0 s".
    number = f"{seconds:.2f}" if round(seconds, 2) < 10 else f"{seconds:.1f}"
    if float(number) < 60:
        return f"{number.replace('.', words.decimal)} {words.unit_s}"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} {words.unit_min} {whole % 60:02d} {words.unit_s}"
    return f"{whole // 3600} {words.unit_h} {whole % 3600 // 60:02d} {words.unit_min}"


def format_time(moment: datetime) -> str:
    """Return ``moment`` in UTC, to the second: ``2024-03-15 10:00:00 UTC``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


# -- why a task was skipped -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SkipCause:
    """Why a task was skipped: the errored ``roots`` to fix, in report order.

    ``via`` holds the skipped tasks between the first root and this one, upstream first
    (empty when the root is a direct dependency or the path is not in the report).
    """

    roots: tuple[str, ...]
    via: tuple[str, ...] = ()


def skip_causes(report: ProcessExecutionReport) -> dict[str, SkipCause]:
    """Map each skipped task to the root failures that stopped it, in report order.

    The roots come from each failure's ``downstream_impact`` where it names the task,
    else from the report's dependencies, followed up through skipped tasks to the errored
    ones. A task whose root is not in the report (a filtered report) names its upstream
    tasks that did not succeed. Linear in tasks and dependencies times roots.
    """
    entries = report.entries
    order = {name: index for index, name in enumerate(entries)}
    claims: dict[str, list[str]] = {}
    for name, entry in entries.items():
        if entry.status is TaskStatus.ERRORED and entry.error is not None:
            for skipped in entry.error.downstream_impact:
                claims.setdefault(skipped, []).append(name)
    found: dict[str, tuple[str, ...]] = {}  # roots reached through the graph
    parent: dict[str, str] = {}  # the upstream task on the way to the first root
    causes: dict[str, SkipCause] = {}
    # Entries are in topological order, so each dependency is settled before it is used.
    for name, entry in entries.items():
        if entry.status is not TaskStatus.SKIPPED:
            continue
        roots: dict[str, None] = {}
        blocked: list[str] = []
        best: tuple[int, str] | None = None
        for dep in entry.dependencies:
            upstream = entries.get(dep)
            if upstream is None or upstream.status is TaskStatus.SUCCESS or dep == name:
                continue
            blocked.append(dep)
            reached = (dep,) if upstream.status is TaskStatus.ERRORED else found.get(dep, ())
            roots.update(dict.fromkeys(reached))
            if reached:
                first = min(order[root] for root in reached)
                if best is None or first < best[0]:
                    best = (first, dep)
        found[name] = tuple(sorted(roots, key=order.__getitem__))
        if best is not None:
            parent[name] = best[1]
        chosen = tuple(claims.get(name, ())) or found[name] or tuple(dict.fromkeys(blocked))
        causes[name] = SkipCause(chosen, _via(name, chosen, parent, entries))
    return causes


def _via(
    name: str, roots: Sequence[str], parent: Mapping[str, str], entries: Mapping[str, object]
) -> tuple[str, ...]:
    path: list[str] = []
    step = parent.get(name)
    while step is not None and step in parent:  # only skipped tasks have a parent
        path.append(step)
        step = parent[step]
    if not roots or step != roots[0] or step not in entries:
        return ()
    return tuple(reversed(path))


# -- a mapped task's items (SPEC §15) -------------------------------------------------------

#: Item keys named in a summary sentence, and the characters of each one shown.
ITEM_KEYS_NAMED = 10
ITEM_KEY_CHARS = 80


@dataclass(frozen=True, slots=True)
class ItemCounts:
    """A mapped task's items summed up: how many, how many succeeded, and the keys of
    those that failed and of those that were skipped (or never ended), in item order."""

    total: int
    succeeded: int
    failed: tuple[str, ...]
    skipped: tuple[str, ...]

    def sentence(
        self, words: Locale, *, most: int = ITEM_KEYS_NAMED, show: Callable[[str], str] = str
    ) -> str:
        """ "997 of 1,000 items succeeded; failed: a.csv, b.csv, c.csv" in ``words``.

        The first ``most`` keys of each kind are named (cut to ``ITEM_KEY_CHARS``, control
        characters made visible, then passed through ``show``), then how many more.
        """
        total = words.number(self.total)
        parts = [words.items_succeeded.format(ok=words.number(self.succeeded), total=total)]
        for label, keys in ((words.label_failed, self.failed), (words.label_skipped, self.skipped)):
            if keys:
                named = list_names(
                    keys,
                    most=most,
                    show=lambda key: show(cut(show_controls(key), ITEM_KEY_CHARS)),
                    more=words.and_more,
                )
                parts.append(f"{show(label.lower())}: {named}")
        return "; ".join(parts)


def is_summed_up(entry: TaskReportEntry) -> bool:
    """Whether ``entry`` is an item that succeeded: views count it, never list it."""
    return bool(entry.mapped_task) and entry.status is TaskStatus.SUCCESS


def folded(entries: Mapping[str, TaskReportEntry]) -> dict[str, TaskReportEntry]:
    """The entries a view gives a row or a node of their own: all but the items whose
    mapped task is among ``entries`` (its row or node sums them up)."""
    return {
        name: entry
        for name, entry in entries.items()
        if not entry.mapped_task or entry.mapped_task not in entries
    }


def item_counts(report: ProcessExecutionReport) -> dict[str, ItemCounts]:
    """Each mapped task's items in ``report``, summed up, by the mapped task's name.

    The one summary every view and channel shows of a mapped task (SPEC §15); linear in
    the report's entries.
    """
    totals: dict[str, list[int]] = {}  # mapped task -> [items, succeeded]
    failed: dict[str, list[str]] = {}
    skipped: dict[str, list[str]] = {}
    for entry in report.entries.values():
        mapped = entry.mapped_task
        if not mapped:
            continue
        count = totals.setdefault(mapped, [0, 0])
        count[0] += 1
        if entry.status is TaskStatus.SUCCESS:
            count[1] += 1
        else:
            kind = failed if entry.status is TaskStatus.ERRORED else skipped
            kind.setdefault(mapped, []).append(entry.item_key or "")
    return {
        mapped: ItemCounts(total, ok, tuple(failed.get(mapped, ())), tuple(skipped.get(mapped, ())))
        for mapped, (total, ok) in totals.items()
    }


@dataclass(frozen=True, slots=True)
class Tally:
    """Entries counted by status (``total`` counts pending ones too)."""

    total: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class RunTally:
    """A report's declared tasks and its items counted apart (SPEC §15): a reader counts
    tasks as declared. ``items`` is None when the report holds no item, and views then
    say exactly what they said before fan-out."""

    tasks: Tally
    items: Tally | None

    def items_line(self, words: Locale) -> str:
        """ "1,000 items: 997 succeeded, 3 failed, 0 skipped", or "" without items."""
        if self.items is None:
            return ""
        number = words.number
        return words.items_tally.format(
            total=number(self.items.total),
            succeeded=number(self.items.succeeded),
            failed=number(self.items.failed),
            skipped=number(self.items.skipped),
        )

    def items_said(self, words: Locale) -> str:
        """ "3 of 1,000 items failed" when items failed, the items line when some were
        only skipped (or pending), "" when every item succeeded (or there are none)."""
        items = self.items
        if items is None or items.succeeded == items.total:
            return ""
        if not items.failed:
            return self.items_line(words)
        return words.items_failed.format(
            failed=words.number(items.failed), total=words.number(items.total)
        )

    def items_verdict(self, words: Locale) -> str:
        """What ``items_said`` says, as a sentence of its own ("" when it says nothing)."""
        said = self.items_said(words)
        return said[:1].upper() + said[1:] + "." if said else ""


def run_tally(report: ProcessExecutionReport) -> RunTally:
    """Count ``report``'s declared tasks and its items apart, by status; linear."""
    counts = [[0, 0, 0, 0], [0, 0, 0, 0]]  # declared tasks, items: total, ok, failed, skipped
    column = {TaskStatus.SUCCESS: 1, TaskStatus.ERRORED: 2, TaskStatus.SKIPPED: 3}
    for entry in report.entries.values():
        row = counts[1 if entry.mapped_task else 0]
        row[0] += 1
        if (at := column.get(entry.status)) is not None:
            row[at] += 1
    return RunTally(Tally(*counts[0]), Tally(*counts[1]) if counts[1][0] else None)


# -- text helpers ---------------------------------------------------------------------------


def cut(text: str, limit: int, more: str | None = None) -> str:
    """Keep the first ``limit`` characters of ``text``.

    Without ``more`` the cut ends in an ellipsis and stays within ``limit``; with it,
    ``more`` (a ``{n}`` template, e.g. "… {n} more characters") says what was left out.
    """
    if len(text) <= limit:
        return text
    if more is None:
        return text[: max(0, limit - 1)] + ELLIPSIS
    return text[:limit] + " " + more.format(n=len(text) - limit)


def list_names(
    names: Sequence[str],
    *,
    most: int | None = None,
    chars: int | None = None,
    show: Callable[[str], str] = str,
    more: str = ELLIPSIS + " and {n:,} more",
) -> str:
    """Join ``names`` with commas, at most ``most`` of them and within ``chars`` characters.

    What is left out is counted with ``more``, a ``{n}`` template. ``show`` formats (and
    escapes) each name; ``chars`` measures what it returns.
    """
    shown: list[str] = []
    used = 0
    for index, name in enumerate(names):
        if most is not None and index >= most:
            break
        piece = show(name)
        if chars is not None:
            left = len(names) - index - 1
            reserve = len(" " + more.format(n=len(names))) if left else 0
            if used + len(piece) + 2 + reserve > chars:
                break
        shown.append(piece)
        used += len(piece) + 2
    text = ", ".join(shown)
    if hidden := len(names) - len(shown):
        text = f"{text} {more.format(n=hidden)}" if text else more.format(n=hidden)
    return text


@dataclass(frozen=True, slots=True)
class FailureCut:
    """How much of one failure a bounded view shows; the email steps down until it fits."""

    message_chars: int
    traceback_head: int
    traceback_tail: int
    traced_vars: int
    value_chars: int
    skipped_names: int
    arguments: bool
    attempt_list: bool


@dataclass(frozen=True, slots=True)
class Shown:
    """What a bounded view (the email's HTML) shows, so that its twin shows the same.

    ``named`` holds every task it names, ``failures`` how much of each failure it details,
    ``notes`` what it says it left out, in the words it said them, ``successes`` how it
    lists the successes (their names in a line, not a row each) under ``successes_heading``,
    and ``items`` the lines that sum each mapped task's items up.
    """

    named: frozenset[str]
    failures: Mapping[str, FailureCut]
    notes: tuple[str, ...]
    successes_heading: str = ""
    successes: tuple[str, ...] = ()
    #: Each mapped task's items summed up, a line each ("load: 997 of 1,000 items ...").
    items: tuple[str, ...] = ()


def cut_lines(text: str, head: int, tail: int, more_lines: str) -> str:
    """Keep the first ``head`` and last ``tail`` lines: a traceback's end says the most.

    ``more_lines`` (a ``{n}`` template) says how many lines were left out between them.
    """
    lines = text.rstrip().splitlines()
    if len(lines) <= head + tail:
        return "\n".join(lines)
    hidden = len(lines) - head - tail
    return "\n".join([*lines[:head], more_lines.format(n=hidden), *lines[-tail:]])


# -- HTML -----------------------------------------------------------------------------------


# C0 controls but tab and newline, DEL and C1 controls: they could move a terminal's
# cursor, and HTML has no place for them (a NUL cuts the text short in some mail clients).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def show_controls(text: str) -> str:
    """Replace control characters with visible escapes (``\\x1b``)."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def escape(text: str) -> str:
    """Escape ``text`` for HTML, quotes included, with control characters made visible."""
    return html.escape(show_controls(text))


class Markup(str):
    """HTML that is already safe: built from a template, never from raw task text."""

    __slots__ = ()


def fill(template: Template, /, **values: object) -> Markup:
    """Substitute ``values`` into ``template``, escaping each one that is not ``Markup``."""
    return Markup(
        template.substitute(
            {
                key: value if isinstance(value, Markup) else escape(str(value))
                for key, value in values.items()
            }
        )
    )


def join(parts: Iterable[str]) -> Markup:
    """Concatenate fragments that are already safe."""
    return Markup("".join(parts))
