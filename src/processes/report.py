"""The report of one run: an entry per task, in topological order, and its JSON form.

``notify()`` hands the report to channels, which import this module. The ``to_text()``,
``to_html()`` and ``to_mermaid()`` methods reach ``processes.rendering`` at call time;
rendering modules import this one only for type checking, so there is no cycle.
"""

from __future__ import annotations

import enum
import json
import math
import re
import secrets
import warnings
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

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
            message = entry.error.exception if entry.error else "unknown error"
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
        from processes.rendering.locales import get_locale

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
        words = get_locale("en").skip_reason
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
        """Rebuild a report from ``to_json()``; equal wherever the values were JSON-native.

        Reports written by earlier versions load too (newer fields take their defaults).

        Raises:
            ValueError: ``text`` is not a report: not JSON, nested too deep, or a field
                missing, of the wrong type or unknown (``entries.fetch: unknown status
                'weird' ...``); the message says what and where.
        """
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
        text = str(value) if value.bit_length() <= LONGEST_JSON_INT_BITS else safe_repr(value)
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
LONGEST_JSON_INT_BITS = 14_000


def jsonable(value: Any, _seen: frozenset[int] = frozenset()) -> Any:
    """Return ``value`` as JSON-native data; anything else becomes its safe ``repr``."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= LONGEST_JSON_INT_BITS else safe_repr(value)
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


# -- reading JSON back: every field checked, every error saying what and where ------------

#: Deepest nesting of arrays and objects inside one value (an argument, a result) that a
#: report can hold: ``to_json()`` writes anything deeper as its ``repr``.
MAX_JSON_DEPTH_READ = MAX_JSON_DEPTH
_LONGEST_SHOWN = 60  # of a bad value quoted in an error message
_MISSING: Any = object()
_JSON_KINDS = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def _bad_value(value: Any) -> str:
    """A bad value as an error message shows it: its JSON kind and a short ``repr``."""
    kind = _JSON_KINDS.get(type(value), type(value).__name__)
    if isinstance(value, str):
        return f"{kind} ({safe_repr(value[:_LONGEST_SHOWN], _LONGEST_SHOWN + 2)})"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{kind} ({safe_repr(value, _LONGEST_SHOWN)})"
    return kind


def _at(where: str, key: str) -> str:
    """The path of ``key`` inside ``where``: ``entries.fetch.error``."""
    plain = key.replace("_", "").replace("-", "").isalnum()
    name = key if plain else safe_repr(key[:_LONGEST_SHOWN], _LONGEST_SHOWN + 2)
    if not where:
        return name
    return f"{where}.{name}" if plain else f"{where}[{name}]"


# Each reader takes the object, the key and the object's path, and builds the path of
# the field only to say what is wrong with it: a valid report costs no message.


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict | Mapping):
        raise ValueError(f"{where}: expected an object, got {_bad_value(value)}")
    for key in value:
        if type(key) is not str:
            raise ValueError(f"{where}: expected names as keys, got {_bad_value(key)}")
    return value


def _field(data: Mapping[str, Any], key: str, where: str, default: Any = _MISSING) -> Any:
    value = data.get(key, default)
    if value is _MISSING:
        raise ValueError(f"{where}: missing field {key!r}")
    return value


def _object_field(data: Mapping[str, Any], key: str, where: str, default: Any = _MISSING) -> Any:
    value = _field(data, key, where, default)
    if type(value) is dict and len(value) < 2 and not _nested(value):
        return value  # the common {} checked at once
    return _object(_nested_value(value, key, where), _at(where, key))


def _string(data: Mapping[str, Any], key: str, where: str, default: Any = _MISSING) -> str:
    value = _field(data, key, where, default)
    if not isinstance(value, str):
        raise ValueError(f"{_at(where, key)}: expected a string, got {_bad_value(value)}")
    return value


def _strings(
    data: Mapping[str, Any], key: str, where: str, default: Any = _MISSING
) -> tuple[str, ...]:
    value = _field(data, key, where, default)
    if not isinstance(value, list | tuple):
        raise ValueError(
            f"{_at(where, key)}: expected an array of strings, got {_bad_value(value)}"
        )
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ValueError(
                f"{_at(where, key)}[{index}]: expected a string, got {_bad_value(item)}"
            )
    return tuple(value)


def _count(data: Mapping[str, Any], key: str, where: str) -> int:
    value = _field(data, key, where)
    if type(value) is not int or value < 0:
        raise ValueError(
            f"{_at(where, key)}: expected a whole number of 0 or more, got {_bad_value(value)}"
        )
    return value


def _seconds(data: Mapping[str, Any], key: str, where: str) -> float:
    value = _field(data, key, where)
    if type(value) is not float and type(value) is not int:
        raise ValueError(
            f"{_at(where, key)}: expected a number of seconds, got {_bad_value(value)}"
        )
    return float(value)


def _flag(data: Mapping[str, Any], key: str, where: str) -> bool:
    value = data.get(key, False)
    if type(value) is not bool:
        raise ValueError(f"{_at(where, key)}: expected true or false, got {_bad_value(value)}")
    return value


def _time_field(data: Mapping[str, Any], key: str, where: str) -> datetime | None:
    """A time written by ``to_json()``, or null; one without an offset is read as UTC."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(
            f"{_at(where, key)}: expected a time as a string or null, got {_bad_value(value)}"
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{_at(where, key)}: not an ISO 8601 time: {_bad_value(value)}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_E = TypeVar("_E", bound=enum.Enum)


