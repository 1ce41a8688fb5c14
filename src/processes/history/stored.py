"""The stored report: a run's report as the ``runs.report`` column holds it (format 5;
formats 1 to 4 are still read) beside its ``tasks`` rows, and the times in it.

Imports the report and the package's schema and errors; never ``sqlite3``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from itertools import repeat
from typing import TYPE_CHECKING, Any

from processes.history.errors import MissingRows
from processes.history.schema import ids_of, task_row_values
from processes.outcome import TaskStatus
from processes.report import (
    ProcessExecutionReport,
    TaskReportEntry,
    crashes_to_list,
    entry_to_dict,
    jsonable,
    report_from_dict,
)
from processes.saferepr import safe_repr

if TYPE_CHECKING:
    from collections.abc import Container, Iterable, Iterator, Mapping, Sequence

#: The format of the ``runs.report`` column this code writes: 5 writes the plain entries
#: as columns, a list per field (4: a list per entry), their times in microseconds from
#: the run's start (3: from 1970), and leaves their status, attempts and elapsed time to
#: their ``tasks`` rows. Version 1 stored ``report.to_json()``, 2 whole rows; all five
#: are read.
REPORT_FORMAT = 5


#: A plain entry's fields in the stored report, in the order a row of formats 3 and 4 held
#: them; its status, attempts and elapsed time are in its ``tasks`` row (a float costs more
#: to write as JSON text than all the rest).
ENTRY_FIELDS = (
    "name",
    "function",
    "args",
    "kwargs",
    "result",
    "started_at",
    "finished_at",
    "dependencies",
)
_RESULT_AT = ENTRY_FIELDS.index("result")
_COLUMNS = ENTRY_FIELDS[1:]  # format 5 keeps the names of all entries apart
#: What a field of a plain entry reads as when its column was not kept (a checkpoint's).
_UNKNOWN: dict[str, Any] = {
    "function": "",
    "args": [],
    "kwargs": {},
    "result": None,
    "started_at": None,
    "finished_at": None,
    "dependencies": [],
}

_COMPACT = (",", ":")  # no spaces: an eighth less text to write and keep
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# The furthest offsets there are: an aware time at the ends of the calendar is an instant
# that UTC cannot show, but one of these can.
_FAR_EAST = timezone(timedelta(days=1) - _MICROSECOND)
_FAR_WEST = timezone(-timedelta(days=1) + _MICROSECOND)


def moment_of(moment: datetime | None, origin: datetime = _EPOCH) -> int | str | None:
    """A time as the stored report holds it: microseconds since ``origin`` (an int is
    cheaper to write than a float or a text, and exact; a small one is shorter)."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # naive: no instant to count from
        return moment.isoformat()
    return (moment - origin) // _MICROSECOND


def from_moment(value: float | str | None, origin: datetime = _EPOCH) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    since = timedelta(microseconds=value)
    try:
        return origin + since
    except OverflowError:  # an instant of year 1 east of UTC, or of 9999 west of it
        return origin.astimezone(_FAR_EAST if value < 0 else _FAR_WEST) + since


def origin_of(report: ProcessExecutionReport) -> datetime:
    """What a plain entry's times count from: the run's start, when it is an instant."""
    started = report.started_at
    return started if started is not None and started.tzinfo is not None else _EPOCH


def encode_report(
    report: ProcessExecutionReport,
    run: int,
    fingerprints: Sequence[str] = (),
    written: Mapping[str, int] | None = None,
) -> tuple[str, list[Any]]:
    """The stored report and the ``tasks`` rows of run ``run`` that its checkpoints have
    not ``written`` (their ids by name; the rows as ``task_row_values``).

    The plain entries (no error, skip or reuse: most of them) are stored as columns, a
    list per field; the others are kept whole, in ``to_json()``'s form. Columns build no
    container per entry: a list per entry costs more than the entry's own fields, and
    its share of the cyclic garbage collector's passes (several full passes over the
    program's objects at 100,000 tasks) more again. The ``tasks`` rows are filled in
    from columns for the same reason, into one flat list of their values.
    """
    entries = list(report.entries.values())
    plain, details = _plain_and_detailed(entries)
    origin = origin_of(report)
    columns = _columns(plain, origin)
    stored = {
        "format": REPORT_FORMAT,
        "process_name": report.process_name,
        "run_id": report.run_id,
        "host": report.host,
        "stopped_by": report.stopped_by.value if report.stopped_by else None,
        "changes": {name: change.value for name, change in report.changes.items()},
        "streaks": {
            name: {"runs": streak.runs, "since": streak.since.isoformat()}
            for name, streak in report.streaks.items()
        },
        "started_at": report.started_at.isoformat() if report.started_at else None,
        "finished_at": report.finished_at.isoformat() if report.finished_at else None,
        "crashes": crashes_to_list(report.crashes),
        "resumed_from": report.resumed_from,
        "times_from_us": moment_of(origin),
        "names": [e.name for e in entries],
        "details": details,
        "plain": columns,
        "items": item_spans(entries),
    }
    if fingerprints:
        stored.update(packed_fingerprints(_of_entries(fingerprints, entries)))
    return _dumped(stored, columns), _task_rows(entries, run, written)


