"""One attempt at a task: the small picklable call that crosses to an executor.

``run_attempt`` and ``run_guarded_attempt`` are module-level functions of plain values so
that a thread pool, a process pool or a Dask cluster can run them; what they return is
plain values too. They never raise for the task's own failure. Every way into a task's function goes
through ``run_attempt``. Imports only ``capture``, ``termination``, ``tasklog`` and
``saferepr``: nothing that schedules.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from processes.capture import attach_stack, capture_failure, stand_in_failure, thread_stack
from processes.saferepr import safe_repr
from processes.tasklog import use_log_handler
from processes.termination import HALTS, DeadlinePassed

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from processes.capture import Failure, Stack
    from processes.redaction import Redactor
    from processes.termination import Guard


#: Extra time a timed-out ``async def`` task gets to be cancelled inside its own loop
#: before its thread is abandoned.
ASYNC_CANCEL_GRACE_SECONDS = 1.0

#: Longest a blocking wait lasts before the waiting thread checks for Ctrl-C.
WAKE_UP_SECONDS = 0.2

_NEVER = float("inf")

#: What ends an attempt without being the task's failure: the run stopping, or its
#: deadline passing in the task's code.
_CUT_SHORT = (*HALTS, DeadlinePassed)


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """How a failure is recorded: which frame to trace, which names to redact, what retries."""

    frame_filter: str | None
    redactor: Redactor
    retry_on: tuple[type[BaseException], ...]
    timeout_seconds: float | None = None


class AttemptOutcome(NamedTuple):
    """The value of a successful attempt, or the failure of an unsuccessful one."""

    value: Any
    failure: Failure | None
    retryable: bool
    elapsed_seconds: float


_new_tuple = tuple.__new__

#: Result types known not to be awaitable: ``hasattr`` on a missing attribute costs an
#: exception, once per type instead of once per attempt. Bounded: a task that returns
#: instances of ever new classes fills it once, then is asked each time.
_NOT_AWAITABLE: set[type] = {int, float, str, bytes, bool, type(None), list, dict, tuple}
_MOST_TYPES_REMEMBERED = 1_000

#: Results whose ``repr`` is the interpreter's own and runs no code of the task's: every
#: other result's ``repr`` is taken once inside the attempt (``run_attempt``).
_SHOWN_BY_PYTHON: frozenset[type] = frozenset({int, float, complex, str, bytes, bool, type(None)})
_FLAT_ITEMS = 1_000  # past it, the bounded repr costs less than looking at every item


def _is_awaitable(value: Any) -> bool:
    """Whether ``value`` is awaitable (an ``async def`` task's coroutine, a future)."""
    cls = type(value)
    if hasattr(cls, "__await__"):
        return True
    if len(_NOT_AWAITABLE) < _MOST_TYPES_REMEMBERED:
        _NOT_AWAITABLE.add(cls)
    return False


#: This process's id, kept by a fork hook instead of asked of the system per attempt.
_pid = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _pid.__setitem__(0, os.getpid()))


def _leave_if_forked(pid: int, status: int) -> None:
    """A child the task's code forked came back here, in place of ``os._exit``: it
    ends now, quietly, with ``status``, instead of running the rest of its parent's run
    a second time (the tasks after, the record, the alerts). What it printed is flushed,
    as leaving the interpreter would."""
    if _pid[0] == pid:
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or odd stream: it ends all the same
            stream.flush()
    os._exit(status)


def _exit_status(exc: BaseException) -> int:
    """The status a forked child leaves with when the task's code raised ``exc`` there."""
    if isinstance(exc, SystemExit):
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 1


def _flat(value: Any) -> bool:
    """Whether ``value`` is a list, tuple or dict of at most ``_FLAT_ITEMS`` values
    whose ``repr`` is the interpreter's own: its own ``repr`` runs no task's code."""
    kind = type(value)
    if (kind is not list and kind is not tuple and kind is not dict) or len(value) > _FLAT_ITEMS:
        return False
    shown = _SHOWN_BY_PYTHON.__contains__
    if kind is dict:
        return all(map(shown, map(type, value))) and all(map(shown, map(type, value.values())))
    return all(map(shown, map(type, value)))


