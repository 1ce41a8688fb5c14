"""Where a pooled run's attempts go: our own pool, or a caller's ``Executor``.

Two small adapters behind one interface (as httpx puts transports behind
``handle_request`` and ``close``), so that the pooled driver has no branch for either.
Both hand finished attempts to the driver's queue as ``(token, payload, began)``.
Imports ``attempt``, ``workers`` and ``capture``; never the ledger.
"""

from __future__ import annotations

import functools
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from processes.attempt import AttemptOutcome, run_attempt, run_guarded_attempt
from processes.capture import capture_failure, thread_stack
from processes.workers import DaemonThreadPool

if TYPE_CHECKING:
    import queue
    from concurrent.futures import Executor

    from processes.capture import Stack
    from processes.life import TaskLife
    from processes.task import Task
    from processes.workers import Result


class Workers(Protocol):
    """What the pooled driver needs of the workers that run its attempts."""

    #: The attempts run in this process (their log records can be routed to files).
    in_this_process: bool
    #: Attempts begin as soon as they are submitted (never queued behind others), so
    #: the run times them; otherwise each keeps its own timeout where it runs.
    starts_at_once: bool
    #: More attempts than workers may be submitted; the extra ones wait their turn.
    can_queue: bool

    def submit(self, token: int, life: TaskLife, queued: bool) -> None: ...

    def received(
        self, token: int, payload: Any, begun: float, task: Task
    ) -> tuple[AttemptOutcome, bool]:
        """The outcome in what arrived, and whether the attempt had waited in a queue."""
        ...

    def abandon(self, token: int, task: Task) -> Stack | None:
        """Stop waiting for the attempt; where its code was then, if that can be read."""
        ...

    def take_back(self, token: int) -> bool:
        """Whether the attempt had not begun and now never will."""
        ...

    def take_back_queued(self) -> None:
        """Take back every queued attempt now (from a signal handler: no lock)."""
        ...

    def close(self) -> None: ...


class OwnPool:
    """The run's own ``DaemonThreadPool``: daemon threads, stuck ones replaced."""

    in_this_process = True
    starts_at_once = True
    can_queue = True

    def __init__(self, workers: int, finished: queue.SimpleQueue[Result]) -> None:
        self._pool = DaemonThreadPool(workers, finished)
        self._queued: set[int] = set()  # submitted while every worker had one
        self._taken_back: set[int] = set()  # queued ones SIGTERM took back

    def submit(self, token: int, life: TaskLife, queued: bool) -> None:
        if queued:
            self._queued.add(token)
        task = life.task
        self._pool.submit(
            token,
            run_attempt,
            task.func,
            life.args,
            life.kwargs,
            task.capture_settings,
            life.handler,
        )

    def received(
        self, token: int, payload: Any, begun: float, task: Task
    ) -> tuple[AttemptOutcome, bool]:
        waited = bool(self._queued) and token in self._queued
        if waited:
            self._queued.discard(token)
        if type(payload) is AttemptOutcome:
            return payload, waited
        if isinstance(payload, KeyboardInterrupt):
            raise payload
        # the call itself raised: the attempt could not even be made
        return executor_failure(task, payload, time.perf_counter() - begun), waited

    def abandon(self, token: int, task: Task) -> Stack | None:
        pool = self._pool
        stack = None
        ident = pool.thread_of(token)
        if ident is not None:  # read before its thread's place goes to another
            settings = task.capture_settings
            stack = thread_stack(ident, settings.redactor, settings.frame_filter)
            if pool.thread_of(token) != ident:  # it finished meanwhile: that is not its stack
                stack = None
        pool.abandon(token)
        return stack

    def take_back(self, token: int) -> bool:
        if token in self._taken_back or self._pool.cancel(token):
            self._queued.discard(token)
            return True
        return False

    def take_back_queued(self) -> None:
        for token in list(self._queued):
            if self._pool.cancel(token):
                self._taken_back.add(token)

    def close(self) -> None:
        self._pool.shutdown()


class CallersExecutor:
    """Any ``concurrent.futures.Executor`` the caller gave; never shut down by us."""

    starts_at_once = False
    can_queue = False

    def __init__(self, executor: Executor, finished: queue.SimpleQueue[Result]) -> None:
        self._executor = executor
        self._finished = finished
        self._futures: dict[int, Future[AttemptOutcome]] = {}
        self.in_this_process = isinstance(executor, ThreadPoolExecutor)

    def submit(self, token: int, life: TaskLife, queued: bool) -> None:
        task = life.task
        future = self._executor.submit(
            run_guarded_attempt,
            task.func,
            life.args,
            life.kwargs,
            task.capture_settings,
            uuid.uuid4().hex,
            self.in_this_process,
            life.handler if self.in_this_process else None,
        )
        self._futures[token] = future
        future.add_done_callback(functools.partial(_deliver, self._finished, token))

    def received(
        self, token: int, payload: Any, begun: float, task: Task
    ) -> tuple[AttemptOutcome, bool]:
        self._futures.pop(token, None)
        try:
            outcome: AttemptOutcome = payload.result()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the executor failed to run the attempt at all
            return executor_failure(task, exc, time.perf_counter() - begun), False
        return _masked_here(task, outcome), False

    def abandon(self, token: int, task: Task) -> Stack | None:
        # A foreign executor's worker cannot be reclaimed: stop waiting for it. Its
        # thread is not known here (at its own timeout, the attempt reads its stack).
        self._futures.pop(token).cancel()
        return None

    def take_back(self, token: int) -> bool:
        return False

    def take_back_queued(self) -> None:
        pass

    def close(self) -> None:
        pass  # the caller's: the library never shuts down an executor it did not create


def _deliver(
    finished: queue.SimpleQueue[Result], token: int, future: Future[AttemptOutcome]
) -> None:
    finished.put((token, future, 0.0))


def _masked_here(task: Task, outcome: AttemptOutcome) -> AttemptOutcome:
    """The outcome with this process's environment secrets masked out of its failure:
    a worker elsewhere knows only its own environment."""
    failure = outcome.failure
    known = task.redactor.known_values()
    if failure is None or not known:
        return outcome
    return outcome._replace(failure=failure.masked(list(known)))


def executor_failure(task: Task, exc: BaseException, elapsed: float) -> AttemptOutcome:
    """The outcome of an attempt the executor could not run (it was shut down, or the
    call could not be pickled)."""
    failure = capture_failure(exc, redactor=task.redactor)
    text = failure.exception
    if "pickl" in text.lower() or "serializ" in text.lower():
        text = (
            f"{text} (the function, its arguments and its result must be picklable to "
            "run on this executor: use a module-level function instead of a lambda or a "
            "nested function, or run on threads)"
        )
        failure = replace(failure, exception=text)
    return AttemptOutcome(None, failure, False, elapsed)