def packed_fingerprints(fingerprints: Sequence[str]) -> dict[str, list[Any]]:
    """Fingerprints (``processes.fingerprint``) as a stored report keeps them: each
    distinct one once, and per name its index among them. Tasks of one function without
    arguments of their own share theirs, which would otherwise be half the report."""
    table = list(dict.fromkeys(fingerprints))
    index = {print_: i for i, print_ in enumerate(table)}
    return {
        "fingerprint_table": table,
        "fingerprint_of": list(map(index.__getitem__, fingerprints)),
    }


def unpacked_fingerprints(data: dict[str, Any]) -> list[str]:
    """The fingerprints of a stored report, in the order of its names (none before
    schema 5; a list of them whole before this format's ``fingerprint_table``)."""
    if "fingerprint_table" not in data:
        return list(data.get("fingerprints", ()))
    table = data["fingerprint_table"]
    return [table[index] for index in data["fingerprint_of"]]


def fingerprints_in(text: str) -> dict[str, str]:
    """The fingerprints a stored report keeps, by task name (an item's are its mapped
    task's; a list of them whole, of an earlier build, has none for items)."""
    data = json.loads(text)
    names, fingerprints = data.get("names", ()), unpacked_fingerprints(data)
    if len(names) != len(fingerprints) and (items := items_among(names, data.get("items"))):
        names = [name for k, name in enumerate(names) if k not in items]
    return dict(zip(names, fingerprints, strict=False))


def _of_entries(fingerprints: Sequence[str], entries: list[TaskReportEntry]) -> Sequence[str]:
    """The declared tasks' ``fingerprints`` (in their order) as the report's entries take
    them: an item (SPEC §15), which follows its mapped task, takes that task's."""
    if len(fingerprints) == len(entries):
        return fingerprints
    declared = iter(fingerprints)
    by_task: dict[str, str] = {}
    aligned = []
    for entry in entries:
        if entry.mapped_task:
            aligned.append(by_task.get(entry.mapped_task, ""))
        else:
            aligned.append(by_task.setdefault(entry.name, next(declared, "")))
    return aligned


def item_of(name: str, tasks: Container[str]) -> tuple[str, str] | None:
    """The mapped task and key of an item's name (``<task>[<key>]``, §15) whose task is
    one of ``tasks``; None for a name that is no such item's."""
    if name in tasks or name[-1:] != "]":
        return None
    at = name.find("[")
    while at > 0:
        if name[:at] in tasks:
            return name[:at], name[at + 1 : -1]
        at = name.find("[", at + 1)
    return None


def item_spans(entries: Sequence[TaskReportEntry]) -> list[list[int]]:
    """Where a report's items (§15) are: ``[index of the mapped task, count]`` for each
    mapped task with items, which follow it. Kept in the stored report, so that a
    declared task named like an item (``load[eu]`` beside ``load``) is read as itself."""
    spans: list[list[int]] = []
    if not any(e.mapped_task for e in entries):
        return spans
    for k, e in enumerate(entries):
        if not e.mapped_task:
            continue
        if spans and spans[-1][0] + spans[-1][1] + 1 == k:
            spans[-1][1] += 1
        else:
            spans.append([k - 1, 1])
    return spans


