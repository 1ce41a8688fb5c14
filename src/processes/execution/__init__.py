"""The engine: a ledger that decides, and two thin drivers that run attempts.

- ``ledger``: each task's life (readiness, gates, retries due, stops, entries, the
  report); owns no thread, signal or clock. ``gates``: when a task may start.
  ``inputs``: what a task receives and what its entry shows of it.
- ``sequential``: the driver in the calling thread (signal handlers, deadline alarm).
- ``pooled``: the driver on a pool; ``pools``: our pool and a caller's ``Executor``,
  two adapters behind one interface. ``deadline``: the run's deadline clock.
  ``signals``: the SIGTERM, Ctrl-C and SIGALRM handlers a run installs.

Imports the tasks, the graph, attempts, logging and the report; never ``process``,
``history`` or a channel.
"""

from __future__ import annotations

import queue
from typing import TYPE_CHECKING

from processes.attempt import interruptible_sleep
from processes.execution.deadline import Deadline
from processes.execution.ledger import Ledger
from processes.execution.pooled import PooledDriver
from processes.execution.pools import CallersExecutor, OwnPool, Workers
from processes.execution.sequential import SequentialDriver

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Executor

    from processes.report import ProcessExecutionReport
    from processes.workers import Result

__all__ = ["Ledger", "execute"]


def execute(
    ledger: Ledger,
    *,
    workers: int,
    executor: Executor | None = None,
    sleep: Callable[[float], None] | None = None,
    deadline: float | None = None,
) -> ProcessExecutionReport:
    """Run the ledger's tasks and return the report: in the calling thread when
    ``workers`` is 1 and no ``executor`` is given, else on a pool."""
    clock = Deadline(deadline)
    if executor is None and workers == 1:
        return SequentialDriver(ledger, clock, sleep or interruptible_sleep).run()
    finished: queue.SimpleQueue[Result] = queue.SimpleQueue()
    pool: Workers = (
        OwnPool(workers, finished) if executor is None else CallersExecutor(executor, finished)
    )
    return PooledDriver(ledger, pool, finished, workers, clock, sleep).run()
