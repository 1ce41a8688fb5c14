"""What every view says about a run beyond its statuses: what changed since the last run,
how the run ended, the earlier runs it found dead, why a task was skipped or reused, and a
repeated error said once.

Pure; imports ``processes.outcome`` and ``rendering.common``, and ``rendering.locales``
and ``processes.report`` only for type checking.
"""

from __future__ import annotations

import enum
from datetime import UTC
from typing import TYPE_CHECKING

from processes.outcome import SkipReason, StopReason, TaskChange, TaskStatus
from processes.rendering.common import cut, format_time, list_names

if TYPE_CHECKING:
    from processes.outcome import CrashedRun
    from processes.rendering.locales import Locale
    from processes.report import ProcessExecutionReport, TaskReportEntry

__all__ = [
    "RunOutcome",
    "attempts_said_once",
    "change_note",
    "crash_note",
    "crash_notes",
    "has_failed",
    "never_ended",
    "repeated_error",
    "reuse_note",
    "run_outcome",
    "skip_note",
    "skip_roots",
    "stop_note",
    "subject_words",
]


class RunOutcome(enum.Enum):
    """How a run went, for the subject line and the header badge."""

    FAILED = "failed"  # something errored that did not error last time (or no history)
    STILL_FAILING = "still_failing"  # every errored task already errored last time
    RECOVERED = "recovered"  # nothing failed, and something that failed last time works
    SUCCEEDED = "succeeded"


def has_failed(report: ProcessExecutionReport) -> bool:
    """Tell whether a task errored or was skipped for any reason but its own condition.

    A ``run_when="any_failed"`` task skipped because nothing failed is how a healthy run
    ends, so it does not make the run a failure.
    """
    for entry in report.entries.values():
        if entry.status is TaskStatus.ERRORED:
            return True
        if entry.status is TaskStatus.SKIPPED and (
            entry.skip_reason is not SkipReason.CONDITION_NOT_MET
        ):
            return True
    return False


def never_ended(report: ProcessExecutionReport) -> bool:
    """Tell whether the run started and has no end: it crashed, or still runs (§13).

    Its duration is unknown then, and views leave it out rather than say "0 ms".
    """
    return report.started_at is not None and report.finished_at is None


def run_outcome(report: ProcessExecutionReport) -> RunOutcome:
    """Say how the run went, against the previous run where ``report.changes`` knows it."""
    changes = report.changes
    if has_failed(report):
        errored = report.errored
        if errored and all(changes.get(n) is TaskChange.STILL_FAILING for n in errored):
            return RunOutcome.STILL_FAILING
        return RunOutcome.FAILED
    if any(change is TaskChange.RECOVERED for change in changes.values()):
        return RunOutcome.RECOVERED
    return RunOutcome.SUCCEEDED


def subject_words(report: ProcessExecutionReport, words: Locale, *, errors_only: bool) -> str:
    """Return the words before the process name in an email subject.

    A run that closed a crashed one says so first, and then whether it went well itself:
    both decide what the reader does next (§13).
    """
    if errors_only:
        return words.subject_errors
    if report.crashes:
        failed = has_failed(report)
        return words.subject_crashed_failed if failed else words.subject_crashed_ok
    return {
        RunOutcome.FAILED: words.subject_failed,
        RunOutcome.STILL_FAILING: words.subject_still_failing,
        RunOutcome.RECOVERED: words.subject_recovered,
        RunOutcome.SUCCEEDED: words.subject_succeeded,
    }[run_outcome(report)]


def change_note(report: ProcessExecutionReport, name: str, words: Locale) -> str:
    """Return what changed for task ``name`` ("new", "still failing since … (3 runs)"), or ""."""
    change = report.changes.get(name)
    if change is None:
        return ""
    if change is TaskChange.STILL_FAILING and (streak := report.streaks.get(name)):
        since = streak.since.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return words.still_failing_since.format(since=since, runs=words.runs(streak.runs))
    return words.change[change]


def repeated_error(entry: TaskReportEntry) -> str:
    """Return the error every attempt failed with, when there were several and all agree."""
    errors = entry.attempt_errors
    if len(errors) > 1 and all(error == errors[0] for error in errors):
        return errors[0]
    return ""