def items_among(
    names: Sequence[str], spans: Sequence[Sequence[int]] | None = None
) -> dict[int, tuple[str, str]]:
    """The items among a report's entry names, by index: their mapped task and key.

    ``spans`` are the stored report's ``items`` (``item_spans``). A report stored before
    them kept no more of an item than its name, ``<task>[<key>]`` following its mapped
    task or the items before it: without ``spans`` the names are read so.
    """
    items: dict[int, tuple[str, str]] = {}
    if spans is not None:
        for mapped, count in spans:
            task = names[mapped]
            for k in range(mapped + 1, mapped + 1 + count):
                items[k] = (task, names[k][len(task) + 1 : -1])
        return items
    current = ""
    for k, name in enumerate(names):
        if (
            current
            and name[-1:] == "]"
            and name.startswith(current)
            and name[len(current) : len(current) + 1] == "["
        ):
            items[k] = (current, name[len(current) + 1 : -1])
        else:
            current = name
    return items


def encode_batch(
    entries: list[TaskReportEntry], positions: list[int], run: int, origin: datetime
) -> tuple[str, list[Any]]:
    """A checkpoint of a run in progress: the entries finished since the last one, as a
    stored report of their own (format 5, without the run's fields), and their ``tasks``
    rows, the rows the run's end would write (``decode_report`` reads it back)."""
    plain, details = _plain_and_detailed(entries)
    # Of a plain entry, only what a crashed run's report and its resume need: its result
    # (its status, attempts and elapsed time are its ``tasks`` row). The run's end writes
    # the whole report; this is what is left if it never comes.
    columns = {"result": [e.result for e in plain]}
    stored = {
        "format": REPORT_FORMAT,
        "times_from_us": moment_of(origin),
        "names": [e.name for e in entries],
        "details": details,
        "plain": columns,
    }
    first, _ = ids_of(run)
    ids = [first + position for position in positions]
    return _dumped(stored, columns), task_row_values(ids, run, entries)


def _plain_and_detailed(
    entries: list[TaskReportEntry],
) -> tuple[list[TaskReportEntry], list[dict[str, Any]]]:
    """The plain entries, and the others in ``to_json()``'s form."""
    plain: list[TaskReportEntry] = []
    details: list[dict[str, Any]] = []
    for e in entries:
        if (
            e.error is None
            and not e.attempt_errors
            and not e.reused
            and not e.rerun_reason
            and e.skip_reason is None
            and not e.skip_cause
        ):
            plain.append(e)
        else:
            details.append(entry_to_dict(e))
    return plain, details


