"""Reports built by hand, so rendering, file and channel tests do not depend on running tasks.

One builder per model class -- ``make_error``, ``make_entry``, ``make_report``,
``make_finding`` -- and the sample runs the tests share. Timestamps, dependencies, retries
and failures are chosen, so each test knows exactly what a view must show. Some samples
keep their own start time, function names or failure site because tests assert those
values.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial

from processes.history.crashes import DIED_WHILE_RUNNING
from processes.outcome import CrashedRun, ErrorData, SkipReason, StopReason, TaskStatus
from processes.report import ProcessExecutionReport, TaskReportEntry
from processes.report.finding import Finding, FindingKind

T0 = datetime(2024, 3, 15, 10, 0, 0, tzinfo=UTC)

TRACEBACK = """\
Traceback (most recent call last):
  File "/srv/pipeline/tasks.py", line 41, in charge_payments
    response = gateway.charge(order, amount)
  File "/srv/pipeline/gateway.py", line 12, in charge
    raise ConnectionError("payment gateway unreachable")
ConnectionError: payment gateway unreachable
"""


def raising(function: str, exception: str, where: str = "jobs.py:12") -> str:
    """A one-frame traceback: ``function``, at ``where`` (``file:line``), raised ``exception``."""
    path, _, line = where.rpartition(":")
    kind, _, message = exception.partition(": ")
    return (
        "Traceback (most recent call last):\n"
        f'  File "{path}", line {line}, in {function}\n'
        f"    raise {kind}({message!r})\n"
        f"{exception}\n"
    )


def make_error(
    name: str,
    exception: str = "ConnectionError: payment gateway unreachable",
    *,
    downstream: tuple[str, ...] = (),
    traceback: str = TRACEBACK,
    traced_vars: dict[str, str] | None = None,
    location: str = "/srv/pipeline/tasks.py:41",
    module: str = "",
    args: tuple[object, ...] = (),
) -> ErrorData:
    """The failure of task ``name``, raised by ``module.name`` (by ``name`` if no module).

    ``exception`` is given as views show it, ``"Type: message"``: ``ErrorData`` holds the
    message and the type apart.
    """
    exception_type, _, message = exception.partition(": ")
    return ErrorData(
        task_name=name,
        function=f"{module}.{name}" if module else name,
        args=args,
        kwargs={},
        downstream_impact=list(downstream),
        exception=message,
        traceback_str=traceback,
        traced_vars={"amount": "12.5", "order": "'A-17'"} if traced_vars is None else traced_vars,
        traced_vars_location=location,
        exception_type=exception_type,
    )


def make_entry(
    name: str,
    status: TaskStatus = TaskStatus.SUCCESS,
    *,
    start: float | None = 0.0,
    seconds: float = 0.25,
    attempts: int | None = None,
    error: ErrorData | None = None,
    dependencies: tuple[str, ...] = (),
    attempt_errors: tuple[str, ...] = (),
    result: object = "done",
    module: str = "",
    t0: datetime = T0,
) -> TaskReportEntry:
    """A task that ran from ``t0 + start`` for ``seconds``, unless it was skipped.

    ``start=None`` leaves out the timestamps (a task that ran, from a report without them);
    ``result`` is kept for a success only.
    """
    ran = status in (TaskStatus.SUCCESS, TaskStatus.ERRORED)
    started = t0 + timedelta(seconds=start) if ran and start is not None else None
    return TaskReportEntry(
        name=name,
        function=f"{module}.{name}" if module else name,
        args=(),
        kwargs={},
        status=status,
        elapsed_seconds=seconds if ran else 0.0,
        attempts=(1 if ran else 0) if attempts is None else attempts,
        result=result if status is TaskStatus.SUCCESS else None,
        error=error,
        started_at=started,
        finished_at=started + timedelta(seconds=seconds) if started else None,
        dependencies=dependencies,
        attempt_errors=attempt_errors,
    )


def make_report(
    *entries: TaskReportEntry, name: str = "orders-pipeline", t0: datetime = T0
) -> ProcessExecutionReport:
    """The run of ``entries``: it starts at ``t0`` and ends when the last of them finished."""
    return ProcessExecutionReport(
        entries={e.name: e for e in entries},
        process_name=name,
        started_at=t0,
        finished_at=max((e.finished_at for e in entries if e.finished_at), default=t0),
    )


# -- the orders run, as the text, page and email tests know it ------------------------------


def orders_report() -> ProcessExecutionReport:
    """The seed page's run: payment fails after 3 attempts, shipping is skipped."""
    message = "ConnectionError: payment gateway unreachable"
    return make_report(
        make_entry("fetch_inventory", start=0.0, seconds=0.4),
        make_entry("enrich_pricing", start=0.4, seconds=0.8, dependencies=("fetch_inventory",)),
        make_entry(
            "charge_payments",
            TaskStatus.ERRORED,
            start=1.2,
            seconds=1.5,
            attempts=3,
            error=make_error("charge_payments", message, downstream=("ship_orders",)),
            dependencies=("enrich_pricing",),
            attempt_errors=(message, message, message),
        ),
        make_entry("ship_orders", TaskStatus.SKIPPED, dependencies=("charge_payments",)),
        make_entry("archive_logs", start=0.0, seconds=0.1),
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
            make_entry(
                root,
                TaskStatus.ERRORED,
                start=f * 0.5,
                seconds=2.0,
                error=make_error(
                    root,
                    f"ValueError: partition {f} has a bad row",
                    downstream=downstream,
                    traceback=trace,
                ),
            )
        )
        entries.extend(
            make_entry(name, TaskStatus.SKIPPED, dependencies=(root,)) for name in downstream
        )
    for i in range(tasks - failures * per_failure):
        entries.append(
            make_entry(
                f"compute_metric_{i:05d}", start=(i % 300) * 0.1, seconds=0.05 + (i % 7) * 0.3
            )
        )
    return make_report(*entries, name="nightly-warehouse")


