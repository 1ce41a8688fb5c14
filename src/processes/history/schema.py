"""The schema of a history file: its tables, their version, the migrations from versions
1 to 5, and preparing a file (page size, WAL) before it is first used.

Imports the package's errors and ``processes.outcome`` only.
"""

from __future__ import annotations

import sqlite3
import time
from itertools import repeat
from typing import TYPE_CHECKING, Any

from processes.history.errors import RunHistoryError
from processes.outcome import TaskStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from processes.report import TaskReportEntry

#: The schema this code writes. Version 1 kept no host, pid, argv, stop reason, failure
#: streaks or results; version 2 kept a task's streak, position and start time in its
#: ``tasks`` row; version 3 keyed the ``tasks`` rows by run and name. A writer opening an
#: older file upgrades it in place (``_MIGRATIONS``); a reader migrates a copy in memory.
SCHEMA_VERSION = 6
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
    report TEXT NOT NULL,
    heartbeat_at TEXT,
    process_start INTEGER,
    running TEXT
);
CREATE INDEX runs_by_process ON runs (process_name, id);
CREATE TABLE checkpoints (
    run INTEGER NOT NULL,
    batch INTEGER NOT NULL,
    report TEXT NOT NULL,
    PRIMARY KEY (run, batch)
) WITHOUT ROWID;
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
CREATE TABLE findings (
    process_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    since TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    PRIMARY KEY (process_name, kind, subject)
) WITHOUT ROWID;
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

# A run is in the file from its start (§13): its row holds, until it ends, its task names
# (``report`` in the "live" form), its last sign of life and the process recording it
# (``heartbeat_at``, ``pid``, ``process_start``: the process's start, to tell a pid
# reused by a later process) and the tasks running at its last checkpoint; each
# checkpoint adds the ``tasks`` rows of the tasks finished since, and their entries as a
# stored report of their own (``checkpoints``), folded into the run's report at its end.
_V4_TO_V5 = """
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
ALTER TABLE runs ADD COLUMN process_start INTEGER;
ALTER TABLE runs ADD COLUMN running TEXT;
CREATE TABLE checkpoints (
    run INTEGER NOT NULL,
    batch INTEGER NOT NULL,
    report TEXT NOT NULL,
    PRIMARY KEY (run, batch)
) WITHOUT ROWID
"""

# What the watch reported (§14), so that each finding is reported once: a row per
# finding, keyed by what it is about (``subject``: a run id; for MISSED the run after
# which none came, '' before any run; for BACK the finding it ends), and a ``watching``
# row per process holding the first check that knew it (``since``) and the last one.
_V5_TO_V6 = """
CREATE TABLE IF NOT EXISTS findings (
    process_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    since TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    PRIMARY KEY (process_name, kind, subject)
) WITHOUT ROWID
"""

_PAGE_BYTES = 16384  # SQLite's default is 4096
#: A task's id is its run's id shifted by this many bits, plus its position in the run:
#: room for 2**32 tasks per run and 2**31 runs per file, more than SQLite would hold.
POSITION_BITS = 32


def ids_of(run: int) -> tuple[int, int]:
    """The first id of run ``run``'s ``tasks`` rows, and the first id past them: the rows
    are found by their ids (the ``run`` column, there for people reading the file, has no
    index: keeping one would cost as much per row as the ids save)."""
    return run << POSITION_BITS, (run + 1) << POSITION_BITS


def _statements(script: str) -> list[str]:
    # executescript() would commit the open transaction first: one statement at a time.
    return [statement for statement in script.split(";") if statement.strip()]


