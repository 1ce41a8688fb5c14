"""Opening a history file to read it without ever writing to it (SPEC §17): no migration,
no journal-mode switch, no schema in an empty file, no -wal or -shm left beside it.
Imports the package's schema and errors only.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import NamedTuple

from processes.history.errors import RunHistoryError
from processes.history.schema import SCHEMA_VERSION, bring_up_to_date, check_version

_HEADER_BYTES = 100  # an SQLite file's header; byte 18 is 2 in WAL mode
_WAL_FORMAT = 2


class Reader(NamedTuple):
    """A connection that only reads, and whether it may be kept for the next read (one
    opened on the file itself) or must be closed after this one (a copy in memory, or a
    file opened as immutable, which would not see what a writer adds later)."""

    connection: sqlite3.Connection
    keep: bool


def open_to_read(path: str, timeout_seconds: float) -> Reader:
    """A connection that reads the history in ``path`` (a path or a ``file:`` URI) and
    cannot write to it.

    A ``file:`` URI is opened as given, with ``mode=ro`` added when it names no mode: a
    missing file is an error, never made. A missing or empty file reads as a history with
    no runs, and stays as it is; a file of
    an older schema is read through a copy migrated in memory (the file is upgraded by the
    first run recorded into it). A file in WAL mode is opened read-only when its -wal and
    -shm files are there (a writer has it open); when they are not and the folder can be
    written, by a connection that may not write (``query_only``), so that SQLite removes
    the -wal and -shm it makes when it closes, as a read-only connection cannot; and when
    they cannot be made (a folder the reader cannot write) as immutable.
    """
    if path.startswith("file:"):  # as given, but never made: read-only unless it says
        if "mode=" not in path.partition("?")[2]:
            path = f"{path}{'&' if '?' in path else '?'}mode=ro"
        return _usable(_connect(path, timeout_seconds), path, keep=True)
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return Reader(_empty_history(), keep=False)
    uri = Path(path).absolute().as_uri()
    if not _in_wal_mode(path):
        return _usable(_connect(f"{uri}?mode=ro", timeout_seconds), path, keep=True)
    beside = all(os.path.exists(f"{path}{suffix}") for suffix in ("-wal", "-shm"))
    folder = os.path.dirname(os.path.abspath(path))
    if not beside and os.access(folder, os.W_OK) and os.access(path, os.W_OK):
        return _usable(_connect(uri, timeout_seconds), path, keep=True)
    try:
        return _usable(_connect(f"{uri}?mode=ro", timeout_seconds), path, keep=True)
    except sqlite3.OperationalError:
        if beside:
            raise
    # No -shm to share and none can be made: nobody is writing the file (a writer needs
    # them too); read it as it is on disk.
    return _usable(_connect(f"{uri}?immutable=1", timeout_seconds), path, keep=False)


def _connect(uri: str, timeout_seconds: float) -> sqlite3.Connection:
    connection = sqlite3.connect(
        uri,
        timeout=timeout_seconds,
        isolation_level=None,  # read transactions are begun and ended by the caller
        check_same_thread=False,  # used under the connection's lock, from any thread
        uri=True,
    )
    try:
        connection.execute("PRAGMA query_only = ON")
    except BaseException:
        connection.close()
        raise
    return connection


def _usable(connection: sqlite3.Connection, path: str, *, keep: bool) -> Reader:
    """``connection`` when its file is a history of this version; a copy in memory brought
    up to date when it is older; an empty history when it has no schema yet."""
    try:
        version = check_version(connection)
    except RunHistoryError as exc:
        connection.close()
        raise RunHistoryError(f"{path}: {exc}") from None
    except BaseException:
        connection.close()
        raise
    if version == SCHEMA_VERSION:
        return Reader(connection, keep)
    try:
        if version == 0:
            return Reader(_empty_history(), keep=False)
        copy = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        connection.backup(copy)
    finally:
        connection.close()
    copy.execute("BEGIN")
    bring_up_to_date(copy, version)
    copy.execute("COMMIT")
    return Reader(copy, keep=False)


def _empty_history() -> sqlite3.Connection:
    """A history with no runs, in memory: what a missing or empty file reads as."""
    connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    connection.execute("BEGIN")
    bring_up_to_date(connection, 0)
    connection.execute("COMMIT")
    return connection


def _in_wal_mode(path: str) -> bool:
    """Whether the file's header says WAL mode (a file that cannot be read: SQLite says why)."""
    with contextlib.suppress(OSError), open(path, "rb") as file:
        header = file.read(_HEADER_BYTES)
        return len(header) == _HEADER_BYTES and header[18] == _WAL_FORMAT
    return False
