"""Mapped tasks run for real (SPEC §15): sequential, on our pool, on a ThreadPoolExecutor
and on a ProcessPoolExecutor, with retries, timeouts, max_failed, and the report's views.

The task functions live in ``executor_jobs`` so that worker processes can import them.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import executor_jobs as jobs
import pytest

from processes import (
    Process,
    ProcessExecutionReport,
    ProcessFailedError,
    ReportChannel,
    Task,
    TaskDependency,
    TaskStatus,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration


def _each(name: str) -> TaskDependency:
    return TaskDependency(name, use_result_as_additional_args=True, for_each=True)


def _whole(name: str, kwarg: str | None = None) -> TaskDependency:
    if kwarg is not None:
        return TaskDependency(
            name, use_result_as_additional_kwargs=True, additional_kwarg_name=kwarg
        )
    return TaskDependency(name, use_result_as_additional_args=True)


def _daily(files: list[str], **load: Any) -> list[Task]:
    """files -> load (for each file; the prefix whole, as a keyword) -> count."""
    return [
        Task("files", lambda: files),
        Task("prefix", jobs.label, args=(0,), kwargs={"prefix": "p"}),
        Task(
            "load",
            jobs.load_file,
            dependencies=[_each("files"), _whole("prefix", "prefix")],
            **load,
        ),
        Task("count", jobs.count_loaded, dependencies=[_whole("load")]),
    ]


@pytest.fixture(scope="module")
def process_pool() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(2) as pool:
        yield pool


@pytest.fixture(scope="module")
def thread_pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as pool:
        yield pool


@pytest.mark.parametrize("how", ["sequential", "our pool", "threads"])
def test_items_run_on_every_driver_each_with_its_entry(
    how: str, thread_pool: ThreadPoolExecutor
) -> None:
    files = [*jobs.daily_files(30), "bad-1.csv", "bad-2.csv"]
    options: dict[str, Any] = {
        "sequential": {"parallel": False},
        "our pool": {"parallel": True, "max_workers": 4},
        "threads": {"executor": thread_pool, "max_workers": 4},
    }[how]
    with Process(_daily(files, max_failed=2), name="daily") as process:
        report = process.run(**options)
    load = report.entries["load"]
    assert load.status is TaskStatus.SUCCESS, report.to_text(color=False)
    assert list(load.result) == files[:30]
    assert load.result["2026-12-05.csv"].startswith("p0" + "2026-12-05.csv:")
    assert report.entries["count"].result == 30
    assert set(report.errored) == {"load[bad-1.csv]", "load[bad-2.csv]"}
    assert not report.ok  # errored items fail ok, within max_failed too
    names = list(report.entries)
    assert names[names.index("load") + 1 : names.index("count")] == [f"load[{f}]" for f in files]


def test_items_run_in_other_processes(process_pool: ProcessPoolExecutor) -> None:
    tasks = [
        Task("files", jobs.daily_files, args=(6,)),
        Task("prefix", jobs.label, args=(1,), kwargs={"prefix": "p"}),
        Task("load", jobs.load_file, dependencies=[_each("files"), _whole("prefix", "prefix")]),
        Task("count", jobs.count_loaded, dependencies=[_whole("load")]),
    ]
    with Process(tasks) as process:
        report = process.run(executor=process_pool, max_workers=2)
    assert report.ok, report.to_text(color=False)
    assert report.entries["count"].result == 6
    pids = {value.rsplit(":", 1)[1] for value in report.entries["load"].result.values()}
    assert str(os.getpid()) not in pids  # loaded in the pool's processes


@pytest.mark.parametrize("parallel", [False, True])
def test_each_item_retries_on_its_own(tmp_path: Path, parallel: bool) -> None:
    tasks = [
        Task("names", lambda: ["a", "b", "c"]),
        Task(
            "fetch",
            jobs.flaky_item,
            args=(),
            kwargs={"counter_dir": str(tmp_path)},
            dependencies=[_each("names")],
            retries=1,
        ),
    ]
    report = Process(tasks).run(parallel=parallel)
    assert report.ok, report.to_text(color=False)
    assert report.entries["fetch"].result == {"a": "a:2", "b": "b:2", "c": "c:2"}
    for key in "abc":
        entry = report.entries[f"fetch[{key}]"]
        assert entry.attempts == 2
        assert entry.attempt_errors == (f"ConnectionError: {key}: call 1 refused",)


@pytest.mark.parametrize("parallel", [False, True])
def test_an_item_past_its_timeout_fails_alone(parallel: bool) -> None:
    tasks = [
        Task("names", lambda: ["x", "hang-1", "y"]),
        Task("wait", jobs.hang_on, dependencies=[_each("names")], timeout=0.3, max_failed=1),
    ]
    try:
        report = Process(tasks).run(parallel=parallel)
    finally:
        jobs.RELEASE.set()
    jobs.RELEASE.clear()
    error = report.entries["wait[hang-1]"].error
    assert error is not None
    assert "timed out" in error.exception
    assert report.entries["wait"].status is TaskStatus.SUCCESS
    assert report.entries["wait"].result == {"x": "x", "y": "y"}


def test_max_failed_as_a_fraction_and_the_failure_naming_the_items() -> None:
    files = ["bad-a.csv", "ok-1.csv", "bad-b.csv", "ok-2.csv"]
    report = Process(_daily(files, max_failed=0.25)).run()
    load = report.entries["load"]
    assert load.status is TaskStatus.ERRORED
    assert load.error is not None
    assert load.error.headline == (
        "RuntimeError: 2 of 4 items did not succeed (max_failed=0.25): bad-a.csv, bad-b.csv"
    )
    assert report.entries["count"].skip_cause == "load"
    report = Process(_daily(files, max_failed=0.5)).run()
    assert report.entries["load"].status is TaskStatus.SUCCESS
    assert report.entries["count"].result == 2


def test_a_duplicate_key_a_non_iterable_and_an_empty_result() -> None:
    report = Process(_daily(["a.csv", "b.csv", "a.csv"])).run()
    assert report.errored["load"].error.headline.startswith(  # type: ignore[union-attr]
        "ValueError: duplicate item key 'a.csv': the items at positions 0 and 2"
    )
    assert "load[a.csv]" not in report.entries
    tasks = _daily([])
    tasks[0] = Task("files", lambda: 5)
    report = Process(tasks).run()
    assert "is not iterable (int)" in report.errored["load"].error.exception  # type: ignore[union-attr]
    report = Process(_daily([])).run(parallel=True)
    assert report.ok
    assert report.entries["load"].result == {}
    assert report.entries["count"].result == 0


def test_each_item_writes_to_the_tasks_log_file_under_its_own_name(tmp_path: Path) -> None:
    log = tmp_path / "load.log"
    with Process(_daily(["a.csv", "bad.csv"], log_path=log, max_failed=1)) as process:
        process.run()
    text = log.read_text()
    assert "load[a.csv]" in text
    assert "bad.csv is malformed" in text


def test_the_report_round_trips_and_its_views_sum_the_items_up() -> None:
    files = [f"f{i}.csv" for i in range(1000)]
    files[3], files[500], files[999] = "bad-3.csv", "bad-500.csv", "bad-999.csv"
    report = Process(_daily(files, max_failed=3)).run()
    data = json.loads(report.to_json())
    assert data["entries"]["load[f0.csv]"]["mapped_task"] == "load"
    assert data["entries"]["load[f0.csv]"]["item_key"] == "f0.csv"
    assert data["entries"]["load"]["item_key"] is None
    back = ProcessExecutionReport.from_json(report.to_json())
    assert back == report
    assert back.entries["load[bad-3.csv]"].item_key == "bad-3.csv"
    text = report.to_text(color=False)
    assert "997 of 1,000 items succeeded; failed: bad-3.csv, bad-500.csv, bad-999.csv" in text
    assert "load[f1.csv]" not in text  # succeeded items are summed up, not listed
    assert "load[bad-500.csv]" in text
    with pytest.raises(ProcessFailedError) as failed:
        report.raise_for_errors()
    assert list(failed.value.failed) == [
        "load[bad-3.csv]",
        "load[bad-500.csv]",
        "load[bad-999.csv]",
    ]


def test_notify_with_the_mapped_tasks_name_selects_it_with_its_items() -> None:
    class Keep(ReportChannel):
        def __init__(self) -> None:
            self.got: list[ProcessExecutionReport] = []

        def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
            self.got.append(report)

    report = Process(_daily(["a.csv", "bad.csv"], max_failed=1)).run()
    channel = Keep()
    deliveries = report.notify(channel, tasks=["LOAD"])
    assert deliveries[0].ok
    assert list(channel.got[0].entries) == ["load", "load[a.csv]", "load[bad.csv]"]
    report.notify(channel, tasks=["load[bad.csv]"])
    assert list(channel.got[1].entries) == ["load[bad.csv]"]


@pytest.mark.parametrize("parallel", [False, True])
def test_what_an_items_entry_hides_its_mapped_task_and_dependants_hide_too(
    parallel: bool,
) -> None:
    tasks = [
        Task("users", lambda: ["ann", "bob"]),
        Task("login", jobs.credentials, dependencies=[_each("users")]),
        Task("count", jobs.count_loaded, dependencies=[_whole("login")]),
    ]
    report = Process(tasks).run(parallel=parallel)
    assert report.ok, report.to_text(color=False)
    assert report.entries["count"].result == 2
    assert report.entries["login[ann]"].result == {"user": "ann", "password": "[redacted]"}
    assert report.entries["login"].result == {
        "ann": {"user": "ann", "password": "[redacted]"},
        "bob": {"user": "bob", "password": "[redacted]"},
    }
    assert "pw-" not in report.to_json()


@pytest.mark.parametrize("how", ["our pool", "threads"])
def test_a_map_over_a_mapped_task_starts_each_item_when_its_own_item_ended(
    how: str, thread_pool: ThreadPoolExecutor
) -> None:
    jobs.A_TRANSFORMED.clear()
    tasks = [
        Task("names", lambda: ["a", "slow", "bad-1"]),
        Task("load", jobs.load_file_or_wait, dependencies=[_each("names")], max_failed=1),
        Task("transform", jobs.mark_done, dependencies=[_each("load")], max_failed=1),
        Task("count", jobs.count_loaded, dependencies=[_whole("transform")]),
    ]
    options: dict[str, Any] = {"max_workers": 2, "parallel": True}
    if how == "threads":
        options["executor"] = thread_pool
    report = Process(tasks).run(**options)
    # transform[a] ran while load[slow] still waited for it: item by item, not task by task
    assert report.entries["load[slow]"].result == "slow:True", report.to_text(color=False)
    assert report.entries["transform"].result == {"a": "a!", "slow": "slow:True!"}
    assert report.entries["transform[bad-1]"].skip_cause == "load[bad-1]"
    assert report.entries["count"].result == 2


def test_a_map_over_a_mapped_task_in_other_processes(process_pool: ProcessPoolExecutor) -> None:
    tasks = [
        Task("files", jobs.daily_files, args=(4,)),
        Task("prefix", jobs.label, args=(2,), kwargs={"prefix": "p"}),
        Task("load", jobs.load_file, dependencies=[_each("files"), _whole("prefix", "prefix")]),
        Task("transform", jobs.mark_done, dependencies=[_each("load")]),
    ]
    report = Process(tasks).run(executor=process_pool, max_workers=2)
    assert report.ok, report.to_text(color=False)
    result = report.entries["transform"].result
    assert list(result) == jobs.daily_files(4)
    assert all(value.startswith("p2") and value.endswith("!") for value in result.values())


@pytest.mark.parametrize("parallel", [False, True])
def test_an_item_named_as_a_declared_task_fails_its_mapped_task(parallel: bool) -> None:
    """``fetch[eu]`` declared beside a map of ``fetch`` over "eu": two entries of one name,
    one of them lost. The mapped task fails and says why; a map item by item over it too."""
    tasks = [
        Task("list", lambda: ["eu", "us"]),
        Task("fetch", str.upper, dependencies=[_each("list")]),
        Task("FETCH[EU]", lambda: "declared"),
    ]
    report = Process(tasks).run(parallel=parallel)
    failure = report.entries["fetch"].error
    assert failure is not None
    assert "'fetch[eu]' of 'fetch' is named as a declared task" in failure.exception
    assert report.entries["fetch[eu]"].result == "declared"  # the declared task ran

    chained = [
        Task("list", lambda: ["eu", "us"]),
        Task("fetch", str.upper, dependencies=[_each("list")]),
        Task("keep", str.lower, dependencies=[_each("fetch")]),
        Task("keep[us]", lambda: "declared"),
    ]
    report = Process(chained).run(parallel=parallel)
    failure = report.entries["fetch"].error
    assert failure is not None
    assert "'keep[us]' of 'keep'" in failure.exception

    plain = Process(chained[:3]).run(parallel=parallel)  # no such name: nothing looked at
    assert plain.entries["keep"].result == {"eu": "eu", "us": "us"}