def run_attempt(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    settings: CaptureSettings,
    log_handler: logging.Handler | None = None,
    guard: Guard | None = None,
) -> AttemptOutcome:
    """Call ``func(*args, **kwargs)`` once and record how it went.

    With ``log_handler``, records that the task's code logs meanwhile in this thread are
    also written there (see ``tasklog.routing_task_records``). With ``guard`` (an attempt
    in the run's own thread), the guard is open exactly while the task's code runs.
    """
    started = time.perf_counter()
    pid = _pid[0]
    if log_handler is not None:
        outer = use_log_handler(log_handler)
    try:
        if guard is not None:
            guard.enter()
        value = func(*args, **kwargs)
        if type(value) not in _NOT_AWAITABLE and _is_awaitable(value):  # an async def task
            value = await_result(value, settings.timeout_seconds)  # its code runs here
        if _pid[0] != pid:  # inline: one call less per attempt
            _leave_if_forked(pid, 0)
        if type(value) not in _SHOWN_BY_PYTHON and not _flat(value):
            # Reports, logs and views show the result by its repr, which is the task's
            # code: it is tried here first, under the task's timeout and the run's
            # deadline, so that one that always blocks ends this attempt, not the run.
            # (Its text is not kept: the views take it again, bounded by safe_repr.)
            safe_repr(value)
        if guard is not None:
            guard.is_open = False
    except _CUT_SHORT:  # the run is stopping, or its deadline passed: not the task's failure
        _leave_if_forked(pid, 1)
        raise
    except BaseException as exc:  # SystemExit from a task ends the task, not the run
        _leave_if_forked(pid, _exit_status(exc))
        if guard is not None:
            guard.is_open = False  # capturing the failure is the run's bookkeeping
        elapsed = time.perf_counter() - started
        return failed_attempt(exc, settings, elapsed, func, args, kwargs)
    finally:
        if guard is not None:
            guard.is_open = False
        if log_handler is not None:
            use_log_handler(outer)
    # tuple.__new__ directly: the NamedTuple's own __new__ is a Python call per attempt
    return _new_tuple(AttemptOutcome, (value, None, False, time.perf_counter() - started))


def run_within_timeout(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    settings: CaptureSettings,
    log_handler: logging.Handler | None = None,
    guard: Guard | None = None,
    *,
    deadline_seconds: float | None = None,
) -> AttemptOutcome:
    """``run_attempt``, given up on at the task's timeout: the call is left to a daemon thread.

    The abandoned thread runs on until the function returns (Python cannot stop a
    thread), but it never keeps the interpreter from exiting. An ``async def`` task is
    cancelled inside its own loop first; its thread is abandoned only if it does not
    yield to the cancellation within ``ASYNC_CANCEL_GRACE_SECONDS``. With
    ``deadline_seconds`` (what is left of the run's deadline) the attempt is abandoned
    then too, if that comes first, and ``DeadlinePassed`` is raised. With ``guard``, it
    is open while the task's code runs here, or while this thread waits for it.
    """
    timeout_seconds = settings.timeout_seconds
    if timeout_seconds is None and deadline_seconds is None:
        return run_attempt(func, args, kwargs, settings, log_handler, guard)
    timeout_limit = _NEVER if timeout_seconds is None else abandon_after(func, timeout_seconds)
    deadline_limit = _NEVER if deadline_seconds is None else deadline_seconds
    box: list[AttemptOutcome] = []
    started = time.perf_counter()
    worker = threading.Thread(
        target=lambda: box.append(run_attempt(func, args, kwargs, settings, log_handler)),
        name=f"processes-attempt-{getattr(func, '__name__', 'task')}",
        daemon=True,
    )
    worker.start()
    if guard is None:
        wait_for_thread(worker, min(timeout_limit, deadline_limit))
    else:
        try:  # a signal that stops the wait abandons the attempt's thread
            guard.enter()
            wait_for_thread(worker, min(timeout_limit, deadline_limit))
        except _CUT_SHORT as halt:  # where the abandoned thread was goes with the halt
            attach_stack(halt, _stack_of_thread(worker, settings))
            raise
        finally:
            guard.is_open = False
    if box:
        return box[0]
    stack = _stack_of_thread(worker, settings)  # read before it moves on
    if timeout_limit < deadline_limit:
        return timed_out(settings, time.perf_counter() - started, stack)
    passed = DeadlinePassed()
    attach_stack(passed, stack)
    raise passed


def _stack_of_thread(thread: threading.Thread, settings: CaptureSettings) -> Stack | None:
    """Where the code of the attempt running in ``thread`` is now (see ``thread_stack``)."""
    return thread_stack(thread.ident, settings.redactor, settings.frame_filter)


