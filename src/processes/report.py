"""The report of one run: an entry per task, in topological order, and its JSON form.

``notify()`` hands the report to channels, which import this module. The ``to_text()``,
``to_html()`` and ``to_mermaid()`` methods reach ``processes.rendering`` at call time;
rendering modules import this one only for type checking, so there is no cycle.
"""

from __future__ import annotations

import json
import math
import secrets
import warnings
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from processes.errors import ProcessFailedError, TaskTraceback
from processes.outcome import (
    ErrorData,
    FailureStreak,
    SkipReason,
    StopReason,
    TaskChange,
    TaskStatus,
)
from processes.redaction import mask, remember_secret
from processes.saferepr import safe_repr

if TYPE_CHECKING:
    from processes.content import ReportContent

__all__ = ["Delivery", "ProcessExecutionReport", "TaskReportEntry"]


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
    entry.__class__ = TaskReportEntry
    built: TaskReportEntry = entry
    return built


class _Channel(Protocol):
    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> Any: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one channel in ``notify()``: ``ok`` or the ``error`` it raised.

    ``sent`` is False when there was nothing to send (``only_errors`` and no error, or
    ``only_changes`` and nothing new or recovered).
    """

    channel: Any
    ok: bool
    error: BaseException | None = None
    sent: bool = True


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
    #: Why the run stopped starting tasks early (fail-fast, deadline, Ctrl-C, SIGTERM).
    stopped_by: StopReason | None = None

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
        """The tasks that never ran because an upstream task errored or was skipped."""
        return self._with_status(TaskStatus.SKIPPED)

    @property
    def ok(self) -> bool:
        """True when no task errored or was skipped."""
        return all(e.status is TaskStatus.SUCCESS for e in self.entries.values())

    @property
    def elapsed_seconds(self) -> float:
        """Wall-clock duration of the run (0.0 for a report that never ran)."""
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()

    def only(self, names: Iterable[str] | str) -> ProcessExecutionReport:
        """Return a copy holding only the named tasks (case-insensitive), in report order."""
        if isinstance(names, str):  # one name, not a set of one-letter names
            names = (names,)
        # Both sides lower-cased: a report built by hand may hold "Fetch_Orders" (SPEC §10).
        wanted = {name.lower() for name in names}
        return replace(
            self,
            entries={n: e for n, e in self.entries.items() if n.lower() in wanted},
            changes={n: c for n, c in self.changes.items() if n.lower() in wanted},
            streaks={n: s for n, s in self.streaks.items() if n.lower() in wanted},
        )

    def masked(self, secrets: Iterable[str]) -> ProcessExecutionReport:
        """Return a copy where every text showing one of ``secrets`` shows ``[redacted]``.

        Texts are masked, inside lists, tuples, dicts and sets too (rebuilt only where
        something changed); any other argument or result whose ``repr`` shows a secret is
        replaced by that masked ``repr``. Entries without one stay the same objects.
        """
        forms: list[str] = []
        for secret in secrets:
            remember_secret(secret, forms)
        if not forms:
            return self
        entries = {name: _masked_entry(entry, forms) for name, entry in self.entries.items()}
        return replace(self, entries=entries)

    def raise_for_errors(self) -> ProcessExecutionReport:
        """Raise ``ProcessFailedError`` naming every errored task; return self when none did.

        The exception is chained to the first task's original exception where this
        interpreter still holds it, so a cron job's traceback shows the real cause.
        """
        errored = self.errored
        if not errored:
            return self
        where = self.process_name or "the process"
        count = "1 task" if len(errored) == 1 else f"{len(errored)} tasks"
        lines = [f"{count} failed in {where}:"]
        for name, entry in errored.items():
            message = entry.error.exception if entry.error else "unknown error"
            lines.append(f"  {name}: {message}")
        if skipped := self.skipped:
            cause = "it" if len(errored) == 1 else "them"
            lines.append(f"  ({len(skipped)} skipped because of {cause}: {', '.join(skipped)})")
        error = ProcessFailedError("\n".join(lines), list(errored), self)
        first = next(iter(errored.values())).error
        if first is None:
            raise error
        # The original exception where it exists; where its text held a secret (the
        # error data then keeps no cause), the traceback as captured, with it masked.
        raise error from (first.cause or TaskTraceback(first.traceback_str))

    # -- delivery -------------------------------------------------------------------------

    def notify(
        self,
        *channels: _Channel,
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
        report = self if tasks is None else self.only(tasks)
        if (only_errors and not report.errored) or (
            only_changes and not _has_alerting_change(report)
        ):
            return [Delivery(channel, ok=True, sent=False) for channel in channels]
        if secrets := _secrets_of(channels):
            report = report.masked(secrets)
        deliveries = []
        for channel in channels:
            try:
                outcome = channel.send_report(report, errors_only=only_errors)
                if outcome is False:  # channels in the apprise style report by returning False
                    raise RuntimeError("the channel reported that it could not deliver")
            except Exception as exc:
                deliveries.append(Delivery(channel, ok=False, error=exc))
            else:
                deliveries.append(Delivery(channel, ok=True))
        # Warned only once every channel had its turn: warnings turned into errors
        # (``-W error``) must not keep the later channels from delivering.
        for delivery in deliveries:
            if show_warnings and delivery.error is not None:
                warnings.warn(
                    f"{type(delivery.channel).__name__} failed to deliver the report: "
                    f"{type(delivery.error).__name__}: {delivery.error}",
                    UserWarning,
                    stacklevel=2,
                )
        return deliveries

    # -- renderings -----------------------------------------------------------------------

    def to_json(self, indent: int | None = None, **json_dumps_kwargs: Any) -> str:
        """Serialise every field; values JSON cannot hold are written as their ``repr``."""
        return json.dumps(report_to_dict(self), indent=indent, **json_dumps_kwargs)

    @classmethod
    def from_json(cls, text: str | bytes) -> ProcessExecutionReport:
        """Rebuild a report from ``to_json()``; equal wherever the values were JSON-native."""
        return report_from_dict(json.loads(text))

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


def _has_alerting_change(report: ProcessExecutionReport) -> bool:
    return any(
        change is TaskChange.NEW_FAILURE or change is TaskChange.RECOVERED
        for name, change in report.changes.items()
        if name in report.entries  # a change of a task the report no longer holds is moot
    )


def new_run_id() -> str:
    """A unique, sortable, readable id: the UTC second, then 8 random hex digits."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def _secrets_of(channels: Iterable[object]) -> list[str]:
    secrets: list[str] = []
    for channel in channels:
        values = getattr(channel, "secret_values", None)
        if values is None:
            continue
        try:
            secrets.extend(value for value in values() if isinstance(value, str))
        except Exception:  # a user's channel must not break the others' delivery
            continue
    return secrets


