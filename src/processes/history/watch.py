"""The watch (SPEC §14): what the history says of runs that did not happen, hung, died, or
ran too long or too short, each finding reported once.

The judging is pure (``judge`` over ``Seen`` runs, no SQLite); ``check`` reads the file,
closes crashed runs as the next run would, and remembers what it reported. Imports the
package's crashes, recording and stored format, ``report.finding`` and
``rendering.findings`` (the finding's English sentence).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from processes.checks import check_text
from processes.history.crashes import live_rows
from processes.history.recording import close_crashed
from processes.history.stored import parse_time
from processes.outcome import StopReason
from processes.rendering.findings import finding_sentence
from processes.report.finding import Finding, FindingKind

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Mapping, Sequence

__all__ = ["USUAL", "Expectation", "Seen", "check", "judge", "usual_seconds"]

#: The bound ``max_runtime``/``min_runtime`` take from the recorded runs.
USUAL = "usual"
#: "usual" is the median of this many ok runs before the one judged ...
USUAL_RUNS = 20
#: ... and is not used before this many exist.
USUAL_FEWEST = 5
#: The bounds "usual" sets: this many times the median, and the median divided by it.
USUAL_FACTOR = 3.0
#: The runs of a process read by a check: enough for the runs judged and their "usual".
_RUNS_READ = 200
#: The runs judged by a check after the first (the first judges the newest only).
_RUNS_JUDGED = 20
_WATCHING = "watching"  # the row of a process's first and last check


def _seconds(field: str, value: object, *, usual: bool = False) -> float | str | None:
    if value is None:
        return None
    if usual and value == USUAL:
        return USUAL
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        what = "a timedelta, seconds or 'usual'" if usual else "a timedelta or seconds"
        raise TypeError(f"Expectation {field} must be {what}; got {type(value).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"Expectation {field} must be finite and not negative; got {value!r}")
    return seconds


@dataclass(frozen=True, slots=True, init=False)
class Expectation:
    """How often a process runs, and for how long: what ``RunHistory.check()`` holds the
    history to.

    ``every`` and ``grace`` are a ``timedelta`` or seconds: a run is missed when none
    started within ``every + grace`` after the previous one started. ``max_runtime`` and
    ``min_runtime`` bound a run's duration; ``"usual"`` means 3 x (or a third of) the
    median of the last 20 ok runs before it, not checked before 5 ok runs exist.

    Examples:
        >>> Expectation("nightly-etl", timedelta(days=1), grace=timedelta(hours=1),
        ...             max_runtime="usual", min_runtime="usual")
    """

    process_name: str
    every: float
    grace: float
    max_runtime: float | str | None
    min_runtime: float | str | None

    def __init__(
        self,
        process_name: str,
        every: timedelta | float,
        *,
        grace: timedelta | float = 0,
        max_runtime: timedelta | float | str | None = None,
        min_runtime: timedelta | float | str | None = None,
    ) -> None:
        check_text("process_name", process_name, owner="Expectation")
        every_seconds = _seconds("every", every)
        if not every_seconds:
            raise ValueError(f"Expectation every must be more than 0; got {every!r}")
        set_ = object.__setattr__
        set_(self, "process_name", process_name)
        set_(self, "every", every_seconds)
        set_(self, "grace", _seconds("grace", grace) or 0.0)
        set_(self, "max_runtime", _seconds("max_runtime", max_runtime, usual=True))
        set_(self, "min_runtime", _seconds("min_runtime", min_runtime, usual=True))


@dataclass(frozen=True, slots=True)
class Seen:
    """A run as the watch sees it at the check's ``now``: ``finished_at`` None while it
    runs (or ran on past ``now``); ``crashed`` when its process died (§13)."""

    run_id: str
    started_at: datetime
    finished_at: datetime | None
    ok: bool
    crashed: bool = False

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def outcome(self) -> str:
        if self.crashed:
            return "crashed"
        if self.finished_at is None:
            return "running"
        return "ok" if self.ok else "failed"


def usual_seconds(runs: Sequence[Seen]) -> float | None:
    """The median duration of the last ``USUAL_RUNS`` ok runs of ``runs`` (oldest first),
    or None before ``USUAL_FEWEST`` ok runs exist."""
    durations = [
        seconds
        for run in runs
        if run.ok and not run.crashed and (seconds := run.seconds) is not None
    ][-USUAL_RUNS:]
    if len(durations) < USUAL_FEWEST:
        return None
    return statistics.median(durations)


def _bound(value: float | str | None, usual: float | None, *, longest: bool) -> float | None:
    if value != USUAL:
        return value if isinstance(value, float) else None
    if usual is None:
        return None
    return usual * USUAL_FACTOR if longest else usual / USUAL_FACTOR


def _found(
    kind: FindingKind,
    expectation: Expectation,
    since: datetime,
    now: datetime,
    *,
    run: Seen | None,
    subject: Seen | None = None,
    usual: float | None = None,
    limit: float | None = None,
) -> Finding:
    finding = Finding(
        kind,
        expectation.process_name,
        subject.run_id if subject is not None else None,
        since,
        "",
        last_run_id=run.run_id if run else None,
        last_started_at=run.started_at if run else None,
        last_outcome=run.outcome if run else None,
        last_seconds=run.seconds if run else None,
        usual_seconds=usual,
        limit_seconds=limit,
        checked_at=now,
    )
    return replace(finding, message=finding_sentence(finding))


def _judge_run(
    expectation: Expectation, runs: Sequence[Seen], index: int, now: datetime
) -> list[tuple[str, Finding]]:
    """What is wrong with ``runs[index]``: CRASHED, OVERDUE, TOO_LONG or TOO_SHORT."""
    run = runs[index]
    usual = usual_seconds(runs[:index])

    def found(kind: FindingKind, since: datetime, limit: float | None = None) -> Finding:
        return _found(kind, expectation, since, now, run=run, subject=run, usual=usual, limit=limit)

    if run.crashed:
        return [(run.run_id, found(FindingKind.CRASHED, run.finished_at or run.started_at))]
    longest = _bound(expectation.max_runtime, usual, longest=True)
    shortest = _bound(expectation.min_runtime, usual, longest=False)
    seconds = run.seconds
    late = run.started_at + timedelta(seconds=longest) if longest is not None else None
    if seconds is None:
        if late is not None and now > late:
            return [(run.run_id, found(FindingKind.OVERDUE, late, longest))]
        return []
    if late is not None and seconds > longest:  # type: ignore[operator]
        return [(run.run_id, found(FindingKind.TOO_LONG, late, longest))]
    if shortest is not None and run.ok and seconds < shortest:
        return [(run.run_id, found(FindingKind.TOO_SHORT, run.finished_at or now, shortest))]
    return []


def _missed(
    expectation: Expectation, runs: Sequence[Seen], first_checked: datetime, now: datetime
) -> list[tuple[str, Finding]]:
    """MISSED: no run started within ``every + grace`` after the previous one started
    (after the first check, before any run)."""
    previous = runs[-1] if runs else None
    due = (previous.started_at if previous else first_checked) + timedelta(
        seconds=expectation.every
    )
    if now <= due + timedelta(seconds=expectation.grace):
        return []
    usual = usual_seconds(runs)
    finding = _found(FindingKind.MISSED, expectation, due, now, run=previous, usual=usual)
    return [(previous.run_id if previous else "", finding)]


def _back(
    expectation: Expectation,
    runs: Sequence[Seen],
    reported: Mapping[tuple[str, str], datetime],
    now: datetime,
) -> list[tuple[str, Finding]]:
    """BACK: a run started after a reported MISSED or OVERDUE."""
    starts = {run.run_id: run.started_at for run in runs}
    backs = []
    for (kind, subject), since in reported.items():
        if kind not in (FindingKind.MISSED.value, FindingKind.OVERDUE.value):
            continue
        key = f"{kind}:{subject}"
        if (FindingKind.BACK.value, key) in reported:
            continue
        # The run the problem followed; forgotten (or none yet): due - every.
        anchor = starts.get(subject)
        if anchor is None:
            anchor = since - timedelta(seconds=expectation.every)
        again = next((run for run in runs if run.started_at > anchor), None)
        if again is not None:
            finding = _found(
                FindingKind.BACK,
                expectation,
                since,
                now,
                run=again,
                subject=again,
                usual=usual_seconds([run for run in runs if run.started_at < again.started_at]),
            )
            backs.append((key, finding))
    return backs


def judge(
    expectation: Expectation,
    runs: Sequence[Seen],
    reported: Mapping[tuple[str, str], datetime],
    *,
    first_checked: datetime,
    now: datetime,
    judged: int,
) -> list[tuple[str, Finding]]:
    """What the watch finds at ``now``, each with its subject (what makes it the same
    finding next time), leaving out what ``reported`` holds (``(kind, subject)`` ->
    since). ``runs`` are the process's runs started by ``now``, oldest first; the last
    ``judged`` of them are judged one by one. Pure: no SQLite."""
    found: list[tuple[str, Finding]] = []
    start = max(0, len(runs) - judged)
    for index in range(start, len(runs)):
        for subject, finding in _judge_run(expectation, runs, index, now):
            # A run reported OVERDUE is not told again as TOO_LONG when it ends.
            if finding.kind is FindingKind.TOO_LONG and (
                (FindingKind.OVERDUE.value, subject) in reported
            ):
                continue
            found.append((subject, finding))
    found += _missed(expectation, runs, first_checked, now)
    found += _back(expectation, runs, reported, now)
    return [
        (subject, finding)
        for subject, finding in found
        if (finding.kind.value, subject) not in reported
    ]


# -- the file ---------------------------------------------------------------------------


def check(
    connection: sqlite3.Connection,
    expectations: Sequence[Expectation],
    now: datetime,
    *,
    stale_seconds: float,
    keep_runs: int,
) -> list[Finding]:
    """Check ``expectations`` at ``now`` in one write transaction: close the crashed runs,
    judge, remember what was found. Two watches at once report each finding once: the
    second waits for the first, then finds it remembered."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        findings: list[Finding] = []
        for expectation in expectations:
            findings += _check_one(connection, expectation, now, stale_seconds, keep_runs)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return findings


