"""Runs on real foreign executors: a ProcessPoolExecutor and a local Dask cluster.

The task functions live in ``executor_jobs`` so that worker processes can import them.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

import executor_jobs as jobs
import pytest
from distributed import Client, LocalCluster

from processes import Process, Task, TaskDependency, TaskStatus

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration

SECRET = "tok-do-not-leak-4242"


def piped(name: str, *, kwarg: str | None = None) -> TaskDependency:
    if kwarg is not None:
        return TaskDependency(
            name, use_result_as_additional_kwargs=True, additional_kwarg_name=kwarg
        )
    return TaskDependency(name, use_result_as_additional_args=True)


@pytest.fixture(scope="module")
def process_pool() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(2) as pool:
        yield pool


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


# -- ProcessPoolExecutor -------------------------------------------------------------------


def test_process_pool_pipes_results_along_edges_in_other_processes(
    process_pool: ProcessPoolExecutor,
) -> None:
    tasks = [
        Task("numbers", jobs.numbers, args=(5,)),
        Task("squares", jobs.square_all, dependencies=[piped("numbers")]),
        Task("total", jobs.total, args=(100,), dependencies=[piped("squares")]),
        Task(
            "label",
            jobs.label,
            kwargs={"prefix": "total="},
            dependencies=[piped("total", kwarg="value")],
        ),
        Task("pid", jobs.worker_pid),
    ]
    with Process(tasks) as process:
        report = process.run(executor=process_pool)

    assert report.ok, report.to_text()
    entries = report.entries
    assert entries["squares"].result == [0, 1, 4, 9, 16]
    assert entries["total"].result == 130
    assert entries["label"].result == "total=130"
    assert entries["pid"].result != os.getpid()


def test_process_pool_lambda_is_errored_about_pickling_while_the_rest_succeed(
    process_pool: ProcessPoolExecutor,
) -> None:
    tasks = [
        Task("numbers", jobs.numbers, args=(3,)),
        Task("anonymous", lambda: 1),
        Task("after_anonymous", jobs.total, args=(1,), dependencies=[TaskDependency("anonymous")]),
        Task("squares", jobs.square_all, dependencies=[piped("numbers")]),
    ]
    with Process(tasks) as process:
        report = process.run(executor=process_pool)

    assert set(report.successes) == {"numbers", "squares"}
    assert set(report.errored) == {"anonymous"}
    assert set(report.skipped) == {"after_anonymous"}
    error = report.errored["anonymous"].error
    assert error is not None
    assert "pickl" in error.exception.lower()
    assert "module-level function" in error.exception


def test_process_pool_failure_carries_redacted_traced_variables_and_traceback(
    process_pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    log = tmp_path / "bad.log"
    tasks = [
        Task("bad", jobs.fail_with_locals, log_path=log, args=(7,)),
        Task("after_bad", jobs.total, args=(1,), dependencies=[TaskDependency("bad")]),
    ]
    with Process(tasks) as process:
        report = process.run(executor=process_pool)

    error = report.errored["bad"].error
    assert error is not None
    assert error.headline == "ValueError: order 7 is malformed (2 rows, 20)"
    assert error.exception_type == "ValueError"
    assert error.traced_vars == {
        "order_id": "7",
        "api_token": "[redacted]",
        "rows_seen": "[7, 8]",
    }
    assert error.traced_vars_location.startswith(jobs.__file__ + ":")
    assert "in fail_with_locals" in error.traceback_str
    assert error.traceback_str.rstrip().endswith("ValueError: order 7 is malformed (2 rows, 20)")
    assert error.downstream_impact == ["after_bad"]
    # The log file is written by the machine running the Process, from what came back.
    text = log.read_text()
    assert "Starting bad." in text
    assert "rows_seen = [7, 8]" in text
    assert SECRET not in text + report.to_json()


def test_process_pool_retries_run_again_in_worker_processes(
    process_pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    counter = tmp_path / "calls"
    task = Task("flaky", jobs.flaky, args=(str(counter), 2), retries=3, retry_delay=0.01)
    with Process([task]) as process:
        report = process.run(executor=process_pool)

    entry = report.entries["flaky"]
    assert entry.status is TaskStatus.SUCCESS
    assert entry.result == 3
    assert entry.attempts == 3
    assert entry.attempt_errors == (
        "ConnectionError: call 1 refused",
        "ConnectionError: call 2 refused",
    )
    assert counter.read_text() == "3"


def test_process_pool_unpicklable_result_is_errored_with_a_clear_message(
    process_pool: ProcessPoolExecutor,
) -> None:
    tasks = [
        Task("lock", jobs.unpicklable_result),
        Task("numbers", jobs.numbers, args=(2,)),
    ]
    with Process(tasks) as process:
        report = process.run(executor=process_pool)

    assert report.entries["numbers"].status is TaskStatus.SUCCESS
    error = report.errored["lock"].error
    assert error is not None
    assert "cannot pickle" in error.exception
    assert "must be picklable" in error.exception


def test_process_pool_is_still_usable_after_run(process_pool: ProcessPoolExecutor) -> None:
    with Process([Task("numbers", jobs.numbers, args=(4,))]) as process:
        first = process.run(executor=process_pool)
        second = process.run(executor=process_pool)

    assert first.ok
    assert second.ok
    assert process_pool.submit(jobs.total, 1, 2, [3]).result(timeout=60) == 6


# -- Dask ----------------------------------------------------------------------------------


def test_dask_runs_a_fan_in_of_thirty_tasks_and_skips_only_the_failures_dependants(
    dask_client: Client,
) -> None:
    parts = [Task(f"part{i}", jobs.square_sum, args=(i * 1000, (i + 1) * 1000)) for i in range(30)]
    fan_in = Task("grand_total", jobs.total, dependencies=[piped(t.name) for t in parts])
    bad = Task("bad", jobs.fail_with_locals, args=(11,))
    after_bad = Task("after_bad", jobs.total, args=(1,), dependencies=[piped("grand_total")])
    after_bad.add_dependency(TaskDependency("bad"))
    tasks = [*parts, fan_in, bad, after_bad, Task("anonymous", lambda x: x + 1, args=(41,))]
    with Process(tasks, name="dask") as process:
        report = process.run(executor=dask_client.get_executor(), max_workers=4)

    assert len(report.successes) == 32, report.to_text()
    assert report.entries["grand_total"].result == sum(v * v for v in range(30_000))
    assert report.entries["anonymous"].result == 42
    assert set(report.errored) == {"bad"}
    assert set(report.skipped) == {"after_bad"}
    error = report.errored["bad"].error
    assert error is not None
    assert error.headline == "ValueError: order 11 is malformed (2 rows, 20)"
    assert error.traced_vars == {
        "order_id": "11",
        "api_token": "[redacted]",
        "rows_seen": "[11, 12]",
    }
    assert error.traced_vars_location.startswith(jobs.__file__ + ":")
    assert "in fail_with_locals" in error.traceback_str
    assert error.downstream_impact == ["after_bad"]
    assert SECRET not in report.to_json()


def test_dask_client_and_executor_are_still_usable_after_run(dask_client: Client) -> None:
    executor = dask_client.get_executor()
    with Process([Task("numbers", jobs.numbers, args=(3,))]) as process:
        report = process.run(executor=executor)

    assert report.entries["numbers"].result == [0, 1, 2]
    assert executor.submit(jobs.total, 2, [3]).result(timeout=60) == 5
    assert dask_client.submit(jobs.total, 4, [5]).result(timeout=60) == 9


@pytest.mark.parametrize("pure", [None, False])
def test_dask_retries_run_again(dask_client: Client, tmp_path: Path, pure: bool | None) -> None:
    # Dask treats submissions as pure by default: a retry must not get the cached failure.
    counter = tmp_path / "calls"
    task = Task("flaky", jobs.flaky, args=(str(counter), 2), retries=3)
    executor = dask_client.get_executor() if pure is None else dask_client.get_executor(pure=pure)
    with Process([task]) as process:
        report = process.run(executor=executor)

    entry = report.entries["flaky"]
    assert counter.read_text() == "3"
    assert entry.status is TaskStatus.SUCCESS
    assert entry.attempts == 3
    assert entry.result == 3
    assert entry.attempt_errors == (
        "ConnectionError: call 1 refused",
        "ConnectionError: call 2 refused",
    )


def test_dask_runs_the_same_process_twice_for_real(dask_client: Client, tmp_path: Path) -> None:
    counter = tmp_path / "calls"
    with Process([Task("count", jobs.flaky, args=(str(counter), 0))]) as process:
        first = process.run(executor=dask_client.get_executor())
        second = process.run(executor=dask_client.get_executor())

    assert first.entries["count"].result == 1
    assert second.entries["count"].result == 2


def test_dask_runs_a_mapped_tasks_items_with_failures_and_retries(
    dask_client: Client, tmp_path: Path
) -> None:
    names = ["bad-0", *(f"f{i:02d}" for i in range(12)), "bad-1"]
    mapped = Task(
        "load",
        jobs.flaky_or_bad,
        kwargs={"counter_dir": str(tmp_path)},
        dependencies=[TaskDependency("names", use_result_as_additional_args=True, for_each=True)],
        retries=1,
        retry_on=(ConnectionError, ValueError),
        max_failed=2,
    )
    tasks = [
        Task("names", lambda: names),
        mapped,
        Task("count", len, dependencies=[piped("load")]),
    ]
    with Process(tasks, name="dask-items") as process:
        report = process.run(executor=dask_client.get_executor(), max_workers=4)

    good = names[1:-1]
    assert list(report.entries) == ["names", "load", *(f"load[{n}]" for n in names), "count"]
    load = report.entries["load"]
    assert load.status is TaskStatus.SUCCESS  # 2 failed items, within max_failed=2
    assert list(load.result) == good  # in item order, whatever order they ended in
    assert report.entries["count"].result == 12
    assert set(report.errored) == {"load[bad-0]", "load[bad-1]"}
    assert not report.ok
    for name in good:
        entry = report.entries[f"load[{name}]"]
        assert (entry.status, entry.attempts, entry.item_key) == (TaskStatus.SUCCESS, 2, name)
        assert entry.attempt_errors == (f"ConnectionError: {name}: call 1 refused",)
        assert load.result[name].startswith(f"{name}:2:")
    for name in ("bad-0", "bad-1"):
        entry = report.entries[f"load[{name}]"]
        assert entry.attempts == 2
        assert entry.error is not None
        assert entry.error.headline == f"ValueError: {name} is malformed (call 2)"
    # Every item ran exactly its two attempts, in the cluster's worker processes.
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == dict.fromkeys(names, "2")
    pids = {value.rsplit(":", 1)[1] for value in load.result.values()}
    assert str(os.getpid()) not in pids
