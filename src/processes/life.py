"""One task's life in a run, from its start to its entry: its inputs, attempts and log.

The one retry loop: every path that runs a task's attempts (the engine's drivers and
``Task.run()``) records each attempt here, and ``settle`` says whether a retry follows
and after how long, writing the task's log lines on the way, as tenacity's one
``RetryCallState`` serves all its strategies. Imports ``tasklog`` and types only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from processes.tasklog import (
    LOG_FINISHED,
    LOG_RETRYING,
    LOG_STARTING,
    failure_message,
    task_context,
)

if TYPE_CHECKING:
    import logging
    import os
    from collections.abc import Sequence
    from datetime import datetime

    from processes.attempt import AttemptOutcome
    from processes.capture import Failure
    from processes.outcome import ErrorData
    from processes.retry import RetryPolicy
    from processes.task import Task
    from processes.tasklog import LogFiles


class TaskLife:
    """What is known of one task from its start until its entry is written."""

    __slots__ = (
        "args",
        "attempt_errors",
        "attempts",
        "failure",
        "handler",
        "kwargs",
        "logger",
        "started_at",
        "started_perf",
        "task",
    )

    def __init__(
        self,
        task: Task,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        started_at: datetime | None = None,
        started_perf: float = 0.0,
    ) -> None:
        self.task = task
        self.args = args
        self.kwargs: dict[str, Any] = {} if kwargs is None else kwargs
        self.attempts = 0
        self.attempt_errors: tuple[str, ...] = ()  # grows only on failures
        self.failure: Failure | None = None  # the last failed attempt's record
        self.logger: logging.Logger | None = None  # while it has log output
        self.handler: logging.Handler | None = None  # the task's log file, while it runs
        self.started_at = started_at
        self.started_perf = started_perf

    def open_log(
        self,
        name: str,
        logger: logging.Logger,
        logs: LogFiles,
        log_path: str | os.PathLike[str] | None,
    ) -> None:
        """Attach the task's file (if it has one) to its logger; write its first line."""
        self.logger = logger
        if log_path is not None:
            self.handler = logs.acquire(log_path)
            logger.addHandler(self.handler)
        logger.info(LOG_STARTING, name)

    def settle(
        self, outcome: AttemptOutcome, policy: RetryPolicy, may_retry: bool = True
    ) -> float | None:
        """Record one attempt; return the seconds before a retry, or None when the task
        is done (it succeeded, or its last failure is ``failure``)."""
        self.attempts += 1
        failure = outcome.failure
        if failure is None:
            return None
        self.attempt_errors += (failure.exception,)
        self.failure = failure
        if not (outcome.retryable and self.attempts < policy.max_attempts and may_retry):
            return None
        if self.logger is not None:
            self.logger.warning(LOG_RETRYING, self.attempts, policy.max_attempts, failure.exception)
        return policy.delay_before(self.attempts)

    def log_failure(self, error: ErrorData, impact: Sequence[str], failure: Failure) -> None:
        """Write the task's ERROR record, carrying ``task_context`` (SPEC §10)."""
        if self.logger is not None:
            message = failure_message(
                error.task_name, error.function, error.args, error.kwargs, impact, failure
            )
            self.logger.error(message, extra={"task_context": task_context(error)})

    def close_log(
        self, name: str, logs: LogFiles, log_path: str | os.PathLike[str] | None, succeeded: bool
    ) -> None:
        """Write the task's last line if it succeeded; detach and release its file."""
        logger = self.logger
        if logger is None:
            return
        if succeeded:
            logger.info(LOG_FINISHED, name)
        if self.handler is not None and log_path is not None:
            if not logs.release(log_path):  # a file its process holds stays on the logger
                logger.removeHandler(self.handler)
            self.handler = None
        self.logger = None
