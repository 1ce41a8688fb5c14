"""The report as a webhook's JSON payload: the v7 shape plus a summary, timestamps, the
run's id and host, what changed since the previous run and the earlier runs found dead.
Fields are added, never removed.

Pure: no I/O. Imports ``rendering.changes``, ``rendering.common`` and ``rendering.locales``, and
``processes.report`` only for type checking.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from processes.content import ReportContent
from processes.outcome import TaskChange, TaskStatus
from processes.rendering.changes import crash_note
from processes.rendering.common import is_summed_up, item_counts, run_tally
from processes.rendering.locales import get_locale
from processes.saferepr import safe_repr

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from processes.outcome import ErrorData
    from processes.rendering.common import ItemCounts
    from processes.report import ProcessExecutionReport, TaskReportEntry

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_ITEM_KEYS",
    "fit_payload",
    "render_webhook_payload",
    "serialise_payload",
]

#: A mapped task's entry names the keys of at most this many failed (and skipped) items;
#: its counts cover them all, and each such item keeps an entry of its own.
MAX_ITEM_KEYS = 1_000
_ITEM_KEY_CHARS = 100_000
_ENGLISH = get_locale("en")


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _error(error: ErrorData, content: ReportContent) -> dict[str, Any]:
    data: dict[str, Any] = {
        "exception": error.exception,
        "exception_type": error.exception_type,
        "downstream_impact": list(error.downstream_impact),
    }
    if content.show_traceback:
        data["traceback"] = error.traceback_str
    if content.show_traced_vars:
        data["traced_vars"] = dict(error.traced_vars)
        data["traced_vars_location"] = error.traced_vars_location
    return data


def _entry(
    report: ProcessExecutionReport, entry: TaskReportEntry, content: ReportContent
) -> dict[str, Any]:
    succeeded = entry.status is TaskStatus.SUCCESS
    change = report.changes.get(entry.name)
    streak = report.streaks.get(entry.name) if change is TaskChange.STILL_FAILING else None
    return {
        "status": entry.status.value,
        "function": entry.function,
        "elapsed_seconds": entry.elapsed_seconds,
        "attempts": entry.attempts,
        "result": safe_repr(entry.result) if succeeded else None,
        "error": _error(entry.error, content) if entry.error else None,
        "started_at": _time(entry.started_at),
        "finished_at": _time(entry.finished_at),
        "change": change.value if change else None,
        "still_failing_since": _time(streak.since) if streak else None,
        "failing_runs": streak.runs if streak else None,
        "reused": entry.reused,
        "rerun_reason": entry.rerun_reason or None,
        "skip_reason": entry.skip_reason.value if entry.skip_reason else None,
        "skip_cause": entry.skip_cause or None,
    }


def _items(items: ItemCounts) -> dict[str, Any]:
    """A mapped task's items summed up; the keys of at most ``MAX_ITEM_KEYS`` of each kind."""
    return {
        "total": items.total,
        "succeeded": items.succeeded,
        "errored": len(items.failed),
        "skipped": len(items.skipped),
        "errored_keys": _first_keys(items.failed),
        "skipped_keys": _first_keys(items.skipped),
        "summary": items.sentence(_ENGLISH),
    }


def _first_keys(keys: tuple[str, ...]) -> list[str]:
    """At most ``MAX_ITEM_KEYS`` keys, and no more than ``_ITEM_KEY_CHARS`` characters."""
    kept: list[str] = []
    chars = 0
    for key in keys[:MAX_ITEM_KEYS]:
        chars += len(key)
        if chars > _ITEM_KEY_CHARS:
            break
        kept.append(key)
    return kept


def _crashes(report: ProcessExecutionReport) -> list[dict[str, Any]]:
    """Each earlier run this one found dead (§13), with the English sentence views show."""
    earlier = len(report.crashes) > 1
    english = get_locale("en")
    return [
        {
            "run_id": crash.run_id,
            "started_at": _time(crash.started_at),
            "tasks_finished": crash.tasks_finished,
            "tasks_total": crash.tasks_total,
            "running": list(crash.running),
            "message": crash_note(crash, english, earlier=earlier),
        }
        for crash in report.crashes
    ]


