"""The report as a webhook's JSON payload: the v7 shape plus a summary, timestamps, the
run's id and host, what changed since the previous run and the earlier runs found dead.
Fields are added, never removed.

Pure: no I/O. Imports ``rendering.changes`` and ``rendering.locales``, and
``processes.report`` only for type checking.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from processes.content import ReportContent
from processes.outcome import TaskChange, TaskStatus
from processes.rendering.changes import crash_note
from processes.rendering.locales import get_locale
from processes.saferepr import safe_repr

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from processes.outcome import ErrorData
    from processes.report import ProcessExecutionReport, TaskReportEntry

__all__ = ["render_webhook_payload", "serialise_payload"]


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
    """Count the report's tasks by status; ``ok`` is True when none errored or skipped."""
    counts = {
        status.value: sum(e.status is status for e in report.entries.values())
        for status in (TaskStatus.SUCCESS, TaskStatus.ERRORED, TaskStatus.SKIPPED)
    }
    return {"total": len(report.entries), **counts, "ok": report.ok}


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
    fields: dict[str, Any] = {
        "process_name": report.process_name,
        "entries": {name: _entry(report, entry, content) for name, entry in entries.items()},
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