def attempts_said_once(entry: TaskReportEntry, words: Locale) -> str:
    """Return "3 attempts, all: <error>" for a failure that repeated itself, else ""."""
    error = repeated_error(entry)
    if not error:
        return ""
    return words.attempts_all_same.format(
        attempts=words.attempts(len(entry.attempt_errors)), error=error
    )


def skip_note(entry: TaskReportEntry, words: Locale) -> str:
    """Return "skipped: deadline" and the like for a skip the upstream graph does not explain.

    An upstream failure (or no recorded reason) is said by the views' own "because of"
    note, which names the failures to fix; this returns "" for it.
    """
    reason = entry.skip_reason
    if reason is None or reason is SkipReason.UPSTREAM_FAILED:
        return ""
    return words.skipped_for.format(reason=words.skip_reason[reason])


def skipped_by_a_failure(entry: TaskReportEntry) -> bool:
    """Tell whether a task was skipped because an upstream task failed (or of no known reason).

    Reports written before skips had a reason hold only such skips. Fail-fast, the
    deadline, an interruption or an unmet ``any_failed`` condition are not a failure's doing.
    """
    return entry.status is TaskStatus.SKIPPED and (
        entry.skip_reason is None or entry.skip_reason is SkipReason.UPSTREAM_FAILED
    )


def skip_roots(entry: TaskReportEntry, roots: tuple[str, ...]) -> tuple[str, ...]:
    """The failures that stopped a skipped task: from the graph, else its ``skip_cause``."""
    if roots or entry.skip_reason not in (None, SkipReason.UPSTREAM_FAILED):
        return roots
    return (entry.skip_cause,) if entry.skip_cause else ()


def stop_note(report: ProcessExecutionReport, words: Locale) -> str:
    """Return the sentence saying why the run stopped early, or "" when it did not."""
    stopped_by: StopReason | None = report.stopped_by
    return words.stopped_by[stopped_by] if stopped_by is not None else ""


#: Crashed runs said one by one; past one more than this, the rest are counted.
MAX_CRASHES_SAID = 5
#: Running tasks named in a crash's sentence before "and N more", and their length.
MAX_RUNNING_NAMED = 3
_RUNNING_NAME_CHARS = 100


def crash_notes(report: ProcessExecutionReport, words: Locale, *, times: bool = True) -> list[str]:
    """Say each earlier run this one found dead and closed: one plain-text sentence each.

    "The previous run 20261205T021500Z-1a2b3c4d (started 2026-12-05 02:15:00 UTC) died
    after 3 of 8 tasks, during load_db." ``times=False`` leaves out the start time, for
    views that show none. Past ``MAX_CRASHES_SAID`` runs the rest are counted in one
    more sentence; empty when the run closed none.
    """
    crashes = report.crashes
    said = crashes if len(crashes) <= MAX_CRASHES_SAID + 1 else crashes[:MAX_CRASHES_SAID]
    earlier = len(crashes) > 1
    notes = [crash_note(crash, words, earlier=earlier, times=times) for crash in said]
    if hidden := len(crashes) - len(said):
        notes.append(words.crash_more.format(n=words.number(hidden)))
    return notes


def crash_note(
    crash: CrashedRun, words: Locale, *, earlier: bool = False, times: bool = True
) -> str:
    """Say one crashed run: "The previous run …", or "An earlier run …" with ``earlier``."""
    lead = words.crash_earlier if earlier else words.crash_previous
    who = lead.format(run=crash.run_id)
    if times and crash.started_at is not None:
        who += words.crash_started.format(time=format_time(crash.started_at))
    if not crash.running and not crash.tasks_finished:
        return words.crash_before.format(who=who)
    done = words.crash_done_one if crash.tasks_total == 1 else words.crash_done_many
    done = done.format(
        finished=words.number(crash.tasks_finished), total=words.number(crash.tasks_total)
    )
    if not crash.running:
        return words.crash_between.format(who=who, done=done)
    running = list_names(
        crash.running,
        most=MAX_RUNNING_NAMED,
        show=lambda name: cut(name, _RUNNING_NAME_CHARS),
        more=words.and_more,
    )
    return words.crash_during.format(who=who, done=done, running=running)


def reuse_note(entry: TaskReportEntry, words: Locale) -> str:
    """Return "reused" for a task taken from the resumed run, or why it ran again."""
    if entry.reused:
        return words.reused
    if entry.rerun_reason:
        return words.ran_again.format(reason=entry.rerun_reason)
    return ""
