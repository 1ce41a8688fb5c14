"""A report's JSON form: the writer (``jsonable``, ``report_to_dict``) and the reader that
checks every field (``report_from_json``, ``report_from_dict``).

Imports the report model, ``outcome`` and ``saferepr``; ``history`` and the report's
``to_json()``/``from_json()`` use it.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from processes.outcome import (
    CrashedRun,
    ErrorData,
    FailureStreak,
    SkipReason,
    StopReason,
    TaskChange,
    TaskStatus,
    message_of,
)
from processes.report.model import ProcessExecutionReport, TaskReportEntry, new_run_id
from processes.saferepr import LONGEST_JSON_INT_BITS, MAX_JSON_DEPTH, safe_repr

__all__ = [
    "LONGEST_JSON_INT_BITS",
    "MAX_JSON_DEPTH",
    "MAX_JSON_DEPTH_READ",
    "entry_to_dict",
    "error_to_dict",
    "jsonable",
    "report_from_dict",
    "report_from_json",
    "report_to_dict",
]


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
        # "exception" is the message alone: reports written before held "Type: message"
        # there, and are read as such (``_message``).
        "exception_is_message": True,
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
        "mapped_task": entry.mapped_task,
        "item_key": entry.item_key,
    }


def crashes_to_list(crashes: Iterable[CrashedRun]) -> list[dict[str, Any]]:
    """``report.crashes`` in ``to_json()``'s form."""
    return [
        {
            "run_id": crash.run_id,
            "started_at": _time(crash.started_at),
            "tasks_finished": crash.tasks_finished,
            "tasks_total": crash.tasks_total,
            "running": list(crash.running),
        }
        for crash in crashes
    ]


def report_to_dict(report: ProcessExecutionReport) -> dict[str, Any]:
    return {
        "process_name": report.process_name,
        "run_id": report.run_id,
        "host": report.host,
        "stopped_by": report.stopped_by.value if report.stopped_by else None,
        "crashes": crashes_to_list(report.crashes),
        "resumed_from": report.resumed_from,
        "compared": report.compared,
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
    exception_type = _string(data, "exception_type", where, "")
    return ErrorData(
        task_name=_string(data, "task_name", where),
        function=_string(data, "function", where),
        args=_array_field(data, "args", where),
        kwargs=dict(_object_field(data, "kwargs", where)),
        downstream_impact=list(_strings(data, "downstream_impact", where)),
        exception=_message(data, exception_type, where),
        traceback_str=_string(data, "traceback_str", where),
        traced_vars=dict(traced_vars),
        traced_vars_location=_string(data, "traced_vars_location", where),
        exception_type=exception_type,
    )


def _message(data: Mapping[str, Any], exception_type: str, where: str) -> str:
    """The failure's message. Reports written before ``"exception_is_message"`` (JSON
    and history rows alike) held ``"Type: message"`` there, beside ``exception_type``:
    the message is what follows the class."""
    text = _string(data, "exception", where)
    if _flag(data, "exception_is_message", where):
        return text
    return message_of(text, exception_type)


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
        mapped_task=_string(data, "mapped_task", where, ""),
        item_key=_optional_string(data, "item_key", where),
    )


def _optional_string(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    return None if value is None else _string(data, key, where)


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
        crashes=_crashes_from(data.get("crashes", [])),
        resumed_from=None
        if data.get("resumed_from") is None
        else _string(data, "resumed_from", ""),
        # A report stored in a history (it has a "format") was compared when recorded.
        compared=_flag(data, "compared", "") or "format" in data,
    )


def _crashes_from(value: Any) -> tuple[CrashedRun, ...]:
    if not isinstance(value, list):
        raise ValueError(f"crashes: expected an array, got {_bad_value(value)}")
    crashes = []
    for index, item in enumerate(value):
        where = f"crashes[{index}]"
        crash = _object(item, where)
        crashes.append(
            CrashedRun(
                run_id=_string(crash, "run_id", where),
                started_at=_time_field(crash, "started_at", where),
                tasks_finished=_count(crash, "tasks_finished", where),
                tasks_total=_count(crash, "tasks_total", where),
                running=_strings(crash, "running", where, ()),
            )
        )
    return tuple(crashes)


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