# -- the webhook and chat samples: `tasks.` functions, real results, failing at /srv/orders --

PAYLOAD_T0 = datetime(2026, 5, 1, 2, 0, 0, tzinfo=UTC)
PAYLOAD_LOCATION = "/srv/orders/tasks.py:41"
PAYLOAD_TRACEBACK = TRACEBACK.replace("/srv/pipeline/", "/srv/orders/")
_payload_entry = partial(make_entry, module="tasks", seconds=0.5, t0=PAYLOAD_T0)


def orders_payload_report() -> ProcessExecutionReport:
    """The orders run as a webhook payload shows it: 3 successes with real results,
    charge_payments errored after 3 attempts, ship_orders skipped.

    Not ``orders_report()``: the webhook tests assert its start (2026-05-01 02:00 UTC), its
    results, the ``tasks.`` function names and the failure site under /srv/orders.
    """
    failure = make_error(
        "charge_payments",
        downstream=("ship_orders",),
        traceback=PAYLOAD_TRACEBACK,
        traced_vars={"order": "'A-17'", "amount": "12.5"},
        location=PAYLOAD_LOCATION,
        module="tasks",
    )
    return make_report(
        _payload_entry("fetch_inventory", result={"sku": 3}),
        _payload_entry("enrich_pricing", result=[1.5, 2.0], start=0.5),
        _payload_entry(
            "charge_payments",
            TaskStatus.ERRORED,
            error=failure,
            attempts=3,
            start=1.0,
            dependencies=("enrich_pricing",),
        ),
        _payload_entry("ship_orders", TaskStatus.SKIPPED, dependencies=("charge_payments",)),
        _payload_entry("archive_logs", result="ok", start=0.2),
        t0=PAYLOAD_T0,
    )


def heavy_report(tasks: int = 5000, failures: int = 300) -> ProcessExecutionReport:
    """A big run whose failures are bulky (a 20-fold traceback, 30 long variables each):
    every ``tasks // failures``-th task errored, each skipping its successor."""
    step = tasks // failures
    entries = []
    failed_so_far = 0
    for index in range(tasks):
        name = f"task_{index:05d}_transform_partition"
        if index % step == 0 and failed_so_far < failures:
            failed_so_far += 1
            error = make_error(
                name,
                f"ValueError: row {index} of partition {index % 97} has a bad date '31/02'",
                downstream=(f"task_{index + 1:05d}_transform_partition",),
                traceback=PAYLOAD_TRACEBACK * 20,
                traced_vars={f"var_{i}": repr("x" * 300) for i in range(30)},
                location=PAYLOAD_LOCATION,
                module="tasks",
            )
            entries.append(_payload_entry(name, TaskStatus.ERRORED, error=error, attempts=2))
        elif index % step == 1 and failed_so_far <= failures and index > 0:
            entries.append(_payload_entry(name, TaskStatus.SKIPPED))
        else:
            entries.append(_payload_entry(name, result=index, start=index / 100))
    return make_report(*entries, name="nightly-warehouse-load", t0=PAYLOAD_T0)


