"""What goes wrong with a run history, and how a cause is told in a few words.

The bottom of the package: imports ``processes.errors`` and ``sqlite3`` only.
"""

from __future__ import annotations

import sqlite3

from processes.errors import ProcessesError


class RunHistoryError(ProcessesError):
    """A history that cannot be read: missing tables, a newer schema, a corrupt file."""

    # Named where it is imported from: an error record names the class by its module.
    __module__ = "processes.history"


class MissingRows(Exception):
    """A stored report names a task that has no ``tasks`` row (deleted by hand)."""

    def __init__(self, run_id: object, name: str) -> None:
        super().__init__(
            f"the run {run_id!r} has no tasks row for its task {name!r}"
            " (were rows deleted by hand?)"
        )


def cause(exc: BaseException) -> str:
    """What went wrong, in a few words: the SQLite message, or the exception and its text."""
    text = str(exc)
    if len(text) > 300:
        text = text[:300] + "..."
    if isinstance(exc, RunHistoryError | sqlite3.Error) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