def _check_one(
    connection: sqlite3.Connection,
    expectation: Expectation,
    now: datetime,
    stale_seconds: float,
    keep_runs: int,
) -> list[Finding]:
    name = expectation.process_name
    closed = set()
    for row in live_rows(connection, name):
        seen = row.started_at is not None and row.started_at <= now
        if seen and row.has_crashed(stale_seconds, now):
            close_crashed(connection, row, keep_runs)
            closed.add(row.run_id)
    runs = _seen(connection, name, now)
    reported = {
        (kind, subject): parse_time(since) or now
        for kind, subject, since in connection.execute(
            "SELECT kind, subject, since FROM findings WHERE process_name = ?", (name,)
        )
    }
    watching = reported.pop((_WATCHING, ""), None)
    # The first check judges the newest run, and every run it closed: never closed unsaid.
    judged = _RUNS_JUDGED if watching is not None else 1
    for index, run in enumerate(runs):
        if run.run_id in closed:
            judged = max(judged, len(runs) - index)
            break
    found = judge(
        expectation, runs, reported, first_checked=watching or now, now=now, judged=judged
    )
    stamp = now.isoformat()
    connection.executemany(
        "INSERT OR IGNORE INTO findings VALUES (?, ?, ?, ?, ?)",
        [(name, f.kind.value, subject, f.since.isoformat(), stamp) for subject, f in found]
        + [(name, _WATCHING, "", stamp, stamp)],
    )
    connection.execute(
        "UPDATE findings SET reported_at = ? WHERE process_name = ? AND kind = ?",
        (stamp, name, _WATCHING),
    )
    return [finding for _, finding in found]


def _seen(connection: sqlite3.Connection, process_name: str, now: datetime) -> list[Seen]:
    """The newest runs of ``process_name`` started by ``now``, oldest first, as at ``now``."""
    rows = connection.execute(
        "SELECT run_id, started_at, finished_at, ok, stopped_by FROM runs"
        " WHERE process_name = ? ORDER BY id DESC LIMIT ?",
        (process_name, _RUNS_READ),
    ).fetchall()
    runs = []
    for run_id, started_text, finished_text, ok, stopped_by in reversed(rows):
        started, finished = parse_time(started_text), parse_time(finished_text)
        if started is None or started > now:
            continue  # not seen: a check placed before it started
        crashed = stopped_by == StopReason.CRASHED.value
        if finished is not None and finished > now and not crashed:
            finished = None  # still running at ``now``
        runs.append(Seen(run_id, started, finished, bool(ok) and finished is not None, crashed))
    return runs