def _member(kind: type[_E], value: Any, where: str, what: str) -> _E:
    try:
        return kind(value)
    except (ValueError, TypeError):
        names = ", ".join(str(member.value) for member in kind)
        raise ValueError(
            f"{where}: unknown {what} {safe_repr(value, _LONGEST_SHOWN)} (expected one of: {names})"
        ) from None


def _nested(value: list[Any] | dict[str, Any]) -> bool:
    for item in value.values() if type(value) is dict else value:
        if type(item) is list or type(item) is dict:
            return True
    return False


def _nested_value(value: Any, key: str, where: str) -> Any:
    """``value`` (an argument, a result), checked to nest no deeper than a report can."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, Mapping):
            items: Iterable[Any] = current.values()
        elif isinstance(current, list | tuple):
            items = current
        else:
            continue
        if depth > MAX_JSON_DEPTH_READ:
            raise ValueError(
                f"{_at(where, key)}: nesting too deep (more than {MAX_JSON_DEPTH_READ} "
                "levels of arrays and objects)"
            )
        pending.extend((item, depth + 1) for item in items if isinstance(item, list | dict))
    return value


def _array_field(data: Mapping[str, Any], key: str, where: str) -> tuple[Any, ...]:
    value = _field(data, key, where)
    if type(value) is list and not _nested(value):
        return tuple(value)  # the common flat list checked at once
    if not isinstance(value, list | tuple):
        raise ValueError(f"{_at(where, key)}: expected an array, got {_bad_value(value)}")
    return tuple(_nested_value(value, key, where))


def _any_field(data: Mapping[str, Any], key: str, where: str) -> Any:
    value = data.get(key)
    if type(value) is list or type(value) is dict:
        return _nested_value(value, key, where)
    return value


def _error_from_dict(data: Any, where: str = "error") -> ErrorData:
    data = _object(data, where)
    traced_vars = _object_field(data, "traced_vars", where)
    for name, text in traced_vars.items():
        if type(text) is not str:
            path = _at(_at(where, "traced_vars"), name)
            raise ValueError(f"{path}: expected a string, got {_bad_value(text)}")
    return ErrorData(
        task_name=_string(data, "task_name", where),
        function=_string(data, "function", where),
        args=_array_field(data, "args", where),
        kwargs=dict(_object_field(data, "kwargs", where)),
        downstream_impact=_strings(data, "downstream_impact", where),
        exception=_string(data, "exception", where),
        traceback_str=_string(data, "traceback_str", where),
        traced_vars=dict(traced_vars),
        traced_vars_location=_string(data, "traced_vars_location", where),
        exception_type=_string(data, "exception_type", where, ""),
    )


_STATUSES = {status.value: status for status in TaskStatus}


def _entry_from_dict(data: Any, where: str = "entry") -> TaskReportEntry:
    data = _object(data, where)
    status = _field(data, "status", where)
    status = (type(status) is str and _STATUSES.get(status)) or _member(
        TaskStatus, status, where, "status"
    )
    error = data.get("error")
    skip_reason = data.get("skip_reason")
    return TaskReportEntry(
        name=_string(data, "name", where),
        function=_string(data, "function", where),
        args=_array_field(data, "args", where),
        kwargs=dict(_object_field(data, "kwargs", where)),
        status=status,
        elapsed_seconds=_seconds(data, "elapsed_seconds", where),
        attempts=_count(data, "attempts", where),
        result=_any_field(data, "result", where),
        error=None if error is None else _error_from_dict(error, _at(where, "error")),
        started_at=_time_field(data, "started_at", where),
        finished_at=_time_field(data, "finished_at", where),
        dependencies=_strings(data, "dependencies", where, ()),
        attempt_errors=_strings(data, "attempt_errors", where, ()),
        reused=_flag(data, "reused", where),
        rerun_reason=_string(data, "rerun_reason", where, ""),
        skip_reason=None
        if skip_reason is None
        else _member(SkipReason, skip_reason, where, "skip_reason"),
        skip_cause=_string(data, "skip_cause", where, ""),
    )


def _streak_from_dict(data: Any, where: str) -> FailureStreak:
    data = _object(data, where)
    since = _time_field(data, "since", where)
    if since is None:
        raise ValueError(f"{_at(where, 'since')}: expected a time, got null or nothing")
    return FailureStreak(_count(data, "runs", where), since)


def report_from_dict(data: Mapping[str, Any]) -> ProcessExecutionReport:
    """Rebuild a report from the dict form of ``to_json()``.

    Fields added by later versions may be missing (their defaults are used), and fields
    this version does not know are ignored.

    Raises:
        ValueError: ``data`` is not a report; the message says what is wrong and where
            (``entries.fetch: unknown status 'weird' ...``).
    """
    if not isinstance(data, Mapping):
        raise ValueError(
            "not a processes report: expected an object with an 'entries' object, got "
            + _bad_value(data)
        )
    if "entries" not in data:
        raise ValueError("not a processes report: missing field 'entries'")
    entries = _object(data["entries"], "entries")
    changes = _object(data.get("changes", {}), "changes")
    streaks = _object(data.get("streaks", {}), "streaks")
    stopped_by = data.get("stopped_by")
    run_id = data.get("run_id")
    if run_id is not None and not isinstance(run_id, str):
        raise ValueError(f"run_id: expected a string, got {_bad_value(run_id)}")
    return ProcessExecutionReport(
        entries={
            name: _entry_from_dict(entry, _at("entries", name)) for name, entry in entries.items()
        },
        process_name=_string(data, "process_name", "", ""),
        started_at=_time_field(data, "started_at", ""),
        finished_at=_time_field(data, "finished_at", ""),
        run_id=run_id or new_run_id(),
        host=_string(data, "host", "", ""),
        changes={
            name: _member(TaskChange, value, _at("changes", name), "change")
            for name, value in changes.items()
        },
        streaks={
            name: _streak_from_dict(value, _at("streaks", name)) for name, value in streaks.items()
        },
        stopped_by=None
        if stopped_by is None
        else _member(StopReason, stopped_by, "stopped_by", "reason"),
    )


def report_from_json(text: str | bytes | bytearray) -> ProcessExecutionReport:
    """Parse ``text`` and rebuild the report it holds; ``ValueError`` when it holds none."""
    if not isinstance(text, str | bytes | bytearray):
        raise TypeError(
            f"from_json() takes the text of to_json(), a str or bytes, not {text!r:.80}"
        )
    try:
        data = json.loads(text)
    except RecursionError:  # the decoder recurses once per level
        raise ValueError(_too_deep(text)) from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # e.g. a number with more digits than int() reads
        raise ValueError(f"not a processes report: {exc}") from None
    return report_from_dict(data)


def _too_deep(text: str | bytes | bytearray) -> str:
    """Where ``text`` nests arrays and objects deeper than any report does."""
    if not isinstance(text, str):
        text = bytes(text).decode("utf-8", errors="replace")
    depth = 0
    limit = MAX_JSON_DEPTH_READ + 10  # the report's own levels, then a value's
    for token in _JSON_NESTING.finditer(text):
        bracket = token[0]
        if bracket in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, token.start()) + 1
                column = token.start() - (text.rfind("\n", 0, token.start()) + 1) + 1
                return (
                    f"not a processes report: nesting too deep (more than {limit} levels of "
                    f"arrays and objects) at line {line}, column {column}"
                )
        elif bracket in "]}":
            depth -= 1
    return "not a processes report: nesting too deep"


# A string (skipped whole, brackets in it included), or a bracket.
_JSON_NESTING = re.compile(r'"(?:[^"\\]|\\.)*+"|[\[\]{}]')
