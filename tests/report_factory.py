"""Reports built by hand, so rendering and channel tests do not depend on running tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from processes.outcome import ErrorData, TaskStatus
from processes.report import ProcessExecutionReport, TaskReportEntry

T0 = datetime(2024, 3, 15, 10, 0, 0, tzinfo=UTC)

TRACEBACK = """\
Traceback (most recent call last):
  File "/srv/pipeline/tasks.py", line 41, in charge_payments
    response = gateway.charge(order, amount)
  File "/srv/pipeline/gateway.py", line 12, in charge
    raise ConnectionError("payment gateway unreachable")
ConnectionError: payment gateway unreachable
"""


def error(
    name: str,
    message: str = "ConnectionError: payment gateway unreachable",
    *,
    downstream: tuple[str, ...] = (),
    traceback: str = TRACEBACK,
    traced_vars: dict[str, str] | None = None,
) -> ErrorData:
    return ErrorData(
        task_name=name,
        function=name,
        args=(),
        kwargs={},
        downstream_impact=downstream,
        exception=message,
        traceback_str=traceback,
        traced_vars={"amount": "12.5", "order": "'A-17'"} if traced_vars is None else traced_vars,
        traced_vars_location="/srv/pipeline/tasks.py:41",
        exception_type=message.split(":", 1)[0],
    )


def entry(
    name: str,
    status: TaskStatus = TaskStatus.SUCCESS,
    *,
    start: float | None = 0.0,
    seconds: float = 0.25,
    attempts: int | None = None,
    err: ErrorData | None = None,
    dependencies: tuple[str, ...] = (),
    attempt_errors: tuple[str, ...] = (),
) -> TaskReportEntry:
    ran = status in (TaskStatus.SUCCESS, TaskStatus.ERRORED)
    started = T0 + timedelta(seconds=start) if ran and start is not None else None
    return TaskReportEntry(
        name=name,
        function=name,
        args=(),
        kwargs={},
        status=status,
        elapsed_seconds=seconds if ran else 0.0,
        attempts=(1 if ran else 0) if attempts is None else attempts,
        result="done" if status is TaskStatus.SUCCESS else None,
        error=err,
        started_at=started,
        finished_at=started + timedelta(seconds=seconds) if started else None,
        dependencies=dependencies,
        attempt_errors=attempt_errors,
    )


def report(*entries: TaskReportEntry, name: str = "orders-pipeline") -> ProcessExecutionReport:
    finished = [e.finished_at for e in entries if e.finished_at]
    return ProcessExecutionReport(
        entries={e.name: e for e in entries},
        process_name=name,
        started_at=T0,
        finished_at=max(finished) if finished else T0,
    )


def orders_report() -> ProcessExecutionReport:
    """The seed page's run: payment fails after 3 attempts, shipping is skipped."""
    message = "ConnectionError: payment gateway unreachable"
    return report(
        entry("fetch_inventory", start=0.0, seconds=0.4),
        entry("enrich_pricing", start=0.4, seconds=0.8, dependencies=("fetch_inventory",)),
        entry(
            "charge_payments",
            TaskStatus.ERRORED,
            start=1.2,
            seconds=1.5,
            attempts=3,
            err=error("charge_payments", message, downstream=("ship_orders",)),
            dependencies=("enrich_pricing",),
            attempt_errors=(message, message, message),
        ),
        entry("ship_orders", TaskStatus.SKIPPED, dependencies=("charge_payments",)),
        entry("archive_logs", start=0.0, seconds=0.1),
    )


def large_report(
    tasks: int = 3000, failures: int = 20, skipped_each: int = 10
) -> ProcessExecutionReport:
    """A big run: ``failures`` errored tasks, each skipping ``skipped_each`` others."""
    entries: list[TaskReportEntry] = []
    per_failure = skipped_each + 1
    for f in range(failures):
        root = f"load_partition_{f:04d}"
        downstream = tuple(f"transform_{f:04d}_{i:02d}" for i in range(skipped_each))
        head, _, tail = TRACEBACK.replace("charge_payments", root).partition(
            '  File "/srv/pipeline/gateway.py"'
        )
        frames = "".join(
            f'  File "/srv/pipeline/lib/step{i}.py", line {i + 10}, in step{i}\n    helper_{i}()\n'
            for i in range(15)
        )
        trace = head + frames + '  File "/srv/pipeline/gateway.py"' + tail
        entries.append(
            entry(
                root,
                TaskStatus.ERRORED,
                start=f * 0.5,
                seconds=2.0,
                err=error(
                    root,
                    f"ValueError: partition {f} has a bad row",
                    downstream=downstream,
                    traceback=trace,
                ),
            )
        )
        entries.extend(entry(name, TaskStatus.SKIPPED, dependencies=(root,)) for name in downstream)
    for i in range(tasks - failures * per_failure):
        entries.append(
            entry(f"compute_metric_{i:05d}", start=(i % 300) * 0.1, seconds=0.05 + (i % 7) * 0.3)
        )
    return report(*entries, name="nightly-warehouse")
