"""Per-task log files: opened when a task starts, shared per path, closed when idle.

A process of 100,000 tasks with their own files holds only the files of the tasks
running at that moment. Loggers are plain ``logging.Logger`` objects that are never
registered in the global ``logging`` registry, so building many tasks costs nothing there.

Records that a task's own code logs through ``logging`` while it runs in a thread of this
process are copied to its file too (``routing_task_records``), if they reach the root
logger: their logger's effective level must let them out (with nothing configured that is
the root's WARNING, so ``getLogger("app").info(...)`` reaches neither the file nor
anywhere else), and every logger on the way must propagate. The file keeps INFO and above.
This module is where a task's logging lives: its logger, its file, which file the
attempt running in a thread uses, and the lines of its life. Imports only ``saferepr``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from processes.saferepr import safe_repr

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from processes.capture import Failure
    from processes.outcome import ErrorData

LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
#: The lines of a task's life in its log (SPEC §4), as ``logging`` format strings.
LOG_STARTING = "Starting %s."
LOG_FINISHED = "Finished %s."
LOG_RETRYING = "Attempt %d/%d failed: %s. Retrying..."
_FORMATTER = logging.Formatter(LOG_FORMAT)
_attempt = threading.local()  # .handler: the log file of the attempt running in this thread


def current_log_handler() -> logging.Handler | None:
    """The log file of the task whose attempt runs in this thread, if it has one."""
    handler: logging.Handler | None = getattr(_attempt, "handler", None)
    return handler


def use_log_handler(handler: logging.Handler | None) -> logging.Handler | None:
    """Make ``handler`` the file of the attempt in this thread; return the one it replaces
    (restored afterwards, not cleared: a task may run a process of its own)."""
    outer = current_log_handler()
    _attempt.handler = handler
    return outer


def new_task_logger(name: str) -> logging.Logger:
    """A logger outside the registry: ``logging.getLogger`` would keep it forever."""
    return logging.Logger(name, logging.INFO)


class _LazyFileHandler(logging.FileHandler):
    """A file handler that creates the file's folder on first write, and none once closed.

    A file that cannot be opened or written (its folder cannot be created, the disk is
    full) costs one ``UserWarning`` naming it and the cause; its records are dropped from
    then on, and the run goes on (SPEC §17).
    """

    def __init__(self, filename: str, tally: _Tally) -> None:
        self.is_closed = False
        self.failed = False
        self.resting = False  # held by its process, and no running task writes to it
        self.tally = tally
        super().__init__(filename, encoding="utf-8", delay=True)

    def _open(self) -> Any:
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        stream = super()._open()
        self.tally.add(1)
        return stream

    def _drop_stream(self) -> Any:
        stream, self.stream = self.stream, None
        if stream is not None:
            self.tally.add(-1)
        return stream

    def emit(self, record: logging.LogRecord) -> None:
        # An attempt abandoned at its timeout keeps this handler and may log after the
        # task ended and the handler was closed: FileHandler would reopen the file, past
        # the task's ERROR record, and nothing would ever close it again. handle() holds
        # the lock that close() takes, so no record slips in between.
        if self.is_closed or self.failed:
            return
        if self.stream is None:
            try:
                self.stream = self._open()
            except OSError as exc:
                self._fail(exc)
                return
        logging.StreamHandler.emit(self, record)  # a failed write comes to handleError

    def handleError(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            self._fail(exc)
        else:  # a record that cannot be formatted: logging's own report
            super().handleError(record)

    def _fail(self, exc: OSError) -> None:
        """Warn once that the file cannot be written, and write to it no more."""
        stream = self._drop_stream()
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()  # flushes once more, and fails again: closed all the same
        if self.failed:
            return
        self.failed = True
        cause = exc.strerror or str(exc) or type(exc).__name__
        warnings.warn(
            f"cannot write the log file {self.baseFilename}: {cause} "
            f"({type(exc).__name__}); the run goes on without it",
            UserWarning,
            stacklevel=2,
        )

    def handle_routed(self, record: logging.LogRecord) -> None:
        """Handle a record that the task's code logged through ``logging``: dropped once
        no running task writes to the file (an abandoned attempt's, after its task ended,
        must not land past the task's last line)."""
        with self.lock:  # type: ignore[union-attr]  # an RLock: handle() takes it again
            if not self.resting:
                self.handle(record)

    def rest(self) -> None:
        """Close the file until the next record, keeping the handler: no task writes to
        it now, and a process of many tasks must not hold a descriptor for each."""
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            self.resting = True
            if self.stream is None:
                return
            try:
                self.flush()
                self._drop_stream().close()
            except OSError as exc:
                self._fail(exc)

    def close(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            self.is_closed = True
            was_open = self.stream is not None
            try:
                super().close()
            except OSError as exc:  # the last flush failed
                self._fail(exc)
            if was_open:  # closed by FileHandler.close(), even when its flush failed
                self.tally.add(-1)


class _Tally:
    """How many log files a process has open."""

    __slots__ = ("count", "lock")

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def add(self, change: int) -> None:
        with self.lock:
            self.count += change


def writes_to(logger: logging.Logger, path: str | os.PathLike[str]) -> bool:
    """True when ``logger`` already has a live handler of this module for ``path`` (its
    process holds the task): a task run alone then writes through it."""
    key = os.path.abspath(os.fspath(path))
    return any(
        isinstance(h, _LazyFileHandler) and h.baseFilename == key and not h.is_closed
        for h in logger.handlers
    )


class LogFiles:
    """The log files of one process: one handler per path, open only while in use.

    A task's file is *held* (``hold``) for as long as its process holds the task, so that
    the handler stays on the task's logger (v7 code inspects it); it is *acquired* by
    each running task that writes to it. The file itself is open only while some task
    runs (or a record comes in between).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: dict[str, _LazyFileHandler] = {}
        self._users: dict[str, int] = {}
        self._holders: dict[str, int] = {}
        self._open_files = _Tally()

    def _handler(self, key: str) -> _LazyFileHandler:
        handler = self._handlers.get(key)
        if handler is None:
            handler = _LazyFileHandler(key, self._open_files)
            handler.setFormatter(_FORMATTER)
            handler.setLevel(logging.INFO)
            self._handlers[key] = handler
        return handler

    def acquire(self, path: str | os.PathLike[str]) -> logging.Handler:
        """Return the shared handler of ``path``; the caller must ``release`` it."""
        key = os.path.abspath(os.fspath(path))
        with self._lock:
            handler = self._handler(key)
            self._users[key] = self._users.get(key, 0) + 1
            handler.resting = False
            return handler

    def release(self, path: str | os.PathLike[str]) -> bool:
        """Close the file of ``path`` once no running task writes to it.

        Return True when the process holds the file (``hold``): its handler stays on
        the task's logger, and only the file is closed, until the next record.
        """
        key = os.path.abspath(os.fspath(path))
        with self._lock:
            users = self._users[key] - 1
            held = key in self._holders
            if users:
                self._users[key] = users
                return held
            del self._users[key]
            handler = self._handlers[key] if held else self._handlers.pop(key)
        if held:
            handler.rest()
        else:
            handler.close()
        return held

    def hold(self, path: str | os.PathLike[str]) -> logging.Handler:
        """Return the shared handler of ``path``, kept until ``let_go``: the process
        holds a task that writes to it."""
        key = os.path.abspath(os.fspath(path))
        with self._lock:
            handler = self._handler(key)
            self._holders[key] = self._holders.get(key, 0) + 1
            return handler

    def let_go(self, path: str | os.PathLike[str]) -> None:
        """The process no longer holds a task of ``path``: close its file when none does
        and no running task writes to it."""
        key = os.path.abspath(os.fspath(path))
        with self._lock:
            holders = self._holders.get(key, 0) - 1
            if holders > 0:
                self._holders[key] = holders
                return
            self._holders.pop(key, None)
            if key in self._users or key not in self._handlers:
                return
            handler = self._handlers.pop(key)
        handler.close()

    def close(self) -> None:
        """Close every file, even those of tasks abandoned while running."""
        with self._lock:
            handlers = list(self._handlers.values())
            self._handlers.clear()
            self._users.clear()
            self._holders.clear()
        for handler in handlers:
            handler.close()

    @property
    def open_count(self) -> int:
        """How many files are open now (a held file that is closed until its next record
        does not count)."""
        return self._open_files.count


def failure_message(
    name: str,
    function: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    downstream_impact: Sequence[str],
    failure: Failure,
) -> str:
    """The ERROR record of a failed task: the error, then its context for whoever reads it."""
    lines = [
        f"Task {name} failed: {failure.exception}",
        f"  function: {function}",
        f"  args: {safe_repr(tuple(args))}",
        f"  kwargs: {safe_repr(dict(kwargs))}",
        f"  downstream impact: {', '.join(downstream_impact) or 'none'}",
    ]
    if failure.traced_vars:
        lines.append(f"  traced variables at {failure.traced_vars_location}:")
        lines.extend(f"    {var} = {text}" for var, text in failure.traced_vars.items())
    lines.append(failure.traceback_str.rstrip())
    return "\n".join(lines)


def task_context(error: ErrorData) -> dict[str, Any]:
    """What the failure's ERROR record carries as ``record.task_context`` (SPEC §10).

    A plain dict of the values of ``error`` under exactly the keys v7 users' handlers
    read, with nothing escaped: a handler that renders HTML escapes for itself.
    """
    return {
        "task_name": error.task_name,
        "function": error.function,
        "args": error.args,
        "kwargs": error.kwargs,
        "downstream_impact": list(error.downstream_impact),
        "exception": error.exception,
        "traceback_str": error.traceback_str,
        "traced_vars": dict(error.traced_vars),
        "traced_vars_location": error.traced_vars_location,
    }


# -- records from the task's own code -------------------------------------------------------
#
# The router must see every record that propagates to the root logger, yet the root's
# handlers must stay the user's: ``logging.basicConfig()`` does nothing once the root has
# a handler, so a router among them would silently swallow a task's (or any thread's)
# call to it, for good. So during runs the router hangs on a logger of its own placed
# above the root, as the root's ``parent`` (which logging itself never sets):
# ``Logger.callHandlers`` walks on to it after the root's own handlers, as to any ancestor.


class _TaskRouter(logging.Handler):
    """Above the root logger during runs: copies records to the running task's file."""

    def emit(self, record: logging.LogRecord) -> None:
        handler = current_log_handler()
        if handler is not None and record.levelno >= handler.level:
            if isinstance(handler, _LazyFileHandler):
                handler.handle_routed(record)
            else:
                handler.handle(record)
        # Counting as a handler, the router hides logging's last resort (warnings to
        # stderr when nothing is configured); do its job so that records still go where
        # they would.
        last_resort = logging.lastResort
        if (
            last_resort is not None
            and record.levelno >= last_resort.level
            and not _has_other_handlers(logging.getLogger(record.name))
        ):
            last_resort.handle(record)


def _has_other_handlers(logger: logging.Logger | None) -> bool:
    while logger is not None:
        if any(h is not _router for h in logger.handlers):
            return True
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


_router = _TaskRouter()
_above_root = logging.Logger("processes.routing")  # outside the registry, never configured
_above_root.addHandler(_router)
_router_users = 0
_router_lock = threading.Lock()


@contextlib.contextmanager
def routing_task_records() -> Iterator[None]:
    """While inside, records logged in a task's thread also reach that task's file.

    Only records that reach the root logger are routed: those that their logger's
    effective level lets through (the level of the nearest logger that has one: the
    root's WARNING when nothing is configured), that no filter on their logger drops, and
    that every logger on the way, the root included, propagates. The root's handlers and
    levels are left alone, so ``logging.basicConfig()`` works inside as outside; only
    ``logging.getLogger().hasHandlers()`` is True inside even if nothing is configured.
    """
    global _router_users
    with _router_lock:
        _router_users += 1
        if _router_users == 1:
            root = logging.getLogger()
            _above_root.parent = root.parent  # None, unless someone else stands there too
            root.parent = _above_root
    try:
        yield
    finally:
        with _router_lock:
            _router_users -= 1
            if _router_users == 0:
                root = logging.getLogger()
                if root.parent is _above_root:
                    root.parent = _above_root.parent