def _masked_value(value: Any, forms: list[str], _seen: frozenset[int] = frozenset()) -> Any:
    """``value`` itself, or a copy with every secret masked when it shows one.

    Strings are masked; lists, tuples, dicts (keys and values) and sets are walked and
    rebuilt only when something inside changed, so no secret hides past the cut of a
    ``repr``. Any other object, a cycle, or a container nested deeper than
    ``MAX_JSON_DEPTH`` is written as its cut ``safe_repr``: that text is checked
    instead, and replaced by its masked form when it shows a secret.
    """
    if isinstance(value, str):
        text = mask(value, forms)
        return value if text == value else text
    if isinstance(value, int) and not isinstance(value, bool):
        # to_json() writes an int's digits whole, past the cut of a repr.
        text = str(value) if value.bit_length() <= _LONGEST_JSON_INT_BITS else safe_repr(value)
        masked_digits = mask(text, forms)
        return value if masked_digits == text else masked_digits
    if value is None or isinstance(value, bool | float):
        return value
    if id(value) not in _seen and len(_seen) < MAX_JSON_DEPTH:
        seen = _seen | {id(value)}
        try:
            if isinstance(value, list | tuple):
                items = list(value)
                masked = [_masked_value(item, forms, seen) for item in items]
                if all(new is old for new, old in zip(masked, items, strict=True)):
                    return value
                return tuple(masked) if isinstance(value, tuple) else masked
            if isinstance(value, dict):
                pairs = list(value.items())
                new_pairs = [
                    (_masked_value(key, forms, seen), _masked_value(item, forms, seen))
                    for key, item in pairs
                ]
                if all(
                    new_key is key and new_item is item
                    for (new_key, new_item), (key, item) in zip(new_pairs, pairs, strict=True)
                ):
                    return value
                return dict(new_pairs)
            if isinstance(value, set | frozenset):
                members = list(value)
                masked = [_masked_value(item, forms, seen) for item in members]
                if all(new is old for new, old in zip(masked, members, strict=True)):
                    return value
                return frozenset(masked) if isinstance(value, frozenset) else set(masked)
        except Exception:  # a container whose iteration or hashing raises: check its repr
            pass
    text = safe_repr(value)
    masked_text = mask(text, forms)
    return value if masked_text == text else masked_text