def prepare(connection: sqlite3.Connection, timeout_seconds: float) -> None:
    """Create the schema in a new file, or bring an older one up to date (a writer's)."""
    connection.execute("PRAGMA synchronous = NORMAL")  # WAL: safe, one fsync per checkpoint
    version = check_version(connection)
    if version == SCHEMA_VERSION:
        return
    if version == 0:
        # Before the file's first page is written (no effect on one that has pages): a
        # run's report is one long text, and larger pages hold it in fewer of them.
        connection.execute(f"PRAGMA page_size = {_PAGE_BYTES}")
    _use_write_ahead_log(connection, timeout_seconds)
    connection.execute("BEGIN IMMEDIATE")
    try:
        bring_up_to_date(connection, check_version(connection))  # another won?
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def check_version(connection: sqlite3.Connection) -> int:
    """The file's schema version (0: no schema yet); a ``RunHistoryError`` for a newer one,
    or for an SQLite file that holds other tables (the file is left as it was)."""
    version: int = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RunHistoryError(
            f"its schema is version {version}, newer than this version of processes knows"
            f" ({SCHEMA_VERSION}): upgrade processes to use it"
        )
    if version == 0:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
        if tables:
            raise RunHistoryError(
                f"an SQLite file but not a run history (it holds {', '.join(tables[:5])})"
            )
    return version


def bring_up_to_date(connection: sqlite3.Connection, version: int) -> None:
    """Inside the caller's transaction: create the schema (``version`` 0) or migrate the
    tables from ``version`` to ``SCHEMA_VERSION``."""
    if version == SCHEMA_VERSION:
        return
    if version == 0:
        for statement in _statements(_SCHEMA):
            connection.execute(statement)
    else:
        while version < SCHEMA_VERSION:
            _MIGRATIONS[version](connection)
            version += 1
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


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
            elif key in streaks:  # skipped: the streak goes on, as changes.compare carries it
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
            yield (ids_of(run)[0] + position, run, *rest)

    connection.executemany("INSERT INTO tasks_v4 VALUES (?, ?, ?, ?, ?, ?)", numbered(by_run))
    connection.execute("DROP TABLE tasks")
    connection.execute("ALTER TABLE tasks_v4 RENAME TO tasks")


def _migrate_v4_to_v5(connection: sqlite3.Connection) -> None:
    for statement in _statements(_V4_TO_V5):
        connection.execute(statement)


def _migrate_v5_to_v6(connection: sqlite3.Connection) -> None:
    for statement in _statements(_V5_TO_V6):
        connection.execute(statement)


_MIGRATIONS = {
    1: _migrate_v1_to_v2,
    2: _migrate_v2_to_v3,
    3: _migrate_v3_to_v4,
    4: _migrate_v4_to_v5,
    5: _migrate_v5_to_v6,
}


#: Rows per INSERT statement when a run's ``tasks`` rows are written: one statement of
#: many rows costs about a third less per row than a statement per row (fewer trips
#: through SQLite's virtual machine and the GIL). 100 rows of the table's 6 values stay
#: under the 999 variables a statement may have in SQLite before 3.32.
TASK_ROWS_PER_INSERT = 100
_TASK_COLUMNS = 6  # id, run, name, status, attempts, elapsed_seconds


def task_row_values(ids: Sequence[int], run: int, entries: Sequence[TaskReportEntry]) -> list[Any]:
    """The ``tasks`` rows of ``entries``, on ids ``ids``, in run ``run``: row after row in
    one flat list, as ``insert_task_rows`` takes them. Filled a column at a time, with no
    tuple per row to build and flatten again (that took longer than the columns)."""
    count = len(entries)
    values: list[Any] = [None] * (_TASK_COLUMNS * count)
    values[0::_TASK_COLUMNS] = ids
    values[1::_TASK_COLUMNS] = repeat(run, count)
    values[2::_TASK_COLUMNS] = [e.name for e in entries]
    # The enum's ``value`` property costs several times more than its attribute.
    values[3::_TASK_COLUMNS] = [e.status._value_ for e in entries]
    values[4::_TASK_COLUMNS] = [e.attempts for e in entries]
    values[5::_TASK_COLUMNS] = [e.elapsed_seconds for e in entries]
    return values


def insert_task_rows(connection: sqlite3.Connection, values: list[Any]) -> None:
    """Insert a run's ``tasks`` rows (``task_row_values``), ``TASK_ROWS_PER_INSERT`` per
    statement, the last statement taking what is left."""
    step = TASK_ROWS_PER_INSERT * _TASK_COLUMNS
    whole = len(values) - len(values) % step
    if whole:
        connection.executemany(
            _insert_statement(TASK_ROWS_PER_INSERT),
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