def summarise(report: ProcessExecutionReport) -> dict[str, Any]:
    """Count the report's entries by status; ``ok`` is True when none errored or skipped.

    The counts are of every entry, items included, as they always were; a report with
    items adds ``"tasks"`` (its declared tasks) and ``"items"`` counted apart (§15).
    """
    counts = {
        status.value: sum(e.status is status for e in report.entries.values())
        for status in (TaskStatus.SUCCESS, TaskStatus.ERRORED, TaskStatus.SKIPPED)
    }
    summary: dict[str, Any] = {"total": len(report.entries), **counts, "ok": report.ok}
    tally = run_tally(report)
    if tally.items is not None:
        for field, counted in (("tasks", tally.tasks), ("items", tally.items)):
            summary[field] = {
                "total": counted.total,
                "success": counted.succeeded,
                "errored": counted.failed,
                "skipped": counted.skipped,
            }
    return summary


def render_webhook_payload(
    report: ProcessExecutionReport,
    *,
    content: ReportContent | None = None,
    errors_only: bool = False,
    nest_under: str | None = None,
    extra_payload: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the payload as a dict: the v7 fields, optionally nested, then ``extra_payload``.

    The summary counts every task of ``report`` even when ``errors_only`` keeps only the
    errored entries, so an alert still says "3 of 5,000 failed".
    """
    content = content or ReportContent()
    entries = report.errored if errors_only else report.entries
    items = item_counts(report)
    listed = {}
    for name, entry in entries.items():
        if is_summed_up(entry):
            continue  # counted by its mapped task's "items", never listed (SPEC §15)
        listed[name] = _entry(report, entry, content)
        if name in items:
            listed[name]["items"] = _items(items[name])
    fields: dict[str, Any] = {
        "process_name": report.process_name,
        "entries": listed,
        "summary": summarise(report),
        "started_at": _time(report.started_at),
        "finished_at": _time(report.finished_at),
        "elapsed_seconds": report.elapsed_seconds,
        "errors_only": errors_only,
        "run_id": report.run_id,
        "host": report.host,
        "changes": {name: change.value for name, change in report.changes.items()},
        "stopped_by": report.stopped_by.value if report.stopped_by else None,
        "crashes": _crashes(report),
        # What a body kept under MAX_BODY_BYTES left out (see fit_payload); None when whole.
        "left_out": None,
    }
    payload = {nest_under: fields} if nest_under is not None else fields
    payload.update(extra_payload or {})  # extra keys stay top-level and win on collision
    return payload


def serialise_payload(payload: Any) -> bytes:
    """Serialise once, compactly, as UTF-8; the bytes signed are the bytes sent.

    Values JSON cannot hold (from ``extra_payload``) are written as their ``repr``.
    """
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=safe_repr)
    return text.encode("utf-8")


# -- keeping the body under MAX_BODY_BYTES ----------------------------------------------------

#: A webhook body never exceeds this many bytes (SPEC §17): receivers and proxies commonly
#: refuse bodies of 1 MB and more.
MAX_BODY_BYTES = 1_000_000
#: The first failures keep this much of each text; the others (and every other entry) less.
_FULL = {"text": 4_000, "trace": 8_000, "vars": 20, "var": 500, "names": 100}
_BRIEF = {"text": 300, "trace": 1_000, "vars": 5, "var": 100, "names": 10}
_FULL_FAILURES = 5
#: No entry serialises smaller: its fifteen keys alone take more bytes.
_SMALLEST_ENTRY = 200
_PRIORITY = (TaskStatus.ERRORED.value, TaskStatus.SKIPPED.value, TaskStatus.SUCCESS.value)


def _size(value: Any) -> int:
    return len(serialise_payload(value))


def cut_middle(text: str, limit: int) -> str:
    """Keep the head and tail of ``text`` (``limit`` characters in all), saying what was cut."""
    if len(text) <= limit:
        return text
    head = limit // 3
    tail = limit - head
    return f"{text[:head]}\n… [{len(text) - limit:,} characters cut] …\n{text[-tail:]}"


def _shrunk_error(error: dict[str, Any], limits: Mapping[str, int]) -> dict[str, Any]:
    error = dict(error)
    for key, limit in (("exception", limits["text"]), ("traceback", limits["trace"])):
        if isinstance(error.get(key), str):
            error[key] = cut_middle(error[key], limit)
    impact = error.get("downstream_impact")
    if isinstance(impact, list) and len(impact) > limits["names"]:
        error["downstream_impact"] = impact[: limits["names"]]
        error["downstream_impact_left_out"] = len(impact) - limits["names"]
    traced = error.get("traced_vars")
    if isinstance(traced, dict):
        kept = list(traced.items())[: limits["vars"]]
        error["traced_vars"] = {
            cut_middle(str(k), 200): cut_middle(v, limits["var"]) if isinstance(v, str) else v
            for k, v in kept
        }
        if len(traced) > len(kept):
            error["traced_vars_left_out"] = len(traced) - len(kept)
    return error


def _shrunk(entry: Any, limits: Mapping[str, int]) -> Any:
    """The entry with its long texts cut head and tail, and ``"cut": true`` if any was."""
    if not isinstance(entry, dict):
        return entry
    shrunk = {
        key: cut_middle(value, limits["text"]) if isinstance(value, str) else value
        for key, value in entry.items()
    }
    if isinstance(entry.get("error"), dict):
        shrunk["error"] = _shrunk_error(entry["error"], limits)
    if shrunk != entry:
        shrunk["cut"] = True
    return shrunk


def _ranked(entries: Mapping[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
    """Entry names failures first, skipped next, successes last; and the names by status."""
    groups: dict[str, list[str]] = {status: [] for status in (*_PRIORITY, "other")}
    mapped: list[str] = []  # a mapped task's entry sums its items up: kept first
    for name, entry in entries.items():
        status = entry.get("status") if isinstance(entry, dict) else None
        groups.get(str(status), groups["other"]).append(name)
        if isinstance(entry, dict) and "items" in entry:
            mapped.append(name)
    first = set(mapped)
    rest = [name for names in groups.values() for name in names if name not in first]
    return [*mapped, *rest], groups


def _left_out(
    groups: Mapping[str, list[str]], kept: set[str], cut_entries: int, max_bytes: int
) -> dict[str, Any]:
    counts = {status: sum(name not in kept for name in names) for status, names in groups.items()}
    left = sum(counts.values())
    total = sum(len(names) for names in groups.values())
    return {
        "entries": left,
        **counts,
        "cut_entries": cut_entries,
        "max_bytes": max_bytes,
        "note": (
            f"{left:,} of {total:,} entries are left out, and long texts cut, to keep this "
            f"body under {max_bytes:,} bytes; the summary counts every task"
        ),
    }


def fit_payload(
    payload: dict[str, Any], *, nest_under: str | None = None, max_bytes: int = MAX_BODY_BYTES
) -> dict[str, Any]:
    """Return ``payload`` made to serialise within ``max_bytes``, saying what it left out.

    Nothing changes when it fits. Otherwise each entry's long texts are cut head and tail
    (the first failures keep the most; such an entry says ``"cut": true``), then entries
    are kept failures first, skipped tasks next, successes last, each group in report
    order, while they fit; ``"left_out"`` counts the entries left out by status. The
    summary still counts every task, and no field is removed; a mapped task's entry, which
    sums its items up, is kept before any other. ``extra_payload`` keys are
    the caller's and kept whole.
    """
    if _size(payload) <= max_bytes:
        return payload
    fields = payload.get(nest_under) if nest_under is not None else payload
    if not isinstance(fields, dict) or not isinstance(fields.get("entries"), dict):
        return payload
    entries: dict[str, Any] = fields["entries"]
    found = fields.get("changes")
    changes: dict[str, Any] = found if isinstance(found, dict) else {}
    order, groups = _ranked(entries)
    shrunk: dict[str, Any] = {}

    def with_fields(kept: set[str]) -> dict[str, Any]:
        cut_entries = sum(isinstance(shrunk[n], dict) and "cut" in shrunk[n] for n in kept)
        fitted = dict(
            fields,
            entries={name: shrunk[name] for name in entries if name in kept},
            changes={name: change for name, change in changes.items() if name in kept},
            left_out=_left_out(groups, kept, cut_entries, max_bytes),
        )
        return dict(payload, **{nest_under: fitted}) if nest_under is not None else fitted

    budget = max_bytes - _size(with_fields(set())) - 100  # the counts grow by a few digits
    kept: set[str] = set()
    for rank, name in enumerate(order):
        if budget < _SMALLEST_ENTRY:
            break  # nothing further on can fit: stop measuring
        shrunk[name] = _shrunk(entries[name], _FULL if rank < _FULL_FAILURES else _BRIEF)
        cost = _size({name: shrunk[name]})
        if name in changes:
            cost += _size({name: changes[name]})
        if cost <= budget:  # else a smaller entry further on may still fit
            kept.add(name)
            budget -= cost
    return with_fields(kept)