def _columns(plain: list[TaskReportEntry], origin: datetime) -> dict[str, list[Any]]:
    """The plain entries' fields, a list per field, their times counted from ``origin``."""
    microsecond = _MICROSECOND
    try:  # moment_of(), inline for the times a run takes itself: instants, all of them
        started = [(e.started_at - origin) // microsecond for e in plain]  # type: ignore[operator]
        finished = [(e.finished_at - origin) // microsecond for e in plain]  # type: ignore[operator]
    except TypeError:  # a time missing or naive (subtracting it from an instant fails)
        started = [moment_of(e.started_at, origin) for e in plain]
        finished = [moment_of(e.finished_at, origin) for e in plain]
    return {
        "function": [e.function for e in plain],
        "args": [e.args for e in plain],
        "kwargs": [e.kwargs for e in plain],
        "result": [e.result for e in plain],
        "started_at": started,
        "finished_at": finished,
        "dependencies": [e.dependencies for e in plain],
    }


def _dumped(stored: dict[str, Any], columns: dict[str, list[Any]]) -> str:
    """``stored`` as JSON text; ``columns`` is its ``plain`` part, made JSON if need be."""
    try:
        # Most values are JSON already; what is not is written as its repr, as jsonable()
        # would. (int keys become strings here, where to_json() writes their dict's repr.)
        # No check for cycles on the way (a quarter of the time): one ends in a
        # RecursionError, and the values are written again below, by jsonable().
        return json.dumps(
            stored,
            default=safe_repr,
            allow_nan=False,
            check_circular=False,
            separators=_COMPACT,
        )
    except (ValueError, TypeError, RecursionError):  # NaN, a cycle, a huge int, odd keys
        for field in ("args", "kwargs", "result"):
            if field in columns:
                columns[field] = [jsonable(value) for value in columns[field]]
        return json.dumps(stored, default=safe_repr, separators=_COMPACT)


def _task_rows(
    entries: list[TaskReportEntry], run: int, written: Mapping[str, int] | None
) -> list[Any]:
    """The ``tasks`` rows of run ``run`` (``task_row_values``); without those ``written``
    already, the others taking the ids those left free."""
    first, _ = ids_of(run)
    if not written:
        return task_row_values(range(first, first + len(entries)), run, entries)
    taken = set(written.values())
    entries = [e for e in entries if e.name not in written]
    free = (i for i in itertools.count(first) if i not in taken)
    return task_row_values(list(itertools.islice(free, len(entries))), run, entries)


def stored_rows(data: dict[str, Any]) -> Iterator[dict[str, Any] | list[Any]]:
    """The entries of a stored report (formats 2 to 5), in order: a detailed one as a dict
    in ``to_json()``'s form, a plain one as a list of its ``ENTRY_FIELDS`` (format 2: of
    all its fields, its status, elapsed time and attempts after ``kwargs``)."""
    if data.get("format") != 5:
        yield from data["entries"]
        return
    names, details, columns = data["names"], data["details"], data["plain"]
    lengths = {len(columns[field]) for field in _COLUMNS if field in columns}
    if lengths != {len(names) - len(details)}:
        raise ValueError(
            f"{len(names)} task names, but {len(details)} detailed entries"
            f" and plain columns of {sorted(lengths)} values"
        )
    by_name = {row["name"]: row for row in details}
    # A checkpoint keeps only the results of its plain entries: the rest as if unknown.
    plain = zip(
        *(columns[field] if field in columns else repeat(_UNKNOWN[field]) for field in _COLUMNS),
        strict=False,  # the columns kept are of one length (checked above); repeat() never ends
    )
    for name in names:
        yield by_name[name] if name in by_name else [name, *next(plain)]


def decode_report(text: str, tasks: dict[str, tuple[str, int, float]]) -> ProcessExecutionReport:
    """Rebuild a stored report: ``tasks`` holds the plain entries' status, attempts and
    elapsed time by name, from their ``tasks`` rows (formats 3 to 5; format 2 kept them
    in the row, between ``kwargs`` and ``result``)."""
    data = json.loads(text)
    version = data.get("format")
    if version not in (2, 3, 4, 5):  # report.to_json(), as version 1 stored it
        return report_from_dict(data)
    rows = list(stored_rows(data))
    detailed = {row["name"]: row for row in rows if isinstance(row, dict)}
    rebuilt = report_from_dict({**data, "entries": detailed})
    origin = from_moment(data.get("times_from_us", 0)) or _EPOCH
    entries: dict[str, TaskReportEntry] = {}
    items = items_among(data["names"], data.get("items")) if version == 5 else {}
    for k, row in enumerate(rows):
        if isinstance(row, dict):
            entries[row["name"]] = rebuilt.entries[row["name"]]
            continue
        if version == 2:
            name, function, args, kwargs, status, elapsed, attempts, result, start, end, deps = row
        else:
            name, function, args, kwargs, result, start, end, deps = row
            try:
                status, attempts, elapsed = tasks[name]
            except KeyError:
                raise MissingRows(data.get("run_id"), name) from None
        mapped, key = items.get(k, ("", None))  # an item keeps no more than its name
        entries[name] = TaskReportEntry(
            name,
            function,
            tuple(args) if isinstance(args, list) else (args,),
            kwargs if isinstance(kwargs, dict) else {},
            TaskStatus(status),
            elapsed,
            attempts,
            result,
            started_at=from_moment(start, origin),
            finished_at=from_moment(end, origin),
            dependencies=tuple(deps),
            mapped_task=mapped,
            item_key=key,
        )
    return replace(rebuilt, entries=entries)


def results_in(text: str, statuses: dict[str, str]) -> Iterator[tuple[str, str, Any]]:
    """Each entry's name, status value and result in a stored report (``statuses``:
    its ``tasks`` rows' statuses, by name)."""
    data = json.loads(text)
    if "format" not in data:  # to_json()'s form
        rows: Iterable[dict[str, Any] | list[Any]] = data["entries"].values()
    else:
        rows = stored_rows(data)
    result_at = 7 if data.get("format") == 2 else _RESULT_AT
    for row in rows:
        if isinstance(row, dict):
            yield row["name"], row["status"], row.get("result")
        elif row[0] in statuses:
            yield row[0], statuses[row[0]], row[result_at]
        else:
            raise MissingRows(data.get("run_id"), row[0])


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
