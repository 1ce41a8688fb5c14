"""One attempt at a task: the small picklable call that crosses to an executor.

``run_attempt`` is a module-level function of plain values so that a thread pool, a
process pool or a Dask cluster can run it; what it returns is plain values too. It never
raises for the task's own failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from processes.capture import Failure, capture_failure

if TYPE_CHECKING:
    from collections.abc import Callable

    from processes.redaction import Redactor


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


def run_attempt(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    settings: CaptureSettings,
) -> AttemptOutcome:
    """Call ``func(*args, **kwargs)`` once and record how it went."""
    started = time.perf_counter()
    try:
        value = func(*args, **kwargs)
        if hasattr(type(value), "__await__"):  # an async def task: run it to its end
            value = await_result(value, settings.timeout_seconds)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit from a task ends the task, not the run
        elapsed = time.perf_counter() - started
        return failed_attempt(exc, settings, elapsed, func, args, kwargs)
    return AttemptOutcome(value, None, False, time.perf_counter() - started)


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


def run_remote_attempt(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    settings: CaptureSettings,
    submission: str,
) -> AttemptOutcome:
    """``run_attempt`` for executors in other processes: the exception object stays behind.

    Custom exceptions often cannot be rebuilt from a pickle; the failure's text can.
    ``submission`` is unique per call and otherwise unused: engines that cache calls by
    their arguments (Dask treats submissions as pure) would hand a retry the result of
    the attempt it retries.
    """
    outcome = run_attempt(func, args, kwargs, settings)
    if outcome.failure is None:
        return outcome
    return AttemptOutcome(
        None, outcome.failure.without_cause(), outcome.retryable, outcome.elapsed_seconds
    )


def await_result(awaitable: Any, timeout_seconds: float | None) -> Any:
    """Run an ``async def`` task's coroutine to its end on a loop of its own.

    The timeout is enforced inside the loop so that a timed-out coroutine is really
    cancelled, not merely left behind.
    """

    async def main() -> Any:
        return await asyncio.wait_for(awaitable, timeout_seconds)

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop in this thread: the usual case
        pass
    else:  # called from async code (a sequential run inside a coroutine): use a thread
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(await_result, awaitable, timeout_seconds).result()
    try:
        return asyncio.run(main())
    except TimeoutError as exc:
        raise TimeoutError(f"timed out after {timeout_seconds} s") from exc


def timed_out(settings: CaptureSettings, elapsed_seconds: float) -> AttemptOutcome:
    """The outcome of an attempt abandoned at its deadline."""
    timeout_seconds = settings.timeout_seconds or 0.0
    try:
        raise TimeoutError(f"Attempt timed out after {timeout_seconds:g} s and was abandoned")
    except TimeoutError as exc:
        failure = Failure(
            exception=f"TimeoutError: {exc}",
            exception_type="TimeoutError",
            traceback_str=f"TimeoutError: {exc}\n",
            traced_vars={},
            traced_vars_location="",
            cause=exc,
        )
    return AttemptOutcome(
        None, failure, issubclass(TimeoutError, settings.retry_on), elapsed_seconds
    )
