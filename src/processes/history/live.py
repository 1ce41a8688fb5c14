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
from processes.run_so_far import RunSoFar

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
    """The recorder of one run while it runs: it ``follow``s the run as its engine writes
    it (``RunSoFar``), and its thread writes the tasks finished at most
    ``checkpoint_seconds`` apart, beating the heartbeat at least every
    ``heartbeat_seconds``. ``written`` holds the ``tasks`` rows written so far: their
    ids by name. Items (§15) are written as they finish too, at their positions in the
    run (after the declared tasks'); the run's end writes the other rows on the ids left."""

    def __init__(
        self,
        connection: HistoryConnection,
        run: int,
        started_at: datetime,
        crashes: tuple[CrashedRun, ...],
        names: Sequence[str],
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
        self._names = names  # of its declared tasks, by position
        self._checkpoint_seconds = checkpoint_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self._store_results = store_results
        self._max_result_bytes = max_result_bytes
        self._so_far = RunSoFar([], [])  # until the run's ledger hands over its own
        self._running: list[int] = []  # started, and not finished at the last checkpoint
        self._batches = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._keep_writing, name="processes-history", daemon=True
        )

    def follow(self, run: RunSoFar) -> None:
        """Read the run from ``run`` from now on (before ``start``)."""
        self._so_far = run

    def start(self) -> None:
        self._thread.start()

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
            if self._so_far.finished or since_beat >= self._heartbeat_seconds:
                self._write()
                since_beat = 0.0

    def _write(self) -> None:
        """One checkpoint: the tasks finished since the last, and a heartbeat."""
        so_far = self._so_far
        count = len(so_far.finished)
        positions = so_far.finished[:count]
        entries = [e for p in positions if (e := so_far.entries[p]) is not None]  # all: written
        results = [so_far.results[p] for p in positions]
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
        del so_far.finished[:count]
        first, _ = ids_of(self.run)
        names = [e.name for e in entries]
        self.written.update(zip(names, [first + p for p in positions], strict=True))

    def _running_names(self) -> list[str]:
        """The declared tasks running now: those started and without an entry yet."""
        so_far = self._so_far
        count = len(so_far.started)
        entries = so_far.entries
        self._running = [p for p in [*self._running, *so_far.started[:count]] if entries[p] is None]
        del so_far.started[:count]
        return [self._names[p] for p in self._running]

    def _write_batch(
        self,
        connection: sqlite3.Connection,
        positions: list[int],
        entries: list[TaskReportEntry],
        results: list[Any],
    ) -> None:
        now = datetime.now(UTC).isoformat()
        running = json.dumps(self._running_names())
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
