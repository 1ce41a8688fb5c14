"""The task graph as a Mermaid ``flowchart``, for Markdown pages (GitHub, GitLab, docs).

A pure function of the report. Imports ``processes.report`` only for type checking.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from processes.outcome import TaskStatus
from processes.rendering.changes import skip_note, skip_roots, skipped_by_a_failure
from processes.rendering.common import (
    STATUS_LOOKS,
    folded,
    item_counts,
    list_names,
    skip_causes,
)
from processes.rendering.locales import get_locale

if TYPE_CHECKING:
    from collections.abc import Mapping

    from processes.rendering.common import ItemCounts, SkipCause
    from processes.report import ProcessExecutionReport, TaskReportEntry

__all__ = ["escape_label", "render_mermaid"]

# The shared colours, plus the outline that tells statuses apart without colour.
_OUTLINE = {
    TaskStatus.SUCCESS: "",
    TaskStatus.ERRORED: ",stroke-width:3px",
    TaskStatus.SKIPPED: ",stroke-dasharray:5 3",
    TaskStatus.PENDING: ",stroke-dasharray:2 3",
}
_CLASS_DEF = {
    status: f"fill:{look.fill},stroke:{look.line},color:{look.text}{_OUTLINE[status]}"
    for status, look in STATUS_LOOKS.items()
}
# Mermaid decodes ``#name;`` / ``#123;`` entity codes inside labels, so ``#`` itself must be
# encoded first, then whatever would end the quoted label or be read as HTML or Markdown.
_ENTITIES = {
    "#": "#35;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    "`": "#96;",
    "%": "#37;",  # ``%%{...}%%`` is a directive even inside a quoted label
}
_TABLE = str.maketrans({**_ENTITIES, "\n": " ", "\r": " ", "\t": " "})
_WORDS = get_locale("en")
#: Failures named in a skipped node's label; the dotted arrows show the rest.
_ROOTS_SHOWN = 3


def escape_label(text: str) -> str:
    """Return ``text`` safe inside a quoted Mermaid label: shown as written, never parsed."""
    return text.translate(_TABLE)


def render_mermaid(report: ProcessExecutionReport) -> str:
    """Return the task graph as a Mermaid ``flowchart LR``, one ``classDef`` per status.

    Node ids are positional (``t0``, ``t1``...), so no task name can collide with Mermaid
    syntax or keywords such as ``end``; the name appears only in the escaped, quoted label,
    with its status in words (and "new", "still failing" or "recovered" when the report
    knows what changed); a skipped task says why: the failures it was skipped because of,
    or its reason (fail-fast, deadline, nothing upstream failed...). A dotted arrow is a
    dependency whose failure caused a skip.
    """
    # A mapped task is one node whose label counts its items (SPEC §15); an item is drawn
    # only in a report that holds it without its mapped task (notify(tasks=["load[a]"])).
    drawn = folded(report.entries)
    ids = {name: f"t{i}" for i, name in enumerate(drawn)}
    items = item_counts(report)
    causes = skip_causes(report) if report.skipped else {}
    lines = ["flowchart LR"]
    if report.process_name:  # a comment, not a YAML title: no name can break the parse
        lines.append(f"  %% process {report.process_name.translate(_TABLE)}")
    lines.extend(f"  classDef {status.value} {style}" for status, style in _CLASS_DEF.items())
    for name, entry in drawn.items():
        status = entry.status
        label = f"{escape_label(name)}<br/>{STATUS_LOOKS[status].glyph} {status.value}"
        if counted := items.get(name):
            label += f"<br/>{escape_label(_item_note(counted))}"
        if status is TaskStatus.SKIPPED:
            label += escape_label(_why_skipped(entry, causes))
        if change := report.changes.get(name):  # what changed since the previous run
            label += f" · {escape_label(_WORDS.change[change])}"
        lines.append(f'  {ids[name]}["{label}"]:::{status.value}')
    failed = (TaskStatus.ERRORED, TaskStatus.SKIPPED)
    for name, entry in drawn.items():
        for dep in dict.fromkeys(entry.dependencies):
            if dep not in ids or dep == name:
                continue  # a filtered report: the upstream task is not in it
            skip = skipped_by_a_failure(entry) and report.entries[dep].status in failed
            arrow = "-. skipped .->" if skip else "-->"
            lines.append(f"  {ids[dep]} {arrow} {ids[name]}")
    return "\n".join(lines) + "\n"


def _item_note(items: ItemCounts) -> str:
    """ "997/1,000 items ok · 3 errored · 0 skipped": counts only, the keys stay out."""
    note = f"{items.succeeded:,}/{items.total:,} items ok"
    for count, word in ((len(items.failed), "errored"), (len(items.skipped), "skipped")):
        if count:
            note += f" · {count:,} {word}"
    return note


def _why_skipped(entry: TaskReportEntry, causes: Mapping[str, SkipCause]) -> str:
    """Return " (deadline)", " (because of fetch)" and the like: the reason, unescaped."""
    if skip_note(entry, _WORDS) and entry.skip_reason is not None:
        return f" ({_WORDS.skip_reason[entry.skip_reason]})"
    cause = causes.get(entry.name)
    roots = skip_roots(entry, cause.roots if cause is not None else ())
    return f" (because of {list_names(roots, most=_ROOTS_SHOWN)})" if roots else ""
