"""A run recorded as it goes (SPEC §13): in the file from its first moment, its finished
tasks written in small transactions while it runs, and a heartbeat while tasks run.

A thread of the run's own does the writing, so that a task that holds the run's thread
for an hour still has its finished neighbours and the heartbeat written. Imports the
package's connection, schema, stored format and keeping policy; never queries.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from processes.history.keeping import results_to_keep
from processes.history.schema import ids_of, insert_task_rows
from processes.history.stored import encode_batch, moment_of, packed_fingerprints
from processes.history.vitals import own_start

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Sequence

    from processes.history.connection import HistoryConnection
    from processes.outcome import CrashedRun
    from processes.report import TaskReportEntry

#: The ``report`` of a run still running: its task names, until its end writes the rest.
LIVE_FORMAT = "live"


def begin(
    connection: sqlite3.Connection,
    run_id: str,
    process_name: str,
    started_at: datetime,
    host: str,
    argv: str,
    names: Sequence[str],
    fingerprints: Sequence[str],
) -> int:
    """Write the row of a run that starts now; return its id. Inside the caller's write
    transaction."""
    (run,) = connection.execute(
        "SELECT coalesce(max(seq), 0) + 1 FROM sqlite_sequence WHERE name = 'runs'"
    ).fetchone()
    live = {
        "format": LIVE_FORMAT,
        "names": list(names),
        **packed_fingerprints(fingerprints),
        "times_from_us": moment_of(started_at),
    }
    connection.execute(
        "INSERT INTO runs (id, run_id, process_name, started_at, finished_at, ok, succeeded,"
        " errored, skipped, host, pid, argv, stopped_by, report, heartbeat_at, process_start,"
        " running) VALUES (?, ?, ?, ?, NULL, 0, 0, 0, 0, ?, ?, ?, NULL, ?, ?, ?, '[]')",
        (
            run,
            run_id,
            process_name,
            started_at.isoformat(),
            host,
            os.getpid(),
            argv,
            json.dumps(live, separators=(",", ":")),
            started_at.isoformat(),
            own_start(),
        ),
    )
    return int(run)


class LiveRun:
    """The recorder of one run while it runs: the engine tells it each task's start and
    entry (``task_started``, ``task_finished``: cheap, always from the run's own thread),
    and its thread writes them at most ``checkpoint_seconds`` apart, beating the
    heartbeat at least every ``heartbeat_seconds``. ``written`` holds the ``tasks`` rows
    written so far: their ids by name. Items (§15) are told of as they finish too, at
    their positions in the run (after the declared tasks'); the run's end writes the
    other rows on the ids left."""

    def __init__(
        self,
        connection: HistoryConnection,
        run: int,
        started_at: datetime,
        crashes: tuple[CrashedRun, ...],
        fingerprints: Sequence[str],
        *,
        checkpoint_seconds: float,
        heartbeat_seconds: float,
        store_results: bool,
        max_result_bytes: int,
    ) -> None:
        self.run = run
        self.crashes = crashes  # the runs of its process found dead when it began
        self.fingerprints = fingerprints  # of its tasks, in order (``processes.fingerprint``)
        self.written: dict[str, int] = {}
        self._connection = connection
        self._origin = started_at
        self._checkpoint_seconds = checkpoint_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self._store_results = store_results
        self._max_result_bytes = max_result_bytes
        # What finished since the last checkpoint, in three flat lists rather than a tuple
        # per task: a tuple would live until the next checkpoint, long enough for the
        # garbage collector to count it and take full passes over the run's objects.
        # Appended to in this order by the run, read and cut by the writer (each step
        # atomic under the GIL); ``_results`` is the shortest while a task is added.
        self._positions: list[int] = []
        self._entries: list[TaskReportEntry] = []
        self._results: list[Any] = []
        self._running: dict[int, str] = {}
        self._batches = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._keep_writing, name="processes-history", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def task_started(self, position: int, name: str) -> None:
        self._running[position] = name

    def task_finished(self, position: int, entry: TaskReportEntry, result: Any) -> None:
        self._running.pop(position, None)
        self._positions.append(position)
        self._entries.append(entry)
        self._results.append(result)

    def stop(self) -> None:
        """Stop writing: the run's end records the rest, in one transaction."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _keep_writing(self) -> None:
        interval = min(self._checkpoint_seconds, self._heartbeat_seconds)
        since_beat = 0.0
        while not self._stopped.wait(interval):
            since_beat += interval
            if self._results or since_beat >= self._heartbeat_seconds:
                self._write()
                since_beat = 0.0

    def _write(self) -> None:
        """One checkpoint: the tasks finished since the last, and a heartbeat."""
        count = len(self._results)
        positions = self._positions[:count]
        entries = self._entries[:count]
        results = self._results[:count]
        try:
            # Never waits long for another writer: a checkpoint missed is taken at the next
            # one, or by the run's end, which records everything.
            with self._connection.writing(self._checkpoint_seconds) as connection:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    self._write_batch(connection, positions, entries, results)
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
        except Exception:  # the run goes on; its end records everything, or warns once
            return  # the batch stays for the next checkpoint
        del self._positions[:count], self._entries[:count], self._results[:count]
        first, _ = ids_of(self.run)
        names = [e.name for e in entries]
        self.written.update(zip(names, [first + p for p in positions], strict=True))

    def _write_batch(
        self,
        connection: sqlite3.Connection,
        positions: list[int],
        entries: list[TaskReportEntry],
        results: list[Any],
    ) -> None:
        now = datetime.now(UTC).isoformat()
        running = json.dumps(list(dict(self._running).values()))  # a copy: taken at once
        connection.execute(
            "UPDATE runs SET heartbeat_at = ?, running = ? WHERE id = ?", (now, running, self.run)
        )
        if not positions:
            return
        text, rows = encode_batch(entries, positions, self.run, self._origin)
        insert_task_rows(connection, rows)
        kept = results_to_keep(
            entries,
            results,
            store_results=self._store_results,
            max_result_bytes=self._max_result_bytes,
        )
        if kept:
            connection.executemany(
                "INSERT INTO results VALUES (?, ?, ?, ?, ?)",
                [(self.run, name, kind, value, reason) for name, kind, value, reason in kept],
            )
        self._batches += 1
        connection.execute(
            "INSERT INTO checkpoints VALUES (?, ?, ?)", (self.run, self._batches, text)
        )