def _masked_values(values: Collection[Any], forms: list[str]) -> tuple[list[Any], bool]:
    masked = [_masked_value(value, forms) for value in values]
    return masked, any(new is not old for new, old in zip(masked, values, strict=True))


def _masked_entry(entry: TaskReportEntry, forms: list[str]) -> TaskReportEntry:
    """The entry with secrets masked; the very same entry when it shows none.

    User values are compared by identity only: their ``==`` may raise or be costly.
    """
    changes: dict[str, Any] = {}
    args, changed = _masked_values(entry.args, forms)
    if changed:
        changes["args"] = tuple(args)
    kwarg_values, changed = _masked_values(entry.kwargs.values(), forms)
    if changed:
        changes["kwargs"] = dict(zip(entry.kwargs, kwarg_values, strict=True))
    result = _masked_value(entry.result, forms)
    if result is not entry.result:
        changes["result"] = result
    attempt_errors = tuple(mask(text, forms) for text in entry.attempt_errors)
    if attempt_errors != entry.attempt_errors:
        changes["attempt_errors"] = attempt_errors
    error = entry.error
    if error is not None:  # few entries have one: always rebuilt
        changes["error"] = replace(
            error,
            args=tuple(_masked_values(error.args, forms)[0]),
            kwargs=dict(
                zip(error.kwargs, _masked_values(error.kwargs.values(), forms)[0], strict=True)
            ),
            exception=mask(error.exception, forms),
            traceback_str=mask(error.traceback_str, forms),
            traced_vars={name: mask(text, forms) for name, text in error.traced_vars.items()},
        )
    return replace(entry, **changes) if changes else entry


# -- JSON ---------------------------------------------------------------------------------


#: Containers nested deeper than this are written as their ``repr``.
MAX_JSON_DEPTH = 50
# Python refuses str() of ints longer than 4300 digits (about 14,000 bits) by default.
_LONGEST_JSON_INT_BITS = 14_000


