"""What changed since the previous run of a process: each task's change and failure
streak, worked out from that run's streaks and this run's report (SPEC §12).

Pure: no SQLite, no clock. Imports the report's values and the stored format's times and
item names only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from processes.history.stored import item_of, parse_time
from processes.outcome import FailureStreak, TaskChange, TaskStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

    from processes.report import ProcessExecutionReport, TaskReportEntry

#: A failure streak as a run's ``streaks`` rows keep it: how many runs in a row the task
#: has failed, and the time (ISO text) the first of them started.
Streak = tuple[int, str]

_EPOCH = datetime.fromtimestamp(0, UTC)  # the start of a streak whose start was not kept


def compare(
    before: Mapping[str, Streak], report: ProcessExecutionReport, since_now: str
) -> tuple[dict[str, TaskChange], dict[str, FailureStreak], dict[str, Streak]]:
    """Return the changes and streaks of ``report`` against the previous run, and the
    streaks to keep for this run.

    ``before`` holds the previous run's streaks by task name (empty when there is none);
    ``since_now`` is when a failure that starts a streak in this run started. Only
    failures (and the skipped tasks whose failure streak they carry on) are read and kept,
    so it costs little.
    """
    changes: dict[str, TaskChange] = {}
    streaks: dict[str, FailureStreak] = {}
    failing: dict[str, Streak] = {}
    errored, success = TaskStatus.ERRORED, TaskStatus.SUCCESS
    entries = report.entries
    for name, entry in entries.items():
        status = entry.status
        if status is errored:
            if name in before:
                count, since = before[name]
                failing[name] = (count + 1, since)
                changes[name] = TaskChange.STILL_FAILING
                streaks[name] = FailureStreak(count + 1, parse_time(since) or _EPOCH)
            else:
                failing[name] = (1, since_now)
                changes[name] = TaskChange.NEW_FAILURE
        elif before and name in before:
            if status is success:
                changes[name] = TaskChange.RECOVERED
            elif status is TaskStatus.SKIPPED:
                # Not attempted (its upstream failed, the deadline passed, the run was
                # stopped): no change to report, and the streak goes on unchanged, so
                # that failing again next time is not a new failure.
                failing[name] = before[name]
    if before:
        _carry_absent_items(before, entries, failing)
    return changes, streaks, failing


def _carry_absent_items(
    before: Mapping[str, Streak],
    entries: Mapping[str, TaskReportEntry],
    failing: dict[str, Streak],
) -> None:
    """A failing item (§15, ``<task>[<key>]``) that is not in this run because its mapped
    task was skipped was not attempted either: its streak goes on, as a skipped task's
    does. One whose key is gone (its file did not come again) ends with it."""
    for name, streak in before.items():
        found = item_of(name, entries)
        if found is not None and entries[found[0]].status is TaskStatus.SKIPPED:
            failing[name] = streak
