"""Reports built by hand for the webhook and chat tests: no task has to run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from processes.outcome import ErrorData, TaskStatus
from processes.report import ProcessExecutionReport, TaskReportEntry

T0 = datetime(2026, 5, 1, 2, 0, 0, tzinfo=UTC)

TRACEBACK = """\
Traceback (most recent call last):
  File "/srv/orders/tasks.py", line 41, in charge_payments
    response = gateway.charge(order, amount)
  File "/srv/orders/gateway.py", line 12, in charge
    raise ConnectionError("payment gateway unreachable")
ConnectionError: payment gateway unreachable
"""


def make_error(
    name: str,
    exception: str = "ConnectionError: payment gateway unreachable",
    *,
    downstream: tuple[str, ...] = (),
    traceback: str = TRACEBACK,
    traced_vars: dict[str, str] | None = None,
) -> ErrorData:
    return ErrorData(
        task_name=name,
        function=f"tasks.{name}",
        args=(),
        kwargs={},
        downstream_impact=downstream,
        exception=exception,
        traceback_str=traceback,
        traced_vars={"order": "'A-17'", "amount": "12.5"} if traced_vars is None else traced_vars,
        traced_vars_location="/srv/orders/tasks.py:41",
        exception_type=exception.split(":", 1)[0],
    )


def make_entry(
    name: str,
    status: TaskStatus = TaskStatus.SUCCESS,
    *,
    result: object = None,
    error: ErrorData | None = None,
    attempts: int = 1,
    offset_seconds: float = 0.0,
    elapsed_seconds: float = 0.5,
    dependencies: tuple[str, ...] = (),
) -> TaskReportEntry:
    ran = status is not TaskStatus.SKIPPED
    started = T0 + timedelta(seconds=offset_seconds) if ran else None
    return TaskReportEntry(
        name=name,
        function=f"tasks.{name}",
        args=(),
        kwargs={},
        status=status,
        elapsed_seconds=elapsed_seconds if ran else 0.0,
        attempts=attempts if ran else 0,
        result=result,
        error=error,
        started_at=started,
        finished_at=started + timedelta(seconds=elapsed_seconds) if started else None,
        dependencies=dependencies,
    )


def make_report(*entries: TaskReportEntry, name: str = "orders-pipeline") -> ProcessExecutionReport:
    finished = max((e.finished_at for e in entries if e.finished_at), default=T0)
    return ProcessExecutionReport(
        entries={e.name: e for e in entries},
        process_name=name,
        started_at=T0,
        finished_at=finished,
    )


def orders_report() -> ProcessExecutionReport:
    """The seed page's run: 3 successes, charge_payments errored, ship_orders skipped."""
    return make_report(
        make_entry("fetch_inventory", result={"sku": 3}),
        make_entry("enrich_pricing", result=[1.5, 2.0], offset_seconds=0.5),
        make_entry(
            "charge_payments",
            TaskStatus.ERRORED,
            error=make_error("charge_payments", downstream=("ship_orders",)),
            attempts=3,
            offset_seconds=1.0,
            dependencies=("enrich_pricing",),
        ),
        make_entry("ship_orders", TaskStatus.SKIPPED, dependencies=("charge_payments",)),
        make_entry("archive_logs", result="ok", offset_seconds=0.2),
    )


def large_report(tasks: int = 5000, failures: int = 300) -> ProcessExecutionReport:
    """A big run: every ``tasks // failures``-th task errored, each skipping its successor."""
    step = tasks // failures
    entries = []
    failed_so_far = 0
    for index in range(tasks):
        name = f"task_{index:05d}_transform_partition"
        if index % step == 0 and failed_so_far < failures:
            failed_so_far += 1
            downstream = (f"task_{index + 1:05d}_transform_partition",)
            error = make_error(
                name,
                f"ValueError: row {index} of partition {index % 97} has a bad date '31/02'",
                downstream=downstream,
                traceback=TRACEBACK * 20,
                traced_vars={f"var_{i}": repr("x" * 300) for i in range(30)},
            )
            entries.append(make_entry(name, TaskStatus.ERRORED, error=error, attempts=2))
        elif index % step == 1 and failed_so_far <= failures and index > 0:
            entries.append(make_entry(name, TaskStatus.SKIPPED))
        else:
            entries.append(make_entry(name, result=index, offset_seconds=index / 100))
    return make_report(*entries, name="nightly-warehouse-load")


def hostile_report() -> ProcessExecutionReport:
    """A failing task whose text tries to ping a channel and inject markup."""
    text = (
        "ValueError: @everyone @here <!channel> <b>bold</b> <script>alert(1)</script> "
        "[x](https://evil.test) & more"
    )
    return make_report(
        make_entry("ok_task", result="<i>fine</i> @everyone"),
        make_entry(
            "bad_<!channel>_task",
            TaskStatus.ERRORED,
            error=make_error(
                "bad_<!channel>_task",
                text,
                traceback=f"Traceback (most recent call last):\n```\n{text}\n",
                traced_vars={"note": repr("@everyone <!here> <img src=x>")},
            ),
        ),
        name="pipeline <!channel> @everyone",
    )
