"""The run history: every run of a process recorded in one SQLite file (SPEC §12).

Recording computes what changed since the previous run of the same process name and
never breaks a run: a history that cannot be written costs one ``UserWarning``. Imports
the report and its values only; ``process`` hands it each run as the run ends.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import pickle
import sqlite3
import sys
import threading
import time
import warnings
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any

from processes.errors import ProcessesError
from processes.outcome import FailureStreak, StopReason, TaskChange, TaskStatus
from processes.redaction import REDACTED, Redactor
from processes.report import (
    LONGEST_JSON_INT_BITS,
    MAX_JSON_DEPTH,
    ProcessExecutionReport,
    TaskReportEntry,
    entry_to_dict,
    jsonable,
    report_from_dict,
)
from processes.saferepr import safe_repr

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from types import TracebackType

__all__ = ["RunHistory", "RunHistoryError", "RunSummary", "TaskStats"]

#: The schema this code writes. Version 1 kept no host, pid, argv, stop reason, failure
#: streaks or results; version 2 kept a task's streak, position and start time in its
#: ``tasks`` row; version 3 keyed the ``tasks`` rows by run and name. Opening an older
#: file upgrades it in place (``_MIGRATIONS``).
SCHEMA_VERSION = 4
#: The format of the ``runs.report`` column this code writes: 5 writes the plain entries
#: as columns, a list per field (4: a list per entry), their times in microseconds from
#: the run's start (3: from 1970), and leaves their status, attempts and elapsed time to
#: their ``tasks`` rows. Version 1 stored ``report.to_json()``, 2 whole rows; all five
#: are read.
REPORT_FORMAT = 5

_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    process_name TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    ok INTEGER NOT NULL,
    succeeded INTEGER NOT NULL,
    errored INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    host TEXT NOT NULL DEFAULT '',
    pid INTEGER,
    argv TEXT NOT NULL DEFAULT '[]',
    stopped_by TEXT,
    report TEXT NOT NULL
);
CREATE INDEX runs_by_process ON runs (process_name, id);
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    elapsed_seconds REAL NOT NULL
);
CREATE TABLE streaks (
    run INTEGER NOT NULL,
    name TEXT NOT NULL,
    runs INTEGER NOT NULL,
    since TEXT NOT NULL,
    PRIMARY KEY (run, name)
) WITHOUT ROWID;
CREATE TABLE results (
    run INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    value BLOB,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run, name)
);
"""

_V1_TO_V2 = """
ALTER TABLE runs ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN argv TEXT NOT NULL DEFAULT '[]';
ALTER TABLE runs ADD COLUMN stopped_by TEXT;
ALTER TABLE tasks ADD COLUMN started_at_us INTEGER;
ALTER TABLE tasks ADD COLUMN failing_runs INTEGER;
ALTER TABLE tasks ADD COLUMN failing_since TEXT;
CREATE INDEX tasks_failing ON tasks (run) WHERE failing_runs IS NOT NULL;
CREATE TABLE results (
    run INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    value BLOB,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run, name)
);
"""

# Streaks move to a table of their own (a row per failing task, not a column of every
# task's row), and a task's row keeps only what its statistics read: each row costs less
# to write (SQLite rebuilds a table to drop columns: the rows are copied across).
_V2_TO_V3 = """
CREATE TABLE streaks (
    run INTEGER NOT NULL,
    name TEXT NOT NULL,
    runs INTEGER NOT NULL,
    since TEXT NOT NULL,
    PRIMARY KEY (run, name)
) WITHOUT ROWID;
INSERT INTO streaks SELECT run, name, failing_runs,
    coalesce(failing_since, (SELECT started_at FROM runs WHERE runs.id = tasks.run), '')
    FROM tasks WHERE failing_runs IS NOT NULL;
CREATE TABLE tasks_v3 (
    run INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    elapsed_seconds REAL NOT NULL,
    PRIMARY KEY (run, name)
) WITHOUT ROWID;
INSERT INTO tasks_v3 SELECT run, name, status, attempts, elapsed_seconds FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_v3 RENAME TO tasks
"""

# A task's row is found by its id, ``run << 32`` plus its position in the run: a run's rows
# are added in order, each after the last, where rows keyed by run and name went in
# unsorted within their run's part of the table (a third more per row, and pages split
# and left part empty). A migrated run's rows are numbered in the order of their names
# (``_migrate_v3_to_v4``): their reports keep the order of the tasks.
_V4_TASKS = """
CREATE TABLE tasks_v4 (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    elapsed_seconds REAL NOT NULL
)
"""

_PAGE_BYTES = 16384  # SQLite's default is 4096
#: Rows per INSERT statement when a run's ``tasks`` rows are written: one statement of
#: many rows costs about a third less per row than a statement per row (fewer trips
#: through SQLite's virtual machine and the GIL). 100 rows of the table's 6 values stay
#: under the 999 variables a statement may have in SQLite before 3.32.
_TASK_ROWS_PER_INSERT = 100
_TASK_COLUMNS = 6  # id, run, name, status, attempts, elapsed_seconds
#: A task's id is its run's id shifted by this many bits, plus its position in the run:
#: room for 2**32 tasks per run and 2**31 runs per file, more than SQLite would hold.
_POSITION_BITS = 32

