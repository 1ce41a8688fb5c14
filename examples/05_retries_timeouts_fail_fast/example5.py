"""Example 5: retries, timeouts and fail-fast against a flaky service.

The "service" is simulated in this process, so the example runs offline in a few
seconds. It drops the first two connections, then answers; one of its endpoints hangs
forever; one answers with data that fails validation.

- ``fetch_prices`` is retried with a growing, jittered delay until the service answers;
- ``fetch_stock`` hangs: its timeout abandons the stuck call, the task errors with a
  ``TimeoutError`` and the run goes on;
- ``check_rates`` raises ``ValueError``, which is not in ``retry_on``: no retry;
- the second run uses ``fail_fast=True``: after the first error nothing new starts;
- the third run takes a lock that a cleanup task (``run_when="all_done"``) releases
  although ``check_rates`` failed, and bounds the whole run with ``deadline=``: the hung
  ``fetch_stock``, with no timeout of its own this time, is abandoned when it passes.

    python examples/05_retries_timeouts_fail_fast/example5.py
"""

from __future__ import annotations

import sys
import threading
import time

from processes import EventKind, Process, Task, TaskDependency, TaskEvent


class FlakyService:
    """A stand-in for a remote service: drops the first connections, hangs on /stock."""

    def __init__(self, failures_before_success: int) -> None:
        self.failures_left = failures_before_success
        self.calls = 0
        self._never = threading.Event()  # nobody sets it: a call that never returns

    def prices(self) -> dict[str, float]:
        self.calls += 1
        if self.failures_left > 0:
            self.failures_left -= 1
            raise ConnectionError(f"connection reset by peer (call {self.calls})")
        return {"apple": 0.5, "pear": 0.75}

    def stock(self) -> dict[str, int]:
        self._never.wait()  # stuck: no answer, no error
        return {}

    def rates(self) -> dict[str, float]:
        return {"EUR": -1.0}


def check_rates(rates: dict[str, float]) -> dict[str, float]:
    if any(rate <= 0 for rate in rates.values()):
        raise ValueError(f"rates must be positive, got {rates}")
    return rates


def publish(prices: dict[str, float], stock: dict[str, int]) -> str:
    return f"published {len(prices)} prices and {len(stock)} stock levels"


def build_tasks(service: FlakyService) -> list[Task]:
    return [
        Task(
            "fetch_prices",
            service.prices,
            retries=4,
            retry_on=(ConnectionError,),
            retry_delay=0.05,  # seconds before the first retry
            retry_backoff=2,  # then 0.1, 0.2, ...
            retry_max_delay=0.5,  # never more than this
            retry_jitter=0.2,  # each delay moved by up to ±20%
        ),
        Task("fetch_stock", service.stock, timeout=0.3),
        Task("fetch_rates", service.rates),
        Task(
            "check_rates",
            check_rates,
            retries=3,
            retry_on=(ConnectionError,),  # a ValueError is not worth retrying
            dependencies=[TaskDependency("fetch_rates", use_result_as_additional_args=True)],
        ),
        Task(
            "publish",
            publish,
            dependencies=[
                TaskDependency("fetch_prices", use_result_as_additional_args=True),
                TaskDependency("fetch_stock", use_result_as_additional_args=True),
            ],
        ),
    ]


class LockServer:
    """A stand-in for a lock service: a lock taken must be released, whatever happens."""

    def __init__(self) -> None:
        self.held: set[str] = set()

    def take(self) -> str:
        token = f"lock-{len(self.held) + 1}"
        self.held.add(token)
        return token

    def release(self, token: str | None) -> str:
        if token is None:  # take_lock itself failed: nothing to release
            return "nothing to release"
        self.held.discard(token)
        return f"released {token}"


def build_guarded_tasks(service: FlakyService, locks: LockServer) -> list[Task]:
    """The same work under a lock, with a cleanup task that releases it in any case."""
    return [
        Task("take_lock", locks.take),
        Task("fetch_stock", service.stock, dependencies=[TaskDependency("take_lock")]),
        Task("fetch_rates", service.rates, dependencies=[TaskDependency("take_lock")]),
        Task(
            "check_rates",
            check_rates,
            dependencies=[TaskDependency("fetch_rates", use_result_as_additional_args=True)],
        ),
        Task(
            "release_lock",
            locks.release,
            # Runs once its upstream tasks are done, whatever their status: cleanup.
            run_when="all_done",
            dependencies=[
                TaskDependency("take_lock", use_result_as_additional_args=True),
                TaskDependency("check_rates"),
            ],
        ),
        Task("report_stock", lambda: "reported", dependencies=[TaskDependency("fetch_stock")]),
    ]


def print_event(event: TaskEvent) -> None:
    if event.kind is EventKind.RETRYING:
        print(
            f"    {event.task_name}: attempt {event.attempt}/{event.max_attempts} failed "
            f"({event.error}); retrying in {event.delay_seconds:.2f}s"
        )


def main() -> int:
    print("== run 1: retries and a timeout ==")
    service = FlakyService(failures_before_success=2)
    started = time.perf_counter()
    with Process(build_tasks(service), name="shop-sync") as process:
        report = process.run(parallel=True, max_workers=2, on_event=print_event)
    elapsed = time.perf_counter() - started
    for name, entry in report.entries.items():
        line = f"  {entry.status.value:<8} {name:<13} attempts={entry.attempts}"
        if entry.error is not None:
            line += f"  {entry.error.headline}"
        print(line)
    prices = report.entries["fetch_prices"]
    print(f"  fetch_prices failed attempts: {list(prices.attempt_errors)}")
    print(f"  the service was called {service.calls} times for prices")
    print(f"  the run took {elapsed:.1f}s although fetch_stock never returns")

    print("== run 2: fail_fast=True, one task at a time ==")
    with Process(build_tasks(FlakyService(failures_before_success=0))) as process:
        fast = process.run(parallel=False, fail_fast=True)
    for name, entry in fast.entries.items():
        print(f"  {entry.status.value:<8} {name}")
    print(
        f"  {len(fast.successes)} succeeded, {len(fast.errored)} errored, "
        f"{len(fast.skipped)} skipped"
    )

    print("== run 3: a cleanup step, and a deadline for the whole run ==")
    locks = LockServer()
    with Process(build_guarded_tasks(FlakyService(0), locks)) as process:
        bounded = process.run(parallel=True, max_workers=2, deadline=1.0)
    for name, entry in bounded.entries.items():
        line = f"  {name:<13} {entry.status.value}"
        if entry.skip_reason is not None:
            line += f" ({entry.skip_reason.value}"
            line += f": {entry.skip_cause})" if entry.skip_cause else ")"
        elif entry.error is not None:
            line += f"  {entry.error.headline}"
        print(line)
    stopped = bounded.stopped_by.value if bounded.stopped_by else "nothing"
    print(f"  stopped by: {stopped}")
    print(
        f"  release_lock: {bounded.entries['release_lock'].result}; locks held: {len(locks.held)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
