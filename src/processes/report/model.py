"""The report of one run: an entry per task, in topological order, and what it says.

Imports ``outcome``, ``errors``, ``redaction`` and ``report.delivery``. One convenience
reaches up, at call time only: ``to_json()``/``from_json()`` import ``report.codec`` (which
imports this module), ``to_text()``/``to_html()``/``to_mermaid()`` ``processes.rendering``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from processes.errors import ProcessFailedError, TaskTraceback
from processes.outcome import (
    ENGLISH_SKIP_REASONS,
    CrashedRun,
    ErrorData,
    FailureStreak,
    SkipReason,
    StopReason,
    TaskChange,
    TaskStatus,
)
from processes.redaction import masked_report
from processes.report import delivery

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from processes.content import ReportContent
    from processes.report.delivery import Channel, Delivery

__all__ = ["ProcessExecutionReport", "TaskReportEntry", "new_entry", "new_run_id"]

# How many failed tasks a raise_for_errors() message lists, and skipped ones per line: a
# run with thousands of failures still gives a message a log or a terminal can show.
_MOST_NAMED = 10


@dataclass(frozen=True, slots=True)
class TaskReportEntry:
    """One task's line in the report.

    ``args``/``kwargs`` are what the function was called with (upstream results
    included); ``attempt_errors`` holds the message of every failed attempt, oldest first.
    """

    name: str
    function: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    status: TaskStatus
    elapsed_seconds: float
    attempts: int
    result: Any = None
    error: ErrorData | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    dependencies: tuple[str, ...] = ()
    attempt_errors: tuple[str, ...] = ()
    #: Not run again: its result was taken from the run this one resumed (§12).
    reused: bool = False
    #: Why a task that succeeded in the resumed run ran again (its result was lost).
    rerun_reason: str = ""
    #: Why a SKIPPED task never ran, and the errored task that caused it, if one did.
    skip_reason: SkipReason | None = None
    skip_cause: str = ""
    #: An item of a mapped task (§15): that task's name, and the item's key; "" and None
    #: for any other entry.
    mapped_task: str = ""
    item_key: str | None = None


class _EntryInTheMaking:
    """``TaskReportEntry``'s exact layout (the same slots), without its frozen setattr.

    A run builds one entry per task, and the frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` call per field) costs ten times what plain slot stores do;
    ``new_entry`` stores the fields here, then gives the object its real class.
    """

    __slots__ = TaskReportEntry.__slots__


def new_entry(
    name: str,
    function: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    status: TaskStatus,
    elapsed_seconds: float,
    attempts: int,
    result: Any = None,
    error: ErrorData | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    dependencies: tuple[str, ...] = (),
    attempt_errors: tuple[str, ...] = (),
    reused: bool = False,
    rerun_reason: str = "",
    skip_reason: SkipReason | None = None,
    skip_cause: str = "",
    mapped_task: str = "",
    item_key: str | None = None,
) -> TaskReportEntry:
    """``TaskReportEntry(...)`` at a fraction of the cost, for the entries of a run.

    Takes every field (a test keeps the two in step), and checks nothing the dataclass
    would not.
    """
    entry: Any = _EntryInTheMaking()
    entry.name = name
    entry.function = function
    entry.args = args
    entry.kwargs = kwargs
    entry.status = status
    entry.elapsed_seconds = elapsed_seconds
    entry.attempts = attempts
    entry.result = result
    entry.error = error
    entry.started_at = started_at
    entry.finished_at = finished_at
    entry.dependencies = dependencies
    entry.attempt_errors = attempt_errors
    entry.reused = reused
    entry.rerun_reason = rerun_reason
    entry.skip_reason = skip_reason
    entry.skip_cause = skip_cause
    entry.mapped_task = mapped_task
    entry.item_key = item_key
    entry.__class__ = TaskReportEntry
    built: TaskReportEntry = entry
    return built


@dataclass(frozen=True, slots=True)
class ProcessExecutionReport:
    """Everything a run did, task by task; ``entries`` is in topological order."""

    entries: dict[str, TaskReportEntry] = field(default_factory=dict)
    process_name: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: Unique per run; the key of the run in a ``RunHistory``. Not compared: two reports
    #: of the same outcome are equal, whichever runs they came from.
    run_id: str = field(default_factory=lambda: new_run_id(), compare=False)
    #: The machine the run ran on (``socket.gethostname()``), "" when unknown.
    host: str = ""
    #: Against the previous recorded run of the same process name; empty without history.
    changes: dict[str, TaskChange] = field(default_factory=dict)
    #: For each STILL_FAILING task, how many runs in a row it has errored, since when.
    streaks: dict[str, FailureStreak] = field(default_factory=dict)
    #: Why the run stopped starting tasks early (fail-fast, deadline, Ctrl-C, SIGTERM), or
    #: ``CRASHED`` for a run read back from a history after its process died.
    stopped_by: StopReason | None = None
    #: The earlier runs of this process that died, which this run closed (§13).
    crashes: tuple[CrashedRun, ...] = ()
    #: The run id this run resumed (``run(resume=...)``, whatever form it took), or None.
    resumed_from: str | None = None
    #: True when ``changes`` were worked out against a history (``run(history=...)``), even
    #: if nothing changed: without one, ``notify(only_changes=True)`` can never send.
    compared: bool = field(default=False, compare=False)

    @property
    def crashed_runs(self) -> tuple[str, ...]:
        """The run ids of ``crashes``: the runs this one found dead and closed."""
        return tuple(crash.run_id for crash in self.crashes)

    # -- triage ---------------------------------------------------------------------------

    def _with_status(self, status: TaskStatus) -> dict[str, TaskReportEntry]:
        return {name: e for name, e in self.entries.items() if e.status is status}

    @property
    def successes(self) -> dict[str, TaskReportEntry]:
        """The tasks that succeeded, possibly after retries."""
        return self._with_status(TaskStatus.SUCCESS)

    @property
    def errored(self) -> dict[str, TaskReportEntry]:
        """The tasks that raised (after their retries): the root failures."""
        return self._with_status(TaskStatus.ERRORED)

    @property
    def skipped(self) -> dict[str, TaskReportEntry]:
        """The tasks that never ran, whatever the reason; each entry's ``skip_reason`` says it.

        An upstream failure, fail-fast, the run's deadline, Ctrl-C or SIGTERM, or a
        ``run_when="any_failed"`` task whose upstream all succeeded. Those skipped because
        of a failure are the errored entries' ``error.downstream_impact``.
        """
        return self._with_status(TaskStatus.SKIPPED)

    @property
    def ok(self) -> bool:
        """True when no task errored or was skipped, for any reason (SPEC §6).

        So a ``run_when="any_failed"`` task skipped because nothing failed makes this
        False, while the channels' subjects and titles call that run healthy (they ask
        ``rendering.changes.has_failed``, which lets that one skip pass).
        """
        return all(e.status is TaskStatus.SUCCESS for e in self.entries.values())

    @property
    def elapsed_seconds(self) -> float:
        """Wall-clock duration of the run (0.0 for a report that never ran)."""
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()

    def only(self, names: Iterable[str] | str) -> ProcessExecutionReport:
        """Return a copy holding only the named tasks (case-insensitive), in report order;
        a mapped task with its items (SPEC §15)."""
        if isinstance(names, str):  # one name, not a set of one-letter names
            names = (names,)
        # Both sides lower-cased: a report built by hand may hold "Fetch_Orders" (SPEC §10).
        wanted = {name.lower() for name in names}
        return replace(
            self,
            entries={
                n: e
                for n, e in self.entries.items()
                if n.lower() in wanted or (e.mapped_task and e.mapped_task.lower() in wanted)
            },
            changes={n: c for n, c in self.changes.items() if n.lower() in wanted},
            streaks={n: s for n, s in self.streaks.items() if n.lower() in wanted},
        )

    def masked(self, secrets: Iterable[str]) -> ProcessExecutionReport:
        """Return a copy where every text showing one of ``secrets`` shows ``[redacted]``.

        Texts are masked, inside lists, tuples, dicts and sets too (rebuilt only where
        something changed); any other argument or result whose ``repr`` shows a secret is
        replaced by that masked ``repr``. Entries without one stay the same objects.
        """
        return masked_report(self, secrets)

    def raise_for_errors(self) -> ProcessExecutionReport:
        """Raise ``ProcessFailedError`` naming every errored task; return self when none did.

        ``.failed`` holds every errored task's name; the message gives the first ten with
        their error, then how many more failed (and lists at most ten skipped tasks per
        line). The exception is chained to the first task's original exception where
        this interpreter still holds it, so a cron job's traceback shows the real cause.
        """
        errored = self.errored
        if not errored:
            return self
        where = self.process_name or "the process"
        count = "1 task" if len(errored) == 1 else f"{len(errored)} tasks"
        lines = [f"{count} failed in {where}:"]
        for name, entry in islice(errored.items(), _MOST_NAMED):
            message = entry.error.headline if entry.error else "unknown error"
            lines.append(f"  {name}: {message}")
        if len(errored) > _MOST_NAMED:
            lines.append(f"  ... and {len(errored) - _MOST_NAMED} more")
        lines.extend(self._skip_lines(errored))
        error = ProcessFailedError("\n".join(lines), list(errored), self)
        first = next(iter(errored.values())).error
        if first is None:
            raise error
        # The original exception where it exists; where its text held a secret (the
        # error data then keeps no cause), the traceback as captured, with it masked.
        raise error from (first.cause or TaskTraceback(first.traceback_str))

    def _skip_lines(self, errored: Mapping[str, TaskReportEntry]) -> list[str]:
        """Name the tasks skipped because of the failures, then the others with their reason.

        Only the failures' ``downstream_impact`` counts as "because of": a task skipped by
        fail-fast, the deadline or an unmet ``any_failed`` condition is not their doing.
        """
        impact: dict[str, None] = {}
        for entry in errored.values():
            if entry.error is not None:
                impact.update(dict.fromkeys(entry.error.downstream_impact))
        order = {name: index for index, name in enumerate(self.entries)}
        # In report order; names a filtered report no longer holds keep theirs, at the end.
        because = sorted(impact, key=lambda name: order.get(name, len(order)))
        lines = []
        if because:
            cause = "it" if len(errored) == 1 else "them"
            lines.append(f"  ({len(because)} skipped because of {cause}: {_some(because)})")
        words = ENGLISH_SKIP_REASONS
        others: dict[str, list[str]] = {}  # reason -> names, in report order
        for name, entry in self.skipped.items():
            if name in impact:
                continue
            reason = entry.skip_reason or SkipReason.UPSTREAM_FAILED
            why = words[reason].format(cause=entry.skip_cause or "task")
            others.setdefault(why, []).append(name)
        for why, names in others.items():
            lines.append(f"  (also skipped, {why}: {_some(names)})")
        return lines

    # -- delivery -------------------------------------------------------------------------

    def notify(
        self,
        *channels: Channel,
        only_errors: bool = False,
        tasks: Iterable[str] | str | None = None,
        show_warnings: bool = True,
        only_changes: bool = False,
    ) -> list[Delivery]:
        """Send this report through each channel, in order; never raise for a delivery.

        ``tasks`` restricts the report to those names (case-insensitive); with
        ``only_errors`` each channel sends only the errored entries, and nothing at all
        when no task errored. With ``only_changes`` nothing is sent unless a task (of
        ``tasks``, when given) failed anew or recovered since the previous recorded run,
        so a pipeline failing the same way every hour alerts once, then on recovery.
        A channel that fails gives one ``UserWarning``.
        """
        return delivery.notify(
            self,
            *channels,
            only_errors=only_errors,
            tasks=tasks,
            show_warnings=show_warnings,
            only_changes=only_changes,
        )

    # -- renderings -----------------------------------------------------------------------

    def to_json(self, indent: int | None = None, **json_dumps_kwargs: Any) -> str:
        """Serialise every field; values JSON cannot hold are written as their ``repr``."""
        from processes.report.codec import report_to_dict

        return json.dumps(report_to_dict(self), indent=indent, **json_dumps_kwargs)

    @classmethod
    def from_json(cls, text: str | bytes) -> ProcessExecutionReport:
        """Rebuild a report from ``to_json()``; equal wherever the values were JSON-native.

        Reports written by earlier versions load too (newer fields take their defaults).

        Raises:
            ValueError: ``text`` is not a report: not JSON, nested too deep, or a field
                missing, of the wrong type or unknown (``entries.fetch: unknown status
                'weird' ...``); the message says what and where.
        """
        from processes.report.codec import report_from_json

        return report_from_json(text)

    def to_text(self, *, color: bool | None = None, content: ReportContent | None = None) -> str:
        """Return a compact, aligned summary for a terminal."""
        from processes.rendering.text import render_text

        return render_text(self, color=color, content=content)

    def to_html(self, *, content: ReportContent | None = None) -> str:
        """Return a standalone HTML page: summary, timeline, task graph, failure details."""
        from processes.rendering.html import render_html

        return render_html(self, content=content)

    def to_mermaid(self) -> str:
        """Return the task graph as a Mermaid ``flowchart``, a class per status."""
        from processes.rendering.mermaid import render_mermaid

        return render_mermaid(self)

    def __str__(self) -> str:
        return self.to_text(color=False)


def _some(names: list[str]) -> str:
    """Join the first few names; say how many more there are."""
    shown = ", ".join(names[:_MOST_NAMED])
    more = len(names) - _MOST_NAMED
    return f"{shown} ... and {more} more" if more > 0 else shown


def new_run_id() -> str:
    """A unique, sortable, readable id: the UTC second, then 8 random hex digits."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