def hostile_report() -> ProcessExecutionReport:
    """A failing task whose text tries to ping a channel and inject markup."""
    text = (
        "ValueError: @everyone @here <!channel> <b>bold</b> <script>alert(1)</script> "
        "[x](https://evil.test) & more"
    )
    return make_report(
        _payload_entry("ok_task", result="<i>fine</i> @everyone"),
        _payload_entry(
            "bad_<!channel>_task",
            TaskStatus.ERRORED,
            error=make_error(
                "bad_<!channel>_task",
                text,
                traceback=f"Traceback (most recent call last):\n```\n{text}\n",
                traced_vars={"note": repr("@everyone <!here> <img src=x>")},
                location=PAYLOAD_LOCATION,
                module="tasks",
            ),
        ),
        name="pipeline <!channel> @everyone",
        t0=PAYLOAD_T0,
    )


# -- the page, Mermaid, file and CLI samples: `jobs.` functions raising ValueError ----------

PAGE_T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
JOB_VARS = {"row": "{'id': 7}", "limit": "10"}
_job = partial(make_entry, module="jobs", seconds=1.0, result=42, t0=PAGE_T0)


def _job_failure(name: str, message: str, downstream: tuple[str, ...] = ()) -> ErrorData:
    exception = f"ValueError: {message}"
    return make_error(
        name,
        exception,
        downstream=downstream,
        traceback=raising(name, exception),
        traced_vars=dict(JOB_VARS),
        location="jobs.py:12",
        module="jobs",
        args=(1,),
    )


def small_report() -> ProcessExecutionReport:
    """extract -> (clean, fetch) -> load -> publish; fetch fails after retries."""
    return make_report(
        _job("extract", start=0, seconds=2),
        _job("clean", start=2.5, seconds=1, dependencies=("extract",)),
        _job(
            "fetch",
            TaskStatus.ERRORED,
            start=2,
            seconds=3,
            dependencies=("extract",),
            attempts=3,
            attempt_errors=("ConnectionError: reset", "ConnectionError: reset", "boom"),
            error=_job_failure("fetch", "boom", downstream=("load", "publish")),
        ),
        _job("load", TaskStatus.SKIPPED, dependencies=("clean", "fetch")),
        _job("publish", TaskStatus.SKIPPED, dependencies=("load",)),
        _job("audit", start=0.5, seconds=0.2, attempts=2, attempt_errors=("TimeoutError",)),
        name="nightly",
        t0=PAGE_T0,
    )