def abandon_after(func: Callable[..., Any], timeout_seconds: float) -> float:
    """Seconds after which an attempt's thread is given up: an ``async def`` task first
    gets ``ASYNC_CANCEL_GRACE_SECONDS`` to be cancelled inside its own loop."""
    if inspect.iscoroutinefunction(func):
        return timeout_seconds + ASYNC_CANCEL_GRACE_SECONDS
    return timeout_seconds


def run_guarded_attempt(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    settings: CaptureSettings,
    submission: str,
    keep_cause: bool,
    log_handler: logging.Handler | None = None,
) -> AttemptOutcome:
    """The attempt sent to an executor the run does not own: it keeps its own timeout.

    The timeout is enforced where the attempt runs, so time spent queued in the executor
    does not count. Without ``keep_cause`` the exception object stays behind (custom
    exceptions often cannot be rebuilt from a pickle; the failure's text can).
    ``submission`` is unique per call and otherwise unused: engines that cache calls by
    their arguments (Dask treats submissions as pure) would hand a retry the result of
    the attempt it retries.
    """
    outcome = run_within_timeout(func, args, kwargs, settings, log_handler)
    if keep_cause or outcome.failure is None:
        return outcome
    return outcome._replace(failure=outcome.failure.without_cause())


def wait_for_thread(thread: threading.Thread, timeout_seconds: float) -> None:
    """``thread.join(timeout)`` in short slices, so that Ctrl-C is not held up meanwhile.

    A signal delivered to another thread does not wake a thread blocked in ``join``; the
    main thread sees the KeyboardInterrupt only when it next wakes.
    """
    deadline = time.monotonic() + timeout_seconds
    while thread.is_alive():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        thread.join(min(left, WAKE_UP_SECONDS))


def interruptible_sleep(seconds: float) -> None:
    """``time.sleep`` in short slices, for the same reason as ``wait_for_thread``."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, WAKE_UP_SECONDS))


def failed_attempt(
    exc: BaseException,
    settings: CaptureSettings,
    elapsed_seconds: float,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> AttemptOutcome:
    """The outcome of the call ``func(*args, **kwargs)`` that raised ``exc``, captured now."""
    failure = capture_failure(
        exc,
        frame_filter=settings.frame_filter,
        redactor=settings.redactor,
        func=func,
        args=args,
        kwargs=kwargs,
    )
    return AttemptOutcome(None, failure, isinstance(exc, settings.retry_on), elapsed_seconds)


def await_result(awaitable: Any, timeout_seconds: float | None) -> Any:
    """Run an ``async def`` task's coroutine to its end on a loop of its own.

    The timeout is enforced inside the loop so that a timed-out coroutine is really
    cancelled, not merely left behind. Only that timeout becomes the library's
    ``TimeoutError``; one the coroutine raises itself is its own failure.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop in this thread: the usual case
        pass
    else:  # called from async code (a sequential run inside a coroutine): use a thread
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(await_result, awaitable, timeout_seconds).result()
    return asyncio.run(_awaited(awaitable, timeout_seconds))


async def _awaited(awaitable: Any, timeout_seconds: float | None) -> Any:
    if timeout_seconds is None:
        return await awaitable
    scope = asyncio.timeout(timeout_seconds)
    try:
        async with scope:
            return await awaitable
    except TimeoutError as exc:
        if not scope.expired():  # the task's own TimeoutError, raised before its deadline
            raise
        raise TimeoutError(timeout_message(timeout_seconds, "cancelled")) from exc


def timeout_message(timeout_seconds: float, fate: Literal["cancelled", "abandoned"]) -> str:
    """The message of the ``TimeoutError`` of an attempt stopped at its timeout."""
    return f"Attempt timed out after {timeout_seconds:g} s and was {fate}"


def timed_out(
    settings: CaptureSettings, elapsed_seconds: float, stack: Stack | None = None
) -> AttemptOutcome:
    """The outcome of an attempt abandoned at its timeout; ``stack`` is where its code
    was then, read before the thread was abandoned."""
    message = timeout_message(settings.timeout_seconds or 0.0, "abandoned")
    failure = stand_in_failure(TimeoutError, message, stack=stack)
    return AttemptOutcome(
        None, failure, issubclass(TimeoutError, settings.retry_on), elapsed_seconds
    )
