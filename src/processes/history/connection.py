"""The connection to a history file: one per OS process, opened and prepared on first write,
used under a lock from any thread, waiting ``timeout_seconds`` for another writer; reads
in one read transaction, on a connection that cannot write until the process writes.
Imports the package's schema, readonly and errors.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from typing import TYPE_CHECKING

from processes.history.errors import MissingRows, RunHistoryError, cause
from processes.history.readonly import open_to_read
from processes.history.schema import prepare

if TYPE_CHECKING:
    from collections.abc import Iterator


class HistoryConnection:
    """The connection of a ``RunHistory`` to its file at ``path`` (a path or a ``file:`` URI)."""

    def __init__(self, path: str, timeout_seconds: float) -> None:
        self.path = path
        self.timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._connection_pid = 0
        self._writes = False  # whether _connection is a writer's, the schema ready
        self._closed = False

    def _open(self) -> sqlite3.Connection | None:
        """The connection this OS process has open, if any; under ``_lock``."""
        if self._closed:
            raise RunHistoryError(f"RunHistory({self.path!r}) is closed")
        if self._connection is not None and self._connection_pid == os.getpid():
            return self._connection
        # A connection inherited through fork() belongs to the parent: never touched.
        self._connection = None
        return None

    def connect(self) -> sqlite3.Connection:
        """The open connection (one per OS process), the schema ready; under ``_lock``."""
        connection = self._open()
        if connection is not None and self._writes:
            return connection
        self._drop()  # a reader's: it cannot write
        connection = sqlite3.connect(
            self.path,
            timeout=self.timeout_seconds,
            isolation_level=None,  # transactions are begun and ended here, explicitly
            check_same_thread=False,  # used under the lock, from any thread
            uri=self.path.startswith("file:"),
        )
        try:
            prepare(connection, self.timeout_seconds)
        except BaseException:
            connection.close()
            raise
        self._connection, self._connection_pid = connection, os.getpid()
        self._writes = True
        return connection

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """The open connection, or one that reads the file without writing to it (kept
        for the next read when it is on the file itself, else closed afterwards)."""
        connection = self._open()
        if connection is not None:
            yield connection
            return
        reader = open_to_read(self.path, self.timeout_seconds)
        if reader.keep:
            self._connection, self._connection_pid = reader.connection, os.getpid()
            self._writes = False
            yield reader.connection
            return
        try:
            yield reader.connection
        finally:
            reader.connection.close()

    def _drop(self) -> None:
        """Close the connection after an error: the next use opens a fresh one."""
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
        self._connection = None

    @contextlib.contextmanager
    def writing(self, wait_seconds: float | None = None) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, for a writer that begins and ends its own
        transaction; dropped after any error, so that the next use opens a fresh one.
        ``wait_seconds`` bounds the wait for another writer this once, if shorter."""
        with self._lock:
            try:
                connection = self.connect()
                if wait_seconds is None or wait_seconds >= self.timeout_seconds:
                    yield connection
                    return
                connection.execute(f"PRAGMA busy_timeout = {int(wait_seconds * 1000)}")
                try:
                    yield connection
                finally:
                    connection.execute(f"PRAGMA busy_timeout = {int(self.timeout_seconds * 1000)}")
            except BaseException:
                self._drop()
                raise

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one read transaction: a reader that runs several queries
        sees one state of the file, whatever another process records or forgets meanwhile
        (WAL: the writer does not wait for it). Never writes to the file: no schema, no
        migration, no journal mode (``readonly``), unless this process wrote it already."""
        with self._lock:
            try:
                with self._reader() as connection:
                    connection.execute("BEGIN")
                    try:
                        yield connection
                    finally:
                        if connection.in_transaction:
                            connection.execute("COMMIT")  # a read: nothing to keep or undo
            except sqlite3.Error as exc:
                self._drop()
                raise RunHistoryError(f"{self.path}: cannot read the run history ({exc})") from exc
            except MissingRows as exc:
                raise RunHistoryError(f"{self.path}: {exc}") from None
            except (ValueError, KeyError, TypeError, IndexError) as exc:  # not LookupError
                raise RunHistoryError(
                    f"{self.path}: a recorded run cannot be read ({cause(exc)});"
                    " was the file edited by hand?"
                ) from exc

    def close(self) -> None:
        """Close the file; it cannot be used afterwards."""
        with self._lock:
            if self._connection_pid == os.getpid():
                self._drop()
            self._connection = None
            self._closed = True