def dag_report(
    size: int, *, failures: int, seed: int = 7, fan_in: int = 3, layers: int = 8
) -> ProcessExecutionReport:
    """A layered DAG of ``size`` tasks; ``failures`` of them error and skip their dependants.

    Deterministic for a given seed. Every task depends on up to ``fan_in`` tasks of earlier
    layers; start times follow the layering, with jitter so the order is not the names'.
    """
    rng = random.Random(seed)
    names = [f"task_{i:05d}" for i in range(size)]
    layer_of = {name: min(layers - 1, i * layers // size) for i, name in enumerate(names)}
    by_layer: dict[int, list[str]] = {}
    for name in names:
        by_layer.setdefault(layer_of[name], []).append(name)
    failing = set(rng.sample(names[: size * 3 // 4], failures))
    status: dict[str, TaskStatus] = {}
    impact: dict[str, list[str]] = {name: [] for name in names}
    roots: dict[str, set[str]] = {}  # the errored tasks that a skipped task is blocked by
    entries: list[TaskReportEntry] = []
    for name in names:
        layer = layer_of[name]
        earlier = [n for lay in range(max(0, layer - 2), layer) for n in by_layer[lay]]
        deps = tuple(sorted(rng.sample(earlier, min(fan_in, len(earlier))))) if earlier else ()
        blocked = [d for d in deps if status[d] is not TaskStatus.SUCCESS]
        start = layer * 10 + rng.random() * 8
        if blocked:
            status[name] = TaskStatus.SKIPPED
            roots[name] = {r for d in blocked for r in roots[d]}
            for root in roots[name]:
                impact[root].append(name)
            entries.append(_job(name, TaskStatus.SKIPPED, dependencies=deps))
        elif name in failing:
            status[name] = TaskStatus.ERRORED
            roots[name] = {name}
            entries.append(
                _job(
                    name,
                    TaskStatus.ERRORED,
                    start=start,
                    seconds=1.5,
                    dependencies=deps,
                    attempts=2,
                    attempt_errors=("ConnectionError: reset", f"ValueError: {name} broke"),
                )
            )
        else:
            status[name] = TaskStatus.SUCCESS
            entries.append(_job(name, start=start, seconds=rng.random() * 2, dependencies=deps))
    # The failures learn what they skipped only once the whole run is known.
    final = [
        replace(e, error=_job_failure(e.name, f"{e.name} broke", tuple(impact[e.name])))
        if e.status is TaskStatus.ERRORED
        else e
        for e in entries
    ]
    return make_report(*final, name="big-run", t0=PAGE_T0)


# -- a night killed with SIGKILL, and the night after (SPEC §13) ------------------------------

CRASHED_RUN_ID = "20240314T100000Z-1a2b3c4d"
CRASHED_AT = datetime(2024, 3, 14, 10, 0, 0, tzinfo=UTC)
#: What a crashed run's running task says, as the history writes it when it closes the run.
DIED_MESSAGE = DIED_WHILE_RUNNING  # what the history writes for a task its process died in
NIGHTLY = ("extract", "transform", "stage", "load_db", "index", "publish", "notify", "archive")


def after_crash(
    *crashes: CrashedRun, report: ProcessExecutionReport | None = None
) -> ProcessExecutionReport:
    """A run that found ``crashes`` dead and closed them (the orders run by default).

    With no ``crashes``: the night before died after 3 of 8 tasks, during ``load_db``.
    """
    report = orders_report() if report is None else report
    crashes = crashes or (CrashedRun(CRASHED_RUN_ID, CRASHED_AT, 3, 8, ("load_db",)),)
    return replace(report, run_id="20240315T100000Z-9f8e7d6c", host="batch-01", crashes=crashes)


def crashed_run_report() -> ProcessExecutionReport:
    """A crashed run read back from a history: 3 of 8 tasks done, ``load_db`` running.

    The running task is ERRORED with the history's message, the rest SKIPPED (crashed);
    the run never finished, so it has no ``finished_at`` (nor the running task).
    """
    entries: list[TaskReportEntry] = []
    previous: tuple[str, ...] = ()
    for index, name in enumerate(NIGHTLY):
        if index < 3:
            entry = make_entry(
                name, start=index * 10.0, seconds=10.0, dependencies=previous, t0=CRASHED_AT
            )
        elif index == 3:
            died = replace(  # as the history writes it: a message, and no exception class
                make_error(name, traceback="", traced_vars={}, location=""),
                exception=DIED_MESSAGE,
                exception_type="",
            )
            entry = make_entry(
                name,
                TaskStatus.ERRORED,
                start=30.0,
                error=died,
                dependencies=previous,
                t0=CRASHED_AT,
            )
            entry = replace(entry, finished_at=None, elapsed_seconds=0.0)
        else:
            entry = make_entry(name, TaskStatus.SKIPPED, dependencies=previous)
            entry = replace(entry, skip_reason=SkipReason.CRASHED)
        entries.append(entry)
        previous = (name,)
    report = make_report(*entries, name="nightly", t0=CRASHED_AT)
    return replace(
        report,
        finished_at=None,
        run_id=CRASHED_RUN_ID,
        host="batch-01",
        stopped_by=StopReason.CRASHED,
    )


#: When the findings ``make_finding`` builds began.
FINDING_SINCE = datetime.fromisoformat("2026-12-06T02:15:00+00:00")


def make_finding(kind: FindingKind, name: str = "nightly-etl") -> Finding:
    """A finding as ``check()`` makes it, with everything around it known."""
    from processes.rendering.findings import finding_sentence

    made = Finding(
        kind,
        name,
        None if kind is FindingKind.MISSED else "20261206T021500Z-1a2b3c4d",
        FINDING_SINCE,
        "",
        last_run_id="20261205T021500Z-9f8e7d6c",
        last_started_at=FINDING_SINCE - timedelta(days=1),
        last_outcome="ok",
        last_seconds=2950.2,
        usual_seconds=3012.5,
        limit_seconds=1004.2 if kind is FindingKind.TOO_SHORT else None,
        checked_at=FINDING_SINCE + timedelta(hours=1, minutes=5),
    )
    return replace(made, message=finding_sentence(made))