def jsonable(value: Any, _seen: frozenset[int] = frozenset()) -> Any:
    """Return ``value`` as JSON-native data; anything else becomes its safe ``repr``."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= _LONGEST_JSON_INT_BITS else safe_repr(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if id(value) in _seen or len(_seen) >= MAX_JSON_DEPTH:
        return safe_repr(value)
    try:
        if isinstance(value, list | tuple):
            seen = _seen | {id(value)}
            return [jsonable(item, seen) for item in value]
        if isinstance(value, dict) and all(isinstance(key, str) for key in value):
            seen = _seen | {id(value)}
            return {key: jsonable(item, seen) for key, item in value.items()}
    except Exception:  # a container subclass whose iteration raises
        pass
    return safe_repr(value)


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def error_to_dict(error: ErrorData) -> dict[str, Any]:
    return {
        "task_name": error.task_name,
        "function": error.function,
        "args": jsonable(error.args),
        "kwargs": jsonable(error.kwargs),
        "downstream_impact": list(error.downstream_impact),
        "exception": error.exception,
        "exception_type": error.exception_type,
        "traceback_str": error.traceback_str,
        "traced_vars": dict(error.traced_vars),
        "traced_vars_location": error.traced_vars_location,
    }


def entry_to_dict(entry: TaskReportEntry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "function": entry.function,
        "args": jsonable(entry.args),
        "kwargs": jsonable(entry.kwargs),
        "status": entry.status.value,
        "elapsed_seconds": entry.elapsed_seconds,
        "attempts": entry.attempts,
        "result": jsonable(entry.result),
        "error": error_to_dict(entry.error) if entry.error else None,
        "started_at": _time(entry.started_at),
        "finished_at": _time(entry.finished_at),
        "dependencies": list(entry.dependencies),
        "attempt_errors": list(entry.attempt_errors),
        "reused": entry.reused,
        "rerun_reason": entry.rerun_reason,
        "skip_reason": entry.skip_reason.value if entry.skip_reason else None,
        "skip_cause": entry.skip_cause,
    }


def report_to_dict(report: ProcessExecutionReport) -> dict[str, Any]:
    return {
        "process_name": report.process_name,
        "run_id": report.run_id,
        "host": report.host,
        "stopped_by": report.stopped_by.value if report.stopped_by else None,
        "changes": {name: change.value for name, change in report.changes.items()},
        "streaks": {
            name: {"runs": streak.runs, "since": streak.since.isoformat()}
            for name, streak in report.streaks.items()
        },
        "started_at": _time(report.started_at),
        "finished_at": _time(report.finished_at),
        "elapsed_seconds": report.elapsed_seconds,
        "summary": {
            status.value: sum(e.status is status for e in report.entries.values())
            for status in (TaskStatus.SUCCESS, TaskStatus.ERRORED, TaskStatus.SKIPPED)
        },
        "entries": {name: entry_to_dict(entry) for name, entry in report.entries.items()},
    }


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _error_from_dict(data: Mapping[str, Any]) -> ErrorData:
    return ErrorData(
        task_name=data["task_name"],
        function=data["function"],
        args=tuple(data["args"]),
        kwargs=dict(data["kwargs"]),
        downstream_impact=tuple(data["downstream_impact"]),
        exception=data["exception"],
        traceback_str=data["traceback_str"],
        traced_vars=dict(data["traced_vars"]),
        traced_vars_location=data["traced_vars_location"],
        exception_type=data.get("exception_type", ""),
    )


def _entry_from_dict(data: Mapping[str, Any]) -> TaskReportEntry:
    return TaskReportEntry(
        name=data["name"],
        function=data["function"],
        args=tuple(data["args"]),
        kwargs=dict(data["kwargs"]),
        status=TaskStatus(data["status"]),
        elapsed_seconds=float(data["elapsed_seconds"]),
        attempts=int(data["attempts"]),
        result=data.get("result"),
        error=_error_from_dict(data["error"]) if data.get("error") else None,
        started_at=_parse_time(data.get("started_at")),
        finished_at=_parse_time(data.get("finished_at")),
        dependencies=tuple(data.get("dependencies", ())),
        attempt_errors=tuple(data.get("attempt_errors", ())),
        reused=bool(data.get("reused", False)),
        rerun_reason=data.get("rerun_reason", ""),
        skip_reason=SkipReason(data["skip_reason"]) if data.get("skip_reason") else None,
        skip_cause=data.get("skip_cause", ""),
    )


def report_from_dict(data: Mapping[str, Any]) -> ProcessExecutionReport:
    """Rebuild a report from the dict form of ``to_json()``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("entries"), Mapping):
        raise ValueError("not a processes report: expected an object with an 'entries' object")
    return ProcessExecutionReport(
        entries={name: _entry_from_dict(entry) for name, entry in data["entries"].items()},
        process_name=data.get("process_name", ""),
        started_at=_parse_time(data.get("started_at")),
        finished_at=_parse_time(data.get("finished_at")),
        run_id=data.get("run_id") or new_run_id(),
        host=data.get("host", ""),
        changes={name: TaskChange(v) for name, v in data.get("changes", {}).items()},
        streaks={
            name: FailureStreak(int(v["runs"]), datetime.fromisoformat(v["since"]))
            for name, v in data.get("streaks", {}).items()
        },
        stopped_by=StopReason(data["stopped_by"]) if data.get("stopped_by") else None,
    )