_RUN_COLUMNS = (
    "run_id, process_name, started_at, finished_at, ok, succeeded, errored, skipped, "
    "host, pid, argv, stopped_by"
)
_RESULT_JSON = "json"  # the value is the entry's result in the stored report
_RESULT_PICKLE = "pickle"
_RESULT_NONE = "none"  # not kept; ``reason`` says why
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
_ALWAYS_EXACT_IN_JSON = frozenset({str, bool, type(None)})  # an int or float may not be
_NOT_JSON = "not JSON-native: create RunHistory(..., store_results=True) to keep it"
_HIDDEN = "hidden as a secret"
_UNCHECKED = "too big to check for secrets (the report shows it cut), so not kept"
_NOT_HANDED = "its result was not handed to the history"
_ARGV_REDACTOR = Redactor()


class RunHistoryError(ProcessesError):
    """A history that cannot be read: missing tables, a newer schema, a corrupt file."""


class _MissingRows(Exception):
    """A stored report names a task that has no ``tasks`` row (deleted by hand)."""

    def __init__(self, run_id: object, name: str) -> None:
        super().__init__(
            f"the run {run_id!r} has no tasks row for its task {name!r}"
            " (were rows deleted by hand?)"
        )


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One recorded run, as ``RunHistory.runs()`` lists it (the report stays in the file)."""

    run_id: str
    process_name: str
    started_at: datetime | None
    finished_at: datetime | None
    ok: bool
    succeeded: int
    errored: int
    skipped: int
    host: str
    pid: int | None
    argv: tuple[str, ...]
    stopped_by: StopReason | None

    @property
    def elapsed_seconds(self) -> float:
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class TaskStats:
    """A task's record over the recorded runs of a process.

    ``runs`` counts the runs where it ran (``succeeded`` + ``failures``); the runs where
    it was ``skipped``, or ``reused`` from a resumed run (attempts 0, no time of its own),
    are counted apart, so they do not pull its durations down. ``flaky`` counts the runs
    where it succeeded after retries; the durations are over the runs where it ran, None
    when it never did.
    """

    process_name: str
    task_name: str
    runs: int
    succeeded: int
    failures: int
    skipped: int
    flaky: int
    p50_seconds: float | None
    p95_seconds: float | None
    reused: int = 0


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
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        keep_runs: int = 1000,
        store_results: bool = False,
        max_result_bytes: int = 1_000_000,
        timeout_seconds: float = 10.0,
    ) -> None:
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"RunHistory path must be a str or a path, got {path!r}")
        if isinstance(keep_runs, bool) or not isinstance(keep_runs, int) or keep_runs < 1:
            raise ValueError(f"keep_runs must be a whole number of at least 1, got {keep_runs!r}")
        if isinstance(max_result_bytes, bool) or not isinstance(max_result_bytes, int):
            raise TypeError(f"max_result_bytes must be an int, got {max_result_bytes!r}")
        if not isinstance(timeout_seconds, int | float) or not timeout_seconds >= 0:
            raise ValueError(f"timeout_seconds must be 0 or more, got {timeout_seconds!r}")
        self.path = os.fspath(path)
        self.keep_runs = keep_runs
        self.store_results = bool(store_results)
        self.max_result_bytes = max_result_bytes
        self.timeout_seconds = float(timeout_seconds)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._connection_pid = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"RunHistory({self.path!r})"

    # -- the connection ---------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """The open connection (one per OS process), the schema ready; under ``_lock``."""
        if self._closed:
            raise RunHistoryError(f"{self} is closed")
        if self._connection is not None and self._connection_pid == os.getpid():
            return self._connection
        # A connection inherited through fork() belongs to the parent: never touched.
        self._connection = None
        connection = sqlite3.connect(
            self.path,
            timeout=self.timeout_seconds,
            isolation_level=None,  # transactions are begun and ended here, explicitly
            check_same_thread=False,  # used under the lock, from any thread
            uri=self.path.startswith("file:"),
        )
        try:
            _prepare(connection, self.timeout_seconds)
        except BaseException:
            connection.close()
            raise
        self._connection, self._connection_pid = connection, os.getpid()
        return connection

    def _drop_connection(self) -> None:
        """Close the connection after an error: the next use opens a fresh one."""
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
        self._connection = None

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one read transaction: a reader that runs several queries
        sees one state of the file, whatever another process records or forgets meanwhile
        (WAL: the writer does not wait for it)."""
        with self._lock:
            try:
                connection = self._connect()
                connection.execute("BEGIN")
                try:
                    yield connection
                finally:
                    if connection.in_transaction:
                        connection.execute("COMMIT")  # a read: nothing to keep or undo
            except sqlite3.Error as exc:
                self._drop_connection()
                raise RunHistoryError(f"{self.path}: cannot read the run history ({exc})") from exc
            except _MissingRows as exc:
                raise RunHistoryError(f"{self.path}: {exc}") from None
            except (ValueError, KeyError, TypeError, IndexError) as exc:  # not LookupError
                raise RunHistoryError(
                    f"{self.path}: a recorded run cannot be read ({_cause(exc)});"
                    " was the file edited by hand?"
                ) from exc

    def close(self) -> None:
        """Close the file; the history cannot be used afterwards."""
        with self._lock:
            if self._connection_pid == os.getpid():
                self._drop_connection()
            self._connection = None
            self._closed = True

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

    def record(
        self, report: ProcessExecutionReport, results: Sequence[Any] | None = None
    ) -> ProcessExecutionReport:
        """Record a finished run; return the report with ``changes`` and ``streaks``.

        ``results`` are the raw results of the run's tasks, in the order of
        ``report.entries`` (only those of SUCCEEDED tasks are read); ``Process.run``
        hands them over. Never raises for the file: when it cannot be written, one
        ``UserWarning`` names it and the cause, and the report is returned as given.
        """
        try:
            with self._lock:
                try:
                    return self._record(self._connect(), report, results)
                except BaseException:
                    self._drop_connection()
                    raise
        except Exception as exc:  # a run must never break on its history
            cause = _cause(exc)
            if isinstance(exc, sqlite3.IntegrityError) and "runs.run_id" in cause:
                cause = f"the run {report.run_id!r} is in the history already"
            if "database is locked" in cause:
                cause += f" (another connection held it for more than {self.timeout_seconds:g} s)"
            warnings.warn(
                f"the run was not recorded in the history {self.path}: {cause}",
                UserWarning,
                stacklevel=2,
            )
            return report

    def _record(
        self,
        connection: sqlite3.Connection,
        report: ProcessExecutionReport,
        results: Sequence[Any] | None,
    ) -> ProcessExecutionReport:
        entries = list(report.entries.values())
        kept = self._results_to_keep(entries, results)
        started = report.started_at.isoformat() if report.started_at else None
        connection.execute("BEGIN IMMEDIATE")
        try:
            changes, streaks, failing = _compare(connection, report, started)
            report = replace(report, changes=changes, streaks=streaks)
            counts = _counts(entries)
            # The run's id is known before its row is written, so that its tasks' rows
            # are built in the same pass as the stored report (AUTOINCREMENT: never reused).
            (run,) = connection.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM sqlite_sequence WHERE name = 'runs'"
            ).fetchone()
            text, task_rows = _encoded(report, run)
            # The oldest runs go first: the new run's rows reuse their pages, which are
            # then written once (deleting after inserting writes twice as much).
            self._forget_old_runs(connection, report.process_name)
            connection.execute(
                "INSERT INTO runs (id, run_id, process_name, started_at, finished_at, ok,"
                " succeeded, errored, skipped, host, pid, argv, stopped_by, report)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run,
                    report.run_id,
                    report.process_name,
                    started,
                    report.finished_at.isoformat() if report.finished_at else None,
                    int(counts[1] == 0 and counts[2] == 0),
                    *counts,
                    report.host,
                    os.getpid(),
                    json.dumps(_masked_argv(_argv())),
                    report.stopped_by.value if report.stopped_by else None,
                    text,
                ),
            )
            _insert_task_rows(connection, task_rows)
            connection.executemany(
                "INSERT INTO streaks VALUES (?, ?, ?, ?)",
                [(run, name, count, since) for name, (count, since) in failing.items()],
            )
            if kept:
                connection.executemany(
                    "INSERT INTO results VALUES (?, ?, ?, ?, ?)",
                    [(run, name, kind, value, reason) for name, kind, value, reason in kept],
                )
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return report

    def _results_to_keep(
        self, entries: list[TaskReportEntry], results: Sequence[Any] | None
    ) -> list[tuple[str, str, bytes | None, str]]:
        """The results rows: a pickle or a reason per SUCCEEDED task whose result is not
        the JSON-native value its entry already holds in the stored report."""
        rows: list[tuple[str, str, bytes | None, str]] = []
        success = TaskStatus.SUCCESS
        if results is None:
            for entry in entries:
                if entry.status is not success:
                    continue
                if not is_json_native(entry.result):
                    rows.append((entry.name, _RESULT_NONE, None, _NOT_HANDED))
                elif _shows_redacted(entry.result):
                    rows.append((entry.name, _RESULT_NONE, None, _HIDDEN))
            return rows
        count, exact = len(results), _ALWAYS_EXACT_IN_JSON
        # The common case first, in one pass (a predicate called per task would cost more
        # than its checks): a SUCCEEDED task needs no row when its entry holds the result
        # itself and JSON keeps it exactly. The others, and a result missing from the
        # end of ``results``, are looked at one by one.
        others = [
            position
            for position, entry in enumerate(entries)
            if entry.status is success
            and not (
                position < count
                and (value := results[position]) is entry.result
                and (
                    (kind := type(value)) in exact
                    or (kind is int and value.bit_length() <= LONGEST_JSON_INT_BITS)
                )
            )
        ]
        for position in others:
            entry = entries[position]
            shown = entry.result
            value = results[position] if position < count else None
            if shown is not value:  # the report shows a scrubbed copy: never kept in clear
                reason = _HIDDEN if _shows_redacted(shown) else _UNCHECKED
                rows.append((entry.name, _RESULT_NONE, None, reason))
            elif is_json_native(value):
                continue
            elif not self.store_results:
                rows.append((entry.name, _RESULT_NONE, None, _NOT_JSON))
            else:
                rows.append((entry.name, *self._pickled(value)))
        return rows

    def _pickled(self, value: Any) -> tuple[str, bytes | None, str]:
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            return _RESULT_NONE, None, f"cannot be pickled: {_cause(exc)}"
        if len(data) > self.max_result_bytes:
            size, cap = _size(len(data)), _size(self.max_result_bytes)
            return _RESULT_NONE, None, f"pickled result is {size}, over the {cap} cap"
        return _RESULT_PICKLE, data, ""

    def _forget_old_runs(self, connection: sqlite3.Connection, process_name: str) -> None:
        """Delete the runs of ``process_name`` that the one being added pushes out."""
        old = [
            row[0]
            for row in connection.execute(
                "SELECT id FROM runs WHERE process_name = ? ORDER BY id DESC LIMIT -1 OFFSET ?",
                (process_name, self.keep_runs - 1),
            )
        ]
        if not old:
            return
        ids = [(run,) for run in old]
        connection.executemany(
            "DELETE FROM tasks WHERE id >= ? AND id < ?", [_ids_of(run) for run in old]
        )
        for table in ("streaks", "results"):
            connection.executemany(f"DELETE FROM {table} WHERE run = ?", ids)
        connection.executemany("DELETE FROM runs WHERE id = ?", ids)

    # -- reading --------------------------------------------------------------------------

    def runs(self, process_name: str | None = None, limit: int | None = 20) -> list[RunSummary]:
        """Return the recorded runs, newest first: of ``process_name`` only, if given.

        ``limit=None`` returns them all.
        """
        count = -1 if limit is None else int(limit)
        with self._reading() as connection:
            if process_name is None:
                rows = connection.execute(
                    f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?", (count,)
                ).fetchall()
            else:
                rows = connection.execute(
                    f"SELECT {_RUN_COLUMNS} FROM runs WHERE process_name = ?"
                    " ORDER BY id DESC LIMIT ?",
                    (process_name, count),
                ).fetchall()
        return [_summary(row) for row in rows]

    def report(self, run_id: str) -> ProcessExecutionReport:
        """Return the report of run ``run_id``, as recorded.

        Raises:
            LookupError: no run of that id is in this history.
        """
        with self._reading() as connection:
            run, text = self._run_row(connection, "id, report", run_id)
            return decode_report(text, _task_rows(connection, run))

    def _run_row(
        self, connection: sqlite3.Connection, columns: str, run_id: str
    ) -> tuple[Any, ...]:
        """The ``columns`` of run ``run_id``; a LookupError naming it when it is not here."""
        row: tuple[Any, ...] | None = connection.execute(
            f"SELECT {columns} FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise LookupError(f"no run {run_id!r} in the history {self.path}")
        return row

    def last(self, process_name: str) -> ProcessExecutionReport | None:
        """Return the newest recorded report of ``process_name``, or None."""
        with self._reading() as connection:
            row = connection.execute(
                "SELECT id, report FROM runs WHERE process_name = ? ORDER BY id DESC LIMIT 1",
                (process_name,),
            ).fetchone()
            if row is None:
                return None
            return decode_report(row[1], _task_rows(connection, row[0]))

    def results(self, run_id: str) -> tuple[dict[str, Any], dict[str, str]]:
        """Return the results of run ``run_id``'s SUCCEEDED tasks that can be restored, by
        task name, and for the others why not.

        Pickled results are unpickled here: only from a history file you trust.

        Raises:
            LookupError: no run of that id is in this history.
        """
        with self._reading() as connection:
            run, text = self._run_row(connection, "id, report", run_id)
            statuses = {
                name: status for name, (status, _, _) in _task_rows(connection, run).items()
            }
            kept = {
                name: (kind, value, reason)
                for name, kind, value, reason in connection.execute(
                    "SELECT name, kind, value, reason FROM results WHERE run = ?", (run,)
                )
            }
            shown = list(_results_in(text, statuses))
        values: dict[str, Any] = {}
        reasons: dict[str, str] = {}
        for name, status, result in shown:
            if status != TaskStatus.SUCCESS.value:
                continue
            kind, value, reason = kept.get(name, (_RESULT_JSON, None, ""))
            if kind == _RESULT_JSON:
                values[name] = result
            elif kind == _RESULT_PICKLE:
                try:
                    values[name] = pickle.loads(value)  # trusted files only (documented)
                except Exception as exc:
                    reasons[name] = f"cannot be unpickled: {_cause(exc)}"
            else:
                reasons[name] = reason or "not kept"
        return values, reasons

    def task_stats(self, process_name: str, task_name: str) -> TaskStats:
        """Return how task ``task_name`` fared over the recorded runs of ``process_name``.

        Reads every task row of those runs (there is no index by task name: keeping one
        would slow every record down): about 0.1 s for 1,000 runs of 1,000 tasks.
        """
        name = task_name.lower()
        with self._reading() as connection:
            rows = connection.execute(
                "SELECT t.status, t.attempts, t.elapsed_seconds FROM runs r"
                f" JOIN tasks t ON t.id >= r.id << {_POSITION_BITS}"
                f" AND t.id < (r.id + 1) << {_POSITION_BITS} AND t.name = ?"
                " WHERE r.process_name = ?",
                (name, process_name),
            ).fetchall()
        success, errored = TaskStatus.SUCCESS.value, TaskStatus.ERRORED.value
        # A reused entry (resume) succeeded with no attempt of its own: not a run.
        ran = [row for row in rows if row[0] == errored or (row[0] == success and row[1] > 0)]
        durations = sorted(elapsed for _, _, elapsed in ran)
        succeeded = sum(status == success for status, _, _ in ran)
        return TaskStats(
            process_name=process_name,
            task_name=name,
            runs=len(ran),
            succeeded=succeeded,
            failures=len(ran) - succeeded,
            skipped=sum(status == TaskStatus.SKIPPED.value for status, _, _ in rows),
            flaky=sum(status == success and attempts > 1 for status, attempts, _ in ran),
            p50_seconds=_percentile(durations, 50),
            p95_seconds=_percentile(durations, 95),
            reused=sum(status == success and attempts == 0 for status, attempts, _ in rows),
        )

    def process_names(self) -> list[str]:
        """Return the names of the processes that have recorded runs, sorted."""
        with self._reading() as connection:
            rows = connection.execute("SELECT DISTINCT process_name FROM runs").fetchall()
        return sorted(row[0] for row in rows)


# -- schema ---------------------------------------------------------------------------------


def _statements(script: str) -> list[str]:
    # executescript() would commit the open transaction first: one statement at a time.
    return [statement for statement in script.split(";") if statement.strip()]


def _prepare(connection: sqlite3.Connection, timeout_seconds: float) -> None:
    """Create the schema in a new file, or bring an older one up to date."""
    connection.execute("PRAGMA synchronous = NORMAL")  # WAL: safe, one fsync per checkpoint
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise RunHistoryError(
            f"its schema is version {version}, newer than this version of processes knows"
            f" ({SCHEMA_VERSION}): upgrade processes to use it"
        )
    if version == 0:
        # Before the file's first page is written (no effect on one that has pages): a
        # run's report is one long text, and larger pages hold it in fewer of them.
        connection.execute(f"PRAGMA page_size = {_PAGE_BYTES}")
    _use_write_ahead_log(connection, timeout_seconds)
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]  # another won?
        if version == 0:
            tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
            if tables:
                raise RunHistoryError(
                    f"an SQLite file but not a run history (it holds {', '.join(tables[:5])})"
                )
            for statement in _statements(_SCHEMA):
                connection.execute(statement)
        else:
            while version < SCHEMA_VERSION:
                _MIGRATIONS[version](connection)
                version += 1
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _use_write_ahead_log(connection: sqlite3.Connection, timeout_seconds: float) -> None:
    """Switch the file to WAL mode (persistent, outside a transaction).

    The switch takes an exclusive lock without waiting in SQLite's busy handler: when
    several processes open a new file at once, the ones that lose try again until
    ``timeout_seconds`` have passed.
    """
    deadline = time.monotonic() + timeout_seconds
    pause = 0.005
    while True:
        try:
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                # Answers the mode it is in afterwards: the old one when it could not switch.
                mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode in ("wal", "memory") or time.monotonic() >= deadline:
                return  # a file that cannot switch still records, one writer at a time
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _migrate_v1_to_v2(connection: sqlite3.Connection) -> None:
    """Add what version 2 keeps; work out the failure streaks of the runs already there."""
    for statement in _statements(_V1_TO_V2):
        connection.execute(statement)
    streaks: dict[tuple[str, str], tuple[int, str]] = {}  # (process, task) -> runs, since
    runs = connection.execute("SELECT id, process_name, started_at FROM runs ORDER BY id")
    for run, process_name, started_at in runs.fetchall():
        rows = connection.execute(
            "SELECT name, status FROM tasks WHERE run = ? AND status IN (?, ?)",
            (run, TaskStatus.ERRORED.value, TaskStatus.SKIPPED.value),
        ).fetchall()
        now: dict[tuple[str, str], tuple[int, str]] = {}
        for name, status in rows:
            key = (process_name, name)
            if status == TaskStatus.ERRORED.value:
                count, since = streaks.get(key, (0, started_at or ""))
                now[key] = (count + 1, since)
            elif key in streaks:  # skipped: the streak goes on, as _compare carries it
                now[key] = streaks[key]
        streaks = {key: value for key, value in streaks.items() if key[0] != process_name}
        streaks.update(now)
        connection.executemany(
            "UPDATE tasks SET failing_runs = ?, failing_since = ? WHERE run = ? AND name = ?",
            [(count, since, run, key[1]) for key, (count, since) in now.items()],
        )


