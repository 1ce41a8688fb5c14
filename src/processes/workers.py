"""The thread pool a run owns when the caller gives no executor.

Unlike ``ThreadPoolExecutor`` its threads are daemons, so a task stuck past its timeout
never keeps the interpreter from exiting, and ``abandon()`` hands the stuck thread's
place to a fresh one, so an abandoned attempt never holds a worker the run needs.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class DaemonThreadPool(Executor):
    """A fixed number of daemon worker threads; an abandoned worker is replaced."""

    def __init__(self, max_workers: int, name: str = "processes") -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._name = name
        self._lock = threading.Lock()
        self._owner: dict[Future[Any], int] = {}  # running call -> its thread's ident
        self._abandoned: set[int] = set()  # threads whose place a replacement took
        self._shutdown = False
        self._count = 0
        for _ in range(max_workers):
            self._start_worker()

    def _start_worker(self) -> None:
        self._count += 1
        thread = threading.Thread(
            target=self._work, name=f"{self._name}-{self._count}", daemon=True
        )
        thread.start()

    def _work(self) -> None:
        me = threading.get_ident()
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            with self._lock:
                self._owner[future] = me
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)
            with self._lock:
                del self._owner[future]
                if me in self._abandoned:  # a replacement took this place: retire
                    self._abandoned.discard(me)
                    return

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        if self._shutdown:
            raise RuntimeError("cannot submit to a pool that was shut down")
        future: Future[T] = Future()
        self._queue.put((future, fn, args, kwargs))
        return future

    def abandon(self, future: Future[Any]) -> None:
        """Give up on a call: a queued one is cancelled, a running one's thread replaced."""
        if future.cancel():
            return
        with self._lock:
            owner = self._owner.get(future)
            if owner is not None and owner not in self._abandoned:
                self._abandoned.add(owner)
                self._start_worker()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        # Workers are daemons: they are told to stop, never waited for, since one may be
        # stuck in an abandoned task forever.
        self._shutdown = True
        for _ in range(self._count):
            self._queue.put(None)
