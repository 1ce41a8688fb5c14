"""The thread pool a run owns when the caller gives no executor.

Unlike ``ThreadPoolExecutor`` its threads are daemons, so a task stuck past its timeout
never keeps the interpreter from exiting, and ``abandon()`` hands the stuck thread's
place to a fresh one, so an abandoned call never holds a worker the run needs. Calls
carry a token and their results go straight to the run's queue, without the
``Future`` machinery (a condition variable and callbacks per call) the run does not need.
Imports nothing from the package.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

#: What a worker puts on the results queue: the call's token, what the call returned
#: (or the exception it raised), and when it began (``time.perf_counter()``; 0.0 where
#: that is not known).
Result = tuple[int, Any, float]

_Call = tuple[int, "Callable[..., Any]", tuple[Any, ...]]


class DaemonThreadPool:
    """Up to ``max_workers`` daemon threads running calls; an abandoned worker is replaced.

    Threads start with the first calls, one per call up to ``max_workers``, so a run of
    two tasks starts two threads, whatever ``max_workers`` says.
    """

    def __init__(self, max_workers: int, results: queue.SimpleQueue[Result]) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._max_workers = max_workers
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._results = results
        self._lock = threading.Lock()
        # Each worker's current call token, by thread ident. A worker writes its own key
        # without the lock (a dict store is atomic); only abandon() reads the others.
        self._running: dict[int, int | None] = {}
        self._abandoned: set[int] = set()  # workers whose place a replacement took
        # Tokens submitted and not begun yet. A worker begins a call, and ``cancel()``
        # takes one back, by removing its token from here: a single step under the GIL,
        # so exactly one of them succeeds, without a lock.
        self._pending: set[int] = set()
        # Workers that still take calls from the queue (abandoned ones never do again):
        # shutdown() sends each of them one sentinel.
        self._live = 0
        self._started = itertools.count(1)  # for thread names only

    def _start_worker(self) -> None:
        # Under self._lock: abandon() starts a replacement while holding it.
        self._live += 1
        name = f"processes-{next(self._started)}"
        threading.Thread(target=self._work, name=name, daemon=True).start()

    def _work(self) -> None:
        me = threading.get_ident()
        running = self._running
        pending = self._pending
        clock = time.perf_counter
        while True:
            call = self._calls.get()
            if call is None:
                return
            token, fn, args = call
            running[me] = token  # before the call begins, so that abandon() finds it
            try:
                pending.remove(token)
            except KeyError:  # cancelled before it began
                pass
            else:
                began = clock()
                try:
                    outcome: Any = fn(*args)
                except BaseException as exc:  # reported, never raised in a worker
                    outcome = exc
                self._results.put((token, outcome, began))
            running[me] = None
            if me in self._abandoned:  # a replacement took this place: retire
                with self._lock:
                    self._abandoned.discard(me)
                    del running[me]
                return

    def submit(self, token: int, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)``; its result arrives on the results queue as ``(token, result)``."""
        if self._live < self._max_workers:  # still filling the pool: a thread per call
            with self._lock:
                if self._live < self._max_workers:
                    self._start_worker()
        self._pending.add(token)
        self._calls.put((token, fn, args))

    def cancel(self, token: int) -> bool:
        """Take back a call no worker has begun; True if it never will run.

        Takes no lock, so a signal handler may call it.
        """
        try:
            self._pending.remove(token)
        except KeyError:  # begun (or finished, or cancelled already)
            return False
        return True

    def thread_of(self, token: int) -> int | None:
        """The ident of the worker running the call ``token`` now, if one is."""
        for ident, running in list(self._running.items()):
            if running == token:
                return ident
        return None

    def abandon(self, token: int) -> bool:
        """Give up on a call: if it runs, a new worker takes its thread's place.

        Returns whether the call had begun (False: it never will).
        """
        if self.cancel(token):
            return False
        with self._lock:
            for ident, running in list(self._running.items()):
                if running == token and ident not in self._abandoned:
                    self._abandoned.add(ident)
                    self._live -= 1
                    self._start_worker()
                    break
        return True

    def shutdown(self) -> None:
        """Tell the workers to stop; never wait for them (one may be stuck forever)."""
        with self._lock:
            live, self._live = self._live, 0
        for _ in range(live):
            self._calls.put(None)