def _migrate_v2_to_v3(connection: sqlite3.Connection) -> None:
    for statement in _statements(_V2_TO_V3):
        connection.execute(statement)


def _migrate_v3_to_v4(connection: sqlite3.Connection) -> None:
    """Key every ``tasks`` row by its run and position, the positions in name order
    (numbered here: SQLite numbers rows by itself only since 3.25)."""
    connection.execute(_V4_TASKS)
    by_run = connection.execute(
        "SELECT run, name, status, attempts, elapsed_seconds FROM tasks ORDER BY run, name"
    )

    def numbered(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        before, position = None, 0
        for run, *rest in rows:
            position = position + 1 if run == before else 0
            before = run
            yield (_ids_of(run)[0] + position, run, *rest)

    connection.executemany("INSERT INTO tasks_v4 VALUES (?, ?, ?, ?, ?, ?)", numbered(by_run))
    connection.execute("DROP TABLE tasks")
    connection.execute("ALTER TABLE tasks_v4 RENAME TO tasks")


_MIGRATIONS = {1: _migrate_v1_to_v2, 2: _migrate_v2_to_v3, 3: _migrate_v3_to_v4}


# -- what changed -------------------------------------------------------------------------


def _compare(
    connection: sqlite3.Connection, report: ProcessExecutionReport, started: str | None
) -> tuple[dict[str, TaskChange], dict[str, FailureStreak], dict[str, tuple[int, str]]]:
    """The changes and streaks against the previous run of the same process name, and
    the failing rows to store: only failures (and the skipped tasks whose failure streak
    they carry on) are read and written, so it costs little."""
    previous = connection.execute(
        "SELECT id FROM runs WHERE process_name = ? ORDER BY id DESC LIMIT 1",
        (report.process_name,),
    ).fetchone()
    before: dict[str, tuple[int, str]] = {}
    if previous is not None:
        before = {
            name: (count, since)
            for name, count, since in connection.execute(
                "SELECT name, runs, since FROM streaks WHERE run = ?", (previous[0],)
            )
        }
    since_now = started or datetime.now(UTC).isoformat()
    changes: dict[str, TaskChange] = {}
    streaks: dict[str, FailureStreak] = {}
    failing: dict[str, tuple[int, str]] = {}
    errored, success = TaskStatus.ERRORED, TaskStatus.SUCCESS
    entries = report.entries
    for name, entry in entries.items():
        status = entry.status
        if status is errored:
            if name in before:
                count, since = before[name]
                failing[name] = (count + 1, since)
                changes[name] = TaskChange.STILL_FAILING
                streaks[name] = FailureStreak(count + 1, _parse_time(since) or _epoch())
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
    return changes, streaks, failing


def _counts(entries: list[TaskReportEntry]) -> tuple[int, int, int]:
    statuses = [entry.status for entry in entries]
    return (
        statuses.count(TaskStatus.SUCCESS),
        statuses.count(TaskStatus.ERRORED),
        statuses.count(TaskStatus.SKIPPED),
    )


# -- results --------------------------------------------------------------------------------


def _is_json_scalar(value: Any) -> bool:
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is int:
        return value.bit_length() <= LONGEST_JSON_INT_BITS
    return True


def is_json_native(value: Any, _depth: int = 0) -> bool:
    """True when ``value`` comes back from JSON as it is: exactly str, int, float, bool,
    None, and lists and str-keyed dicts of those (a tuple would come back a list)."""
    kind = type(value)
    if kind in _JSON_SCALARS:
        return _is_json_scalar(value)
    if _depth >= MAX_JSON_DEPTH:  # the report writes deeper containers as their repr
        return False
    if kind is list:
        return all(is_json_native(item, _depth + 1) for item in value)
    if kind is dict:
        return all(
            type(key) is str and is_json_native(item, _depth + 1) for key, item in value.items()
        )
    return False


def _shows_redacted(value: Any) -> bool:
    return REDACTED in json.dumps(jsonable(value))


def _size(count: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if count >= scale:
            text = f"{count / scale:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    return f"{count} bytes"


# -- the stored report ----------------------------------------------------------------------

#: A plain entry's fields in the stored report, in the order a row of formats 3 and 4 held
#: them; its status, attempts and elapsed time are in its ``tasks`` row (a float costs more
#: to write as JSON text than all the rest).
_ENTRY_FIELDS = (
    "name",
    "function",
    "args",
    "kwargs",
    "result",
    "started_at",
    "finished_at",
    "dependencies",
)
_RESULT_AT = _ENTRY_FIELDS.index("result")
_COLUMNS = _ENTRY_FIELDS[1:]  # format 5 keeps the names of all entries apart

_COMPACT = (",", ":")  # no spaces: an eighth less text to write and keep
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# The furthest offsets there are: an aware time at the ends of the calendar is an instant
# that UTC cannot show, but one of these can.
_FAR_EAST = timezone(timedelta(days=1) - _MICROSECOND)
_FAR_WEST = timezone(-timedelta(days=1) + _MICROSECOND)


def _moment(moment: datetime | None, origin: datetime = _EPOCH) -> int | str | None:
    """A time as the stored report holds it: microseconds since ``origin`` (an int is
    cheaper to write than a float or a text, and exact; a small one is shorter)."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # naive: no instant to count from
        return moment.isoformat()
    return (moment - origin) // _MICROSECOND


def _from_moment(value: float | str | None, origin: datetime = _EPOCH) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    since = timedelta(microseconds=value)
    try:
        return origin + since
    except OverflowError:  # an instant of year 1 east of UTC, or of 9999 west of it
        return origin.astimezone(_FAR_EAST if value < 0 else _FAR_WEST) + since


def _origin(report: ProcessExecutionReport) -> datetime:
    """What a plain entry's times count from: the run's start, when it is an instant."""
    started = report.started_at
    return started if started is not None and started.tzinfo is not None else _EPOCH


def _encoded(report: ProcessExecutionReport, run: int) -> tuple[str, Iterable[tuple[Any, ...]]]:
    """The stored report and the ``tasks`` rows of run ``run``.

    The plain entries (no error, skip or reuse: most of them) are stored as columns, a
    list per field; the others are kept whole, in ``to_json()``'s form. Columns build no
    container per entry: a list per entry costs more than the entry's own fields, and
    its share of the cyclic garbage collector's passes (several full passes over the
    program's objects at 100,000 tasks) more again. The ``tasks`` rows are zipped from
    columns for the same reason: ``_insert_task_rows`` flattens them into one list of
    their values, one row at a time, so that no row outlives the next.
    """
    entries = list(report.entries.values())
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
    origin = _origin(report)
    microsecond = _MICROSECOND
    try:  # _moment(), inline for the times a run takes itself: instants, all of them
        started = [(e.started_at - origin) // microsecond for e in plain]  # type: ignore[operator]
        finished = [(e.finished_at - origin) // microsecond for e in plain]  # type: ignore[operator]
    except TypeError:  # a time missing or naive (subtracting it from an instant fails)
        started = [_moment(e.started_at, origin) for e in plain]
        finished = [_moment(e.finished_at, origin) for e in plain]
    names = [e.name for e in entries]
    columns: dict[str, list[Any]] = {
        "function": [e.function for e in plain],
        "args": [e.args for e in plain],
        "kwargs": [e.kwargs for e in plain],
        "result": [e.result for e in plain],
        "started_at": started,
        "finished_at": finished,
        "dependencies": [e.dependencies for e in plain],
    }
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
        "times_from_us": _moment(origin),
        "names": names,
        "details": details,
        "plain": columns,
    }
    try:
        # Most values are JSON already; what is not is written as its repr, as jsonable()
        # would. (int keys become strings here, where to_json() writes their dict's repr.)
        # No check for cycles on the way (a quarter of the time): one ends in a
        # RecursionError, and the values are written again below, by jsonable().
        text = json.dumps(
            stored,
            default=safe_repr,
            allow_nan=False,
            check_circular=False,
            separators=_COMPACT,
        )
    except (ValueError, TypeError, RecursionError):  # NaN, a cycle, a huge int, odd keys
        for field in ("args", "kwargs", "result"):
            columns[field] = [jsonable(value) for value in columns[field]]
        text = json.dumps(stored, default=safe_repr, separators=_COMPACT)
    first, _ = _ids_of(run)
    task_rows = zip(
        range(first, first + len(entries)),
        repeat(run),
        names,
        # The enum's ``value`` property costs several times more than its attribute.
        [e.status._value_ for e in entries],
        [e.attempts for e in entries],
        [e.elapsed_seconds for e in entries],
        strict=False,  # repeat() never ends
    )
    return text, task_rows


def _stored_rows(data: dict[str, Any]) -> Iterator[dict[str, Any] | list[Any]]:
    """The entries of a stored report (formats 2 to 5), in order: a detailed one as a dict
    in ``to_json()``'s form, a plain one as a list of its ``_ENTRY_FIELDS`` (format 2: of
    all its fields, its status, elapsed time and attempts after ``kwargs``)."""
    if data.get("format") != 5:
        yield from data["entries"]
        return
    names, details, columns = data["names"], data["details"], data["plain"]
    lengths = {len(columns[field]) for field in _COLUMNS}
    if lengths != {len(names) - len(details)}:
        raise ValueError(
            f"{len(names)} task names, but {len(details)} detailed entries"
            f" and plain columns of {sorted(lengths)} values"
        )
    by_name = {row["name"]: row for row in details}
    plain = zip(*(columns[field] for field in _COLUMNS), strict=True)
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
    rows = list(_stored_rows(data))
    detailed = {row["name"]: row for row in rows if isinstance(row, dict)}
    rebuilt = report_from_dict({**data, "entries": detailed})
    origin = _from_moment(data.get("times_from_us", 0)) or _EPOCH
    entries: dict[str, TaskReportEntry] = {}
    for row in rows:
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
                raise _MissingRows(data.get("run_id"), name) from None
        entries[name] = TaskReportEntry(
            name,
            function,
            tuple(args) if isinstance(args, list) else (args,),
            kwargs if isinstance(kwargs, dict) else {},
            TaskStatus(status),
            elapsed,
            attempts,
            result,
            started_at=_from_moment(start, origin),
            finished_at=_from_moment(end, origin),
            dependencies=tuple(deps),
        )
    return replace(rebuilt, entries=entries)


def _results_in(text: str, statuses: dict[str, str]) -> Iterator[tuple[str, str, Any]]:
    """Each entry's name, status value and result in a stored report (``statuses``:
    its ``tasks`` rows' statuses, by name)."""
    data = json.loads(text)
    if "format" not in data:  # to_json()'s form
        rows: Iterable[dict[str, Any] | list[Any]] = data["entries"].values()
    else:
        rows = _stored_rows(data)
    result_at = 7 if data.get("format") == 2 else _RESULT_AT
    for row in rows:
        if isinstance(row, dict):
            yield row["name"], row["status"], row.get("result")
        elif row[0] in statuses:
            yield row[0], statuses[row[0]], row[result_at]
        else:
            raise _MissingRows(data.get("run_id"), row[0])


# -- small helpers --------------------------------------------------------------------------


def _insert_task_rows(connection: sqlite3.Connection, rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert a run's ``tasks`` rows, ``_TASK_ROWS_PER_INSERT`` per statement, the last
    statement taking what is left."""
    values = list(chain.from_iterable(rows))
    step = _TASK_ROWS_PER_INSERT * _TASK_COLUMNS
    whole = len(values) - len(values) % step
    if whole:
        connection.executemany(
            _insert_statement(_TASK_ROWS_PER_INSERT),
            (values[start : start + step] for start in range(0, whole, step)),
        )
    if whole < len(values):
        connection.execute(
            _insert_statement((len(values) - whole) // _TASK_COLUMNS), values[whole:]
        )


def _insert_statement(rows: int) -> str:
    """``INSERT INTO tasks`` of ``rows`` rows of parameters."""
    row = "(" + ", ".join("?" * _TASK_COLUMNS) + ")"
    return "INSERT INTO tasks VALUES " + ", ".join([row] * rows)


def _task_rows(connection: sqlite3.Connection, run: int) -> dict[str, tuple[str, int, float]]:
    """The status, attempts and elapsed time of run ``run``'s tasks, by name."""
    return {
        name: (status, attempts, elapsed)
        for name, status, attempts, elapsed in connection.execute(
            "SELECT name, status, attempts, elapsed_seconds FROM tasks WHERE id >= ? AND id < ?",
            _ids_of(run),
        )
    }


def _ids_of(run: int) -> tuple[int, int]:
    """The first id of run ``run``'s ``tasks`` rows, and the first id past them: the rows
    are found by their ids (the ``run`` column, there for people reading the file, has no
    index: keeping one would cost as much per row as the ids save)."""
    return run << _POSITION_BITS, (run + 1) << _POSITION_BITS


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _epoch() -> datetime:
    return datetime.fromtimestamp(0, UTC)


def _summary(row: tuple[Any, ...]) -> RunSummary:
    run_id, name, started, finished, ok, succeeded, errored, skipped, host, pid, argv, stop = row
    try:
        arguments = tuple(str(a) for a in json.loads(argv))
    except (TypeError, ValueError):
        arguments = ()
    return RunSummary(
        run_id=run_id,
        process_name=name,
        started_at=_parse_time(started),
        finished_at=_parse_time(finished),
        ok=bool(ok),
        succeeded=succeeded,
        errored=errored,
        skipped=skipped,
        host=host,
        pid=pid,
        argv=arguments,
        stopped_by=StopReason(stop) if stop else None,
    )


def _percentile(ordered: list[float], percent: int) -> float | None:
    """The nearest-rank percentile of sorted values; None when there are none."""
    if not ordered:
        return None
    rank = max(math.ceil(percent / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def _argv() -> list[str]:
    return [str(argument) for argument in getattr(sys, "argv", None) or []]


def _masked_argv(argv: list[str]) -> list[str]:
    """The command line without what secret-named options were given (--password x)."""
    shown: list[str] = []
    hide_next = False
    for argument in argv:
        if hide_next:
            shown.append(REDACTED)
            hide_next = False
            continue
        name, equals, _ = argument.partition("=")
        if name.startswith("-") and _ARGV_REDACTOR.is_secret(name):
            shown.append(f"{name}={REDACTED}" if equals else argument)
            hide_next = not equals
            continue
        shown.append(_ARGV_REDACTOR.mask_shapes(argument))
    return shown


def _cause(exc: BaseException) -> str:
    """What went wrong, in a few words: the SQLite message, or the exception and its text."""
    text = str(exc)
    if len(text) > 300:
        text = text[:300] + "..."
    if isinstance(exc, RunHistoryError | sqlite3.Error) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
