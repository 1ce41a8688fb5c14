"""The run history: every run of a process recorded in one SQLite file (SPEC §12).

``RunHistory`` is the entry point, a thin shell over the package's modules (``connection``,
``schema``, ``stored``, ``keeping``, ``changes``, ``recording``, ``queries``). Recording
never breaks a run: a history that cannot be written costs one ``UserWarning``. Imports
the report and its values only (``to_html`` the page's renderer, a floor below, when it
is called); ``process`` hands it each run as the run ends.
"""

from __future__ import annotations

import os
import sqlite3
import warnings
from dataclasses import replace
from datetime import UTC
from datetime import datetime as _datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from processes.checks import check_count, check_flag, check_number, check_seconds, check_type
from processes.history import queries, recording, watch
from processes.history.connection import HistoryConnection
from processes.history.crashes import is_live
from processes.history.errors import RunHistoryError
from processes.history.errors import cause as _cause
from processes.history.keeping import restored
from processes.history.live import LiveRun
from processes.history.queries import ProcessGrid, RunSummary, TaskStats
from processes.history.stored import decode_report, fingerprints_in
from processes.history.watch import Expectation
from processes.report.finding import Finding, FindingKind

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from types import TracebackType

    from processes.report import ProcessExecutionReport

#: The most runs a process may keep: SQLite counts rows in 64 bits, far past this.
_MOST_RUNS = 2**31

__all__ = [
    "Expectation",
    "Finding",
    "FindingKind",
    "Resumable",
    "RunHistory",
    "RunHistoryError",
    "RunSummary",
    "TaskStats",
]


class Resumable(NamedTuple):
    """What ``RunHistory.resumable()`` reads of a run, for a run resuming it."""

    report: ProcessExecutionReport
    results: dict[str, Any]
    reasons: dict[str, str]
    fingerprints: dict[str, str]


