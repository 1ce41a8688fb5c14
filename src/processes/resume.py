"""What a resumed run takes from an earlier one (§12): for each task that succeeded there,
its result and entry, by task name; for a success whose result cannot be restored, why;
and the items of mapped tasks that succeeded (§15), by task and key.

Imports the report and redaction; never ``execution`` or ``process``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from processes.outcome import TaskStatus
from processes.redaction import REDACTED
from processes.report import MAX_JSON_DEPTH

if TYPE_CHECKING:
    from collections.abc import Mapping

    from processes.report import ProcessExecutionReport, TaskReportEntry

#: The ``rerun_reason`` of a task whose earlier result the report showed as a secret.
HIDDEN_AS_SECRET = "its result was hidden as a secret"
#: The ``rerun_reason`` of a task whose earlier result the report could show only cut.
SHOWN_CUT = "its result was too big for the report to hold whole"

# The end of a ``repr`` that ``saferepr`` cut (how much, when it built it whole first): a
# report shows a result too big to look at in full that way.
_CUT_REPR = re.compile(r"\.\.\. \[truncated(?: \d+ chars)?\]\Z")


@dataclass(frozen=True, slots=True)
class Resumption:
    """The earlier run's successes, keyed by lower-cased task name.

    ``reused`` holds the result to pass on and the entry that run showed; ``reasons``
    says why a task that succeeded there must run again. ``items``: the items that
    succeeded there (§15), by lower-cased mapped task name, then by key (as given).
    """

    reused: dict[str, tuple[Any, TaskReportEntry]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    #: The run resumed: what the new run's ``report.resumed_from`` says.
    run_id: str | None = None
    items: dict[str, dict[str, tuple[Any, TaskReportEntry]]] = field(default_factory=dict)


def resumption_from_report(report: ProcessExecutionReport) -> Resumption:
    """Take the results of ``report``'s successes as its entries show them.

    A report that never left memory holds the very objects the tasks returned, except
    where a secret was masked in one or it was too big to show whole: those tasks run
    again. A report read back by ``from_json`` holds JSON values (a non-JSON result
    became its ``repr``); nothing tells a ``repr`` from a string result, so they are
    passed on as they are.
    """
    reused: dict[str, tuple[Any, TaskReportEntry]] = {}
    reasons: dict[str, str] = {}
    items: dict[str, dict[str, tuple[Any, TaskReportEntry]]] = {}
    for name, entry in report.entries.items():
        if entry.status is not TaskStatus.SUCCESS:
            continue
        key = name.lower()  # a report built by hand may say "Fetch"
        reason = why_not_restorable(entry.result)
        if entry.item_key is not None:
            if not reason:  # (one that cannot be restored runs again, as a new key would)
                by_key = items.setdefault(entry.mapped_task.lower(), {})
                by_key[entry.item_key] = (entry.result, entry)
        elif reason:
            reasons[key] = reason
        else:
            reused[key] = (entry.result, entry)
    return Resumption(reused, reasons, report.run_id, items)


def resumption_from_history(
    report: ProcessExecutionReport,
    values: Mapping[str, Any],
    reasons: Mapping[str, str],
    changed: Mapping[str, str] | None = None,
) -> Resumption:
    """Take the results a ``RunHistory`` restored for the successes of ``report``.

    ``values`` and ``reasons`` are ``RunHistory.results()``: the restored results by
    task name, and why the others could not be restored (``resumable()`` reads them in
    one transaction). ``changed`` says, by task name, what changed in a task since that
    run (its function, its arguments): such a task runs again.
    """
    reused: dict[str, tuple[Any, TaskReportEntry]] = {}
    why: dict[str, str] = {}
    items: dict[str, dict[str, tuple[Any, TaskReportEntry]]] = {}
    for name, entry in report.entries.items():
        if entry.status is not TaskStatus.SUCCESS:
            continue
        if entry.item_key is not None:  # reused when its mapped task did not change
            if name in values and not (changed and entry.mapped_task in changed):
                by_key = items.setdefault(entry.mapped_task.lower(), {})
                by_key[entry.item_key] = (values[name], entry)
        elif changed and name in changed:
            why[name.lower()] = f"{changed[name]} changed since run {report.run_id}"
        elif name in values:
            reused[name.lower()] = (values[name], entry)
        else:
            reason = reasons.get(name) or "it was not kept"
            why[name.lower()] = f"its result could not be restored from the history: {reason}"
    return Resumption(reused, why, report.run_id, items)


def why_not_restorable(shown: Any) -> str:
    """Why a result as a report shows it is not the result itself; "" when it may be.

    ``[redacted]`` anywhere in it means a secret was masked there; a ``repr`` cut at
    its end means it was too big to show. A result that merely holds those words runs
    again too: that costs a rerun, never a wrong value.
    """
    if isinstance(shown, str):
        if REDACTED in shown:
            return HIDDEN_AS_SECRET
        return SHOWN_CUT if _CUT_REPR.search(shown) else ""
    return HIDDEN_AS_SECRET if _holds_redacted(shown, 0) else ""


def _holds_redacted(value: Any, depth: int) -> bool:
    if isinstance(value, str):
        return REDACTED in value
    if depth >= MAX_JSON_DEPTH:
        return False
    try:
        if isinstance(value, dict):
            return any(
                _holds_redacted(key, depth + 1) or _holds_redacted(item, depth + 1)
                for key, item in value.items()
            )
        if isinstance(value, list | tuple | set | frozenset):
            return any(_holds_redacted(item, depth + 1) for item in value)
    except Exception:  # a container whose iteration raises was never masked
        return False
    return False