class RunHistory:
    """The runs of one or more processes, kept in one SQLite file next to the script.

    Examples:
        >>> history = RunHistory("nightly.db")
        >>> report = process.run(history=history)   # recorded; report.changes filled
        >>> history.runs(limit=5)                   # newest first

    The file is created when missing; several processes may record into it at once (WAL
    mode; a writer waits up to ``timeout_seconds`` for another). Each process name keeps
    its newest ``keep_runs`` runs. Results that are JSON-native are always kept for
    ``run(resume=...)``; others are pickled with ``store_results=True`` when at most
    ``max_result_bytes``. Unpickling runs code: open only history files you trust.
    ``path`` may also be a ``file:`` URI (``"file:runs.db?mode=ro"`` opens it read-only).
    Reading (``runs()``, ``report()``, ``to_html()``...) never writes to the file: a
    missing or empty one reads as no runs, an older one is upgraded by the first run
    recorded into it, and a folder the reader cannot write is no obstacle (SPEC §17).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        keep_runs: int = 1000,
        store_results: bool = False,
        max_result_bytes: int = 1_000_000,
        timeout_seconds: float = 10.0,
        checkpoint_seconds: float = 1.0,
        heartbeat_seconds: float = 30.0,
        stale_seconds: float = 300.0,
    ) -> None:
        check_type("path", path, (str, os.PathLike), owner="RunHistory", what="a str or a path")
        check_count("keep_runs", keep_runs, owner="RunHistory", minimum=1, maximum=_MOST_RUNS)
        check_count("max_result_bytes", max_result_bytes, owner="RunHistory", minimum=0)
        check_number("timeout_seconds", timeout_seconds, owner="RunHistory", minimum=0)
        check_flag("store_results", store_results, owner="RunHistory")
        self.path = _usable(os.fspath(path))
        self.keep_runs = keep_runs
        self.store_results = bool(store_results)
        self.max_result_bytes = max_result_bytes
        self.timeout_seconds = float(timeout_seconds)
        check_seconds("checkpoint_seconds", checkpoint_seconds, owner="RunHistory")
        self.checkpoint_seconds = float(checkpoint_seconds)
        check_seconds("heartbeat_seconds", heartbeat_seconds, owner="RunHistory")
        self.heartbeat_seconds = float(heartbeat_seconds)
        check_seconds("stale_seconds", stale_seconds, owner="RunHistory")
        self.stale_seconds = float(stale_seconds)
        self._connection = HistoryConnection(self.path, self.timeout_seconds)

    def __repr__(self) -> str:
        return f"RunHistory({self.path!r})"

    def close(self) -> None:
        """Close the file; the history cannot be used afterwards."""
        self._connection.close()

    def __enter__(self) -> RunHistory:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- recording ------------------------------------------------------------------------

    def begin(
        self,
        run_id: str,
        process_name: str,
        started_at: datetime,
        names: Sequence[str],
        fingerprints: Sequence[str] = (),
    ) -> LiveRun | None:
        """Write a run that starts now, and start recording it as it goes (§13).

        First closes the runs of ``process_name`` whose process died (their end is written
        once; the returned recorder's ``crashes`` names them). ``Process.run`` calls it;
        ``record(..., live=...)`` ends the run. Never raises for the file: when it cannot
        be written, one ``UserWarning``, and None (the run is not recorded).
        """
        try:
            with self._connection.writing() as connection:
                run, crashes = recording.begin(
                    connection,
                    run_id,
                    process_name,
                    started_at,
                    names,
                    fingerprints,
                    keep_runs=self.keep_runs,
                    stale_seconds=self.stale_seconds,
                )
        except Exception as exc:  # a run must never break on its history
            self._warn_not_recorded(exc, run_id)
            return None
        live = LiveRun(
            self._connection,
            run,
            started_at,
            crashes,
            names,
            fingerprints,
            checkpoint_seconds=self.checkpoint_seconds,
            heartbeat_seconds=self.heartbeat_seconds,
            store_results=self.store_results,
            max_result_bytes=self.max_result_bytes,
        )
        live.start()
        return live

    def record(
        self,
        report: ProcessExecutionReport,
        results: Sequence[Any] | None = None,
        live: LiveRun | None = None,
        *,
        wait_seconds: float | None = None,
    ) -> ProcessExecutionReport:
        """Record a finished run; return the report with ``changes`` and ``streaks``.

        ``results`` are the raw results of the run's tasks, in the order of
        ``report.entries`` (only those of SUCCEEDED tasks are read); ``Process.run``
        hands them over, and ``live``, the run as ``begin`` started recording it;
        ``wait_seconds`` bounds the wait for another writer (what is left of the run's
        deadline), if shorter than ``timeout_seconds``. Never
        raises for the file: when it cannot be written, one ``UserWarning`` names it and
        the cause, and the report is returned as given.
        """
        run, written = None, dict[str, int]()
        fingerprints: Sequence[str] = ()
        if live is not None:
            live.stop()
            run, written, fingerprints = live.run, live.written, live.fingerprints
            report = replace(report, crashes=live.crashes)
        try:
            with self._connection.writing(wait_seconds) as connection:
                return recording.record(
                    connection,
                    report,
                    results,
                    keep_runs=self.keep_runs,
                    store_results=self.store_results,
                    max_result_bytes=self.max_result_bytes,
                    run=run,
                    written=written,
                    fingerprints=fingerprints,
                )
        except Exception as exc:  # a run must never break on its history
            self._warn_not_recorded(exc, report.run_id, wait_seconds)
            return report

    def _warn_not_recorded(
        self, exc: Exception, run_id: str, wait_seconds: float | None = None
    ) -> None:
        cause = _cause(exc)
        if isinstance(exc, sqlite3.IntegrityError) and "runs.run_id" in cause:
            cause = f"the run {run_id!r} is in the history already"
        if "database is locked" in cause:
            waited = self.timeout_seconds if wait_seconds is None else wait_seconds
            held = f"another connection held it for more than {waited:g} s"
            if wait_seconds is not None and wait_seconds < self.timeout_seconds:
                held += ", what was left of the run's deadline"
            cause += f" ({held})"
        warnings.warn(
            f"the run was not recorded in the history {self.path}: {cause}",
            UserWarning,
            stacklevel=3,
        )

    # -- reading --------------------------------------------------------------------------

    def runs(self, process_name: str | None = None, limit: int | None = 20) -> list[RunSummary]:
        """Return the recorded runs, newest first: of ``process_name`` only, if given.

        ``limit=None`` returns them all.
        """
        count = -1 if limit is None else int(limit)
        with self._connection.reading() as connection:
            return queries.runs(connection, process_name, count, self.stale_seconds)

    def report(self, run_id: str) -> ProcessExecutionReport:
        """Return the report of run ``run_id``, as recorded.

        Raises:
            LookupError: no run of that id is in this history.
        """
        with self._connection.reading() as connection:
            run, text = queries.run_row(connection, "id, report", run_id, self.path)
            return self._decoded(connection, run, text)

    def _decoded(
        self, connection: sqlite3.Connection, run: int, text: str
    ) -> ProcessExecutionReport:
        """Run ``run``'s report from its row: as recorded, or as far as it got (§13)."""
        if is_live(text):
            return queries.live_run_report(connection, run, self.stale_seconds)
        return decode_report(text, queries.task_rows(connection, run))

    def last(self, process_name: str) -> ProcessExecutionReport | None:
        """Return the newest recorded report of ``process_name``, or None."""
        with self._connection.reading() as connection:
            row = queries.last_run_row(connection, process_name)
            if row is None:
                return None
            return self._decoded(connection, *row)

    def results(self, run_id: str) -> tuple[dict[str, Any], dict[str, str]]:
        """Return the results of run ``run_id``'s SUCCEEDED tasks that can be restored, by
        task name, and for the others why not.

        Pickled results are unpickled here: only from a history file you trust.

        Raises:
            LookupError: no run of that id is in this history.
        """
        with self._connection.reading() as connection:
            run, text = queries.run_row(connection, "id, report", run_id, self.path)
            tasks = queries.task_rows(connection, run)
            shown, kept = queries.stored_results(connection, run, text, tasks)
        return restored(shown, kept, unpickle=self.store_results)

    def report_and_results(
        self, run_id: str
    ) -> tuple[ProcessExecutionReport, dict[str, Any], dict[str, str]]:
        """Return ``report(run_id)`` and the two dicts of ``results(run_id)``, read in one
        transaction: what a resumed run takes from run ``run_id``, as one state of the file
        whatever another process records or forgets meanwhile (the same errors as theirs).
        """
        report, results, reasons, _ = self.resumable(run_id)
        return report, results, reasons

    def resumable(self, run_id: str) -> Resumable:
        """What a run resuming run ``run_id`` takes over, read in one transaction: its
        report, its restored results and why others could not be restored (as
        ``report_and_results``), and its tasks' fingerprints by name (§12)."""
        with self._connection.reading() as connection:
            run, text = queries.run_row(connection, "id, report", run_id, self.path)
            tasks = queries.task_rows(connection, run)
            report = self._decoded(connection, run, text)
            shown, kept = queries.stored_results(connection, run, text, tasks)
            fingerprints = fingerprints_in(text)
        return Resumable(report, *restored(shown, kept, unpickle=self.store_results), fingerprints)

    def task_stats(self, process_name: str, task_name: str) -> TaskStats:
        """Return how task ``task_name`` fared over the recorded runs of ``process_name``.

        Reads every task row of those runs (there is no index by task name: keeping one
        would slow every record down): about 0.1 s for 1,000 runs of 1,000 tasks.
        """
        with self._connection.reading() as connection:
            return queries.task_stats(connection, process_name, task_name)

    def grids(self, process_name: str | None = None, limit: int = 50) -> list[ProcessGrid]:
        """Return, for each process (``process_name`` only, if given), its newest ``limit``
        runs by its tasks (a mapped task one cell per run, its items counted) and the runs
        ``check()`` found missing among them, read in one transaction: what ``to_html()``
        shows."""
        check_count("limit", limit, owner="RunHistory.grids", minimum=1)
        with self._connection.reading() as connection:
            return queries.grids(connection, process_name, limit, self.stale_seconds)

    def to_html(
        self, process_name: str | None = None, limit: int = 50, *, run_pages: str | None = None
    ) -> str:
        """Return the history as one standalone HTML page (SPEC §16): for each process, its
        last ``limit`` runs (columns, newest on the right) and the runs ``check()`` found
        missing among them, by its tasks (rows), each cell the task's status in that run;
        nothing in it is fetched from anywhere.

        With ``run_pages`` (a folder, relative to where the page will be), each run's id
        links to ``<run_pages>/<name>``, ``name`` being
        ``processes.rendering.history_page.run_page_name(run_id)``: write each run's
        ``report(run_id).to_html()`` there (as ``python -m processes history FILE.db
        --html OUT.html`` does). Without it, the page links to nothing.

        Reads the file in one transaction and never writes to it.
        """
        from processes.rendering.history_page import render_history_page

        check_count("limit", limit, owner="RunHistory.to_html", minimum=1)
        grids = self.grids(process_name, limit)
        return render_history_page(grids, limit=limit, run_pages=run_pages)

    # -- the watch (§14) ------------------------------------------------------------------

    def check(self, *expectations: Expectation, now: datetime | None = None) -> list[Finding]:
        """Return what is wrong with the runs ``expectations`` describe, each finding once.

        MISSED (no run started within ``every + grace`` of the previous start), CRASHED
        (its process died: the run is closed as the next run would close it), OVERDUE
        (running for longer than ``max_runtime``), TOO_LONG / TOO_SHORT (ended after
        more than ``max_runtime``, or an ok run in less than ``min_runtime``), BACK (a
        run started after a reported MISSED or OVERDUE). The file remembers what was
        reported: the next check returns only what is new. ``now`` (an aware datetime)
        places the check in time, for tests and backfills; runs started after it are not
        seen. Raises ``RunHistoryError`` when the file cannot be read or written.
        """
        for expectation in expectations:
            check_type("expectation", expectation, Expectation, owner="RunHistory.check")
        if now is None:
            now = _now()
        elif not isinstance(now, _datetime) or now.tzinfo is None:
            raise TypeError("RunHistory.check now must be an aware datetime")
        try:
            with self._connection.writing() as connection:
                return watch.check(
                    connection,
                    expectations,
                    now,
                    stale_seconds=self.stale_seconds,
                    keep_runs=self.keep_runs,
                )
        except sqlite3.Error as exc:
            raise RunHistoryError(f"{self.path}: cannot check the run history ({exc})") from exc

    def process_names(self) -> list[str]:
        """Return the names of the processes that have recorded runs, sorted."""
        with self._connection.reading() as connection:
            return queries.process_names(connection)


def _now() -> _datetime:
    return _datetime.now(UTC)


def _usable(path: str) -> str:
    """``path``, its folder created if missing; a ``RunHistoryError`` naming the path and
    the cause when it cannot hold a history (a folder, or a folder that cannot be made),
    raised now rather than as a warning after the run (§17). A ``file:`` URI is SQLite's."""
    if path.startswith("file:"):
        return path
    if os.path.isdir(path):
        raise RunHistoryError(f"RunHistory({path!r}): a folder, not a file: name the file in it")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise RunHistoryError(
            f"RunHistory({path!r}): its folder {folder!r} cannot be made ({_cause(exc)})"
        ) from exc
    return path
