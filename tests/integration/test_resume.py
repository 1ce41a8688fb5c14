"""``run(resume=...)`` (SPEC §12, issue 11 item 5): what succeeded is not run again, its
results feed the dependants, and what cannot be restored runs again and says why.

On threads, sequentially, on a real ProcessPoolExecutor and a local Dask cluster (their
task functions are in ``resume_jobs`` so that the worker processes can import them).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import resume_jobs as jobs
from distributed import Client, LocalCluster

import processes.history.queries as history_queries
from processes import (
    EventKind,
    Process,
    ProcessExecutionReport,
    RunHistory,
    Task,
    TaskDependency,
    TaskEvent,
    TaskReportEntry,
    TaskStatus,
)
from processes.redaction import REDACTED
from processes.resume import HIDDEN_AS_SECRET, SHOWN_CUT, why_not_restorable
from processes.saferepr import truncate

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

MODES = [
    pytest.param({"parallel": False}, id="sequential"),
    pytest.param({"parallel": True, "max_workers": 3}, id="parallel"),
]


def piped(name: str, *, kwarg: str = "") -> TaskDependency:
    if kwarg:
        return TaskDependency(
            name, use_result_as_additional_kwargs=True, additional_kwarg_name=kwarg
        )
    return TaskDependency(name, use_result_as_additional_args=True)


class Pipeline:
    """fetch -> parse (scaled by config) -> load, and fetch -> audit; ``load`` fails until
    fixed.

    Every call is counted; each function's result depends on its inputs only.
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.received: dict[str, tuple[Any, ...]] = {}
        self.broken = True

    def _call(self, name: str, *args: Any) -> None:
        self.calls[name] += 1
        self.received[name] = args

    def fetch(self) -> list[int]:
        self._call("fetch")
        return [3, 1, 2]

    def config(self) -> int:
        self._call("config")
        return 2

    def parse(self, rows: list[int], *, scale: int) -> dict[str, int]:
        self._call("parse", rows, scale)
        return {"total": sum(rows) * scale, "rows": len(rows)}

    def load(self, parsed: dict[str, int]) -> str:
        self._call("load", parsed)
        if self.broken:
            raise ConnectionError("the warehouse refused the connection")
        return f"loaded {parsed['rows']} rows"

    def audit(self, rows: list[int]) -> int:
        self._call("audit", rows)
        return max(rows)

    def tasks(self) -> list[Task]:
        return [
            Task("Fetch", self.fetch),
            Task("config", self.config),
            Task(
                "parse", self.parse, dependencies=[piped("fetch"), piped("config", kwarg="scale")]
            ),
            Task("load", self.load, dependencies=[piped("parse")]),
            Task("audit", self.audit, dependencies=[piped("fetch")]),
        ]


@pytest.fixture
def failed_once() -> tuple[Pipeline, ProcessExecutionReport]:
    pipeline = Pipeline()
    report = Process(pipeline.tasks(), name="nightly").run(parallel=False)
    assert set(report.errored) == {"load"}
    pipeline.calls.clear()
    pipeline.broken = False
    return pipeline, report


# -- what a resumed run does ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_resume_runs_only_what_did_not_succeed_and_feeds_it_the_earlier_results(
    failed_once: tuple[Pipeline, ProcessExecutionReport], mode: dict[str, Any]
) -> None:
    pipeline, earlier = failed_once
    report = Process(pipeline.tasks(), name="nightly").run(resume=earlier, **mode)

    assert report.ok
    assert pipeline.calls == Counter({"load": 1})
    assert pipeline.received["load"] == ({"total": 12, "rows": 3},)
    assert report.entries["load"].result == "loaded 3 rows"
    assert {name: entry.reused for name, entry in report.entries.items()} == {
        "fetch": True,
        "config": True,
        "parse": True,
        "load": False,
        "audit": True,
    }


def test_a_reused_entry_says_so_and_shows_what_the_earlier_run_showed(
    failed_once: tuple[Pipeline, ProcessExecutionReport],
) -> None:
    pipeline, earlier = failed_once
    report = Process(pipeline.tasks(), name="nightly").run(resume=earlier)

    parse, before = report.entries["parse"], earlier.entries["parse"]
    assert parse.status is TaskStatus.SUCCESS
    assert parse.reused is True
    assert parse.attempts == 0
    assert parse.elapsed_seconds == 0.0
    assert parse.started_at is None
    assert parse.finished_at is None
    assert parse.result == before.result == {"total": 12, "rows": 3}
    assert parse.args == before.args == ([3, 1, 2],)
    assert parse.kwargs == before.kwargs == {"scale": 2}
    assert parse.dependencies == ("fetch", "config")
    assert parse.function == before.function
    assert parse.rerun_reason == ""
    assert parse.error is None
    load = report.entries["load"]
    assert (load.reused, load.attempts, load.rerun_reason) == (False, 1, "")
    assert load.started_at is not None
    # The report holds the very objects: a second resume passes them on again.
    assert report.entries["fetch"].result is earlier.entries["fetch"].result


def test_a_resumed_run_can_itself_be_resumed_and_reuses_everything(
    failed_once: tuple[Pipeline, ProcessExecutionReport],
) -> None:
    pipeline, earlier = failed_once
    second = Process(pipeline.tasks()).run(resume=earlier)
    pipeline.calls.clear()
    third = Process(pipeline.tasks()).run(resume=second)

    assert pipeline.calls == Counter()
    assert all(entry.reused for entry in third.entries.values())
    assert {n: e.result for n, e in third.entries.items()} == {
        n: e.result for n, e in second.entries.items()
    }


def test_errored_and_skipped_tasks_and_tasks_new_since_run_again() -> None:
    calls: Counter[str] = Counter()

    def step(name: str, *, fails: bool = False) -> Callable[..., str]:
        def run(*upstream: str) -> str:
            calls[name] += 1
            if fails:
                raise ValueError(f"{name} broke")
            return "+".join((name, *upstream))

        return run

    first = Process(
        [
            Task("a", step("a")),
            Task("b", step("b", fails=True), dependencies=[piped("a")]),
            Task("c", step("c"), dependencies=[piped("b")]),
        ]
    ).run()
    assert (first.entries["b"].status, first.entries["c"].status) == (
        TaskStatus.ERRORED,
        TaskStatus.SKIPPED,
    )
    calls.clear()
    report = Process(
        [
            Task("a", step("a")),
            Task("b", step("b"), dependencies=[piped("a")]),
            Task("c", step("c"), dependencies=[piped("b")]),
            Task("d", step("d"), dependencies=[piped("a")]),  # new since
        ]
    ).run(resume=first)

    assert calls == Counter({"b": 1, "c": 1, "d": 1})
    assert report.entries["c"].result == "c+b+a"
    assert report.entries["d"].result == "d+a"
    assert [name for name, entry in report.entries.items() if entry.reused] == ["a"]


def test_tasks_are_matched_by_name_ignoring_case_even_when_their_function_changed() -> None:
    earlier = ProcessExecutionReport(
        {
            "Fetch_Orders": TaskReportEntry(
                "Fetch_Orders", "old_fetch", (), {}, TaskStatus.SUCCESS, 1.5, 1, result=[7, 8]
            )
        },
        "by hand",
    )
    received: list[Any] = []

    def new_fetch() -> list[int]:
        raise AssertionError("a task that succeeded is not run again, whatever it is now")

    report = Process(
        [
            Task("FETCH_ORDERS", new_fetch),
            Task("count", lambda rows: received.append(rows), dependencies=[piped("fetch_orders")]),
        ]
    ).run(resume=earlier)

    assert received == [[7, 8]]
    entry = report.entries["fetch_orders"]
    assert entry.reused
    assert "new_fetch" in entry.function  # the task of this run, with the earlier result
    assert entry.result == [7, 8]


def test_a_reused_result_is_shown_as_this_runs_redaction_shows_it() -> None:
    settings = {"host": "db.internal", "password": "hunter2-hunter2"}
    by_hand = ProcessExecutionReport(
        {"settings": TaskReportEntry("settings", "f", (), {}, TaskStatus.SUCCESS, 0, 1, settings)}
    )
    received: list[Any] = []
    report = Process(
        [
            Task("settings", dict),
            Task("connect", received.append, dependencies=[piped("settings")]),
        ]
    ).run(resume=by_hand)

    assert received == [settings]  # the value itself feeds the dependant
    assert report.entries["settings"].reused
    assert report.entries["settings"].result == {"host": "db.internal", "password": REDACTED}
    assert "hunter2" not in report.to_json()


def test_a_reused_task_whose_new_upstream_fails_now_is_skipped() -> None:
    earlier = Process([Task("b", lambda: "b")]).run()

    def gate() -> None:
        raise RuntimeError("closed")

    report = Process(
        [Task("gate", gate), Task("b", lambda: "never", dependencies=[TaskDependency("gate")])]
    ).run(resume=earlier)

    assert report.entries["b"].status is TaskStatus.SKIPPED
    assert not report.entries["b"].reused


# -- results that cannot be restored -------------------------------------------------------


def test_a_result_received_under_a_secret_name_runs_again_and_says_why() -> None:
    calls: Counter[str] = Counter()

    def issue_token() -> str:
        calls["issue_token"] += 1
        return "t-0123456789"

    def call_api(*, api_token: str) -> int:
        calls["call_api"] += 1
        if calls["call_api"] == 1:
            raise ConnectionError("the API is down")
        return len(api_token)

    tasks = [
        Task("issue_token", issue_token),
        Task("call_api", call_api, dependencies=[piped("issue_token", kwarg="api_token")]),
    ]
    first = Process(tasks).run()
    assert first.entries["issue_token"].result == REDACTED
    report = Process(tasks).run(resume=first)

    assert calls == Counter({"issue_token": 2, "call_api": 2})
    token = report.entries["issue_token"]
    assert (token.reused, token.attempts, token.rerun_reason) == (False, 1, HIDDEN_AS_SECRET)
    assert token.result == REDACTED
    assert report.entries["call_api"].result == len("t-0123456789")
    assert report.entries["call_api"].rerun_reason == ""


def test_a_result_with_a_secret_masked_inside_runs_again() -> None:
    calls: Counter[str] = Counter()

    def settings() -> dict[str, str]:
        calls["settings"] += 1
        return {"host": "db.internal", "password": "hunter2-hunter2"}

    first = Process([Task("settings", settings)]).run()
    assert first.entries["settings"].result == {"host": "db.internal", "password": REDACTED}
    report = Process([Task("settings", settings)]).run(resume=first)

    assert calls["settings"] == 2
    assert report.entries["settings"].rerun_reason == HIDDEN_AS_SECRET


def test_a_result_too_big_to_show_whole_runs_again() -> None:
    calls: Counter[str] = Counter()

    def many() -> list[str]:
        calls["many"] += 1
        return [f"row {i}" for i in range(50_000)]

    def count(rows: list[str]) -> int:
        return len(rows)

    tasks = [Task("many", many), Task("count", count, dependencies=[piped("many")])]
    first = Process(tasks).run()
    assert isinstance(first.entries["many"].result, str)  # the report shows it cut
    report = Process(tasks).run(resume=first)

    assert calls["many"] == 2
    assert report.entries["many"].rerun_reason == SHOWN_CUT
    assert report.entries["count"].reused  # its own result was small: reused
    assert report.entries["count"].result == 50_000


def test_a_rerun_reason_stays_on_a_task_that_fails_when_run_again() -> None:
    first = Process([Task("secretive", lambda: {"token": "abc-123-xyz"})]).run()

    def now_broken() -> None:
        raise OSError("disk full")

    report = Process([Task("secretive", now_broken)]).run(resume=first)

    entry = report.entries["secretive"]
    assert entry.status is TaskStatus.ERRORED
    assert entry.rerun_reason == HIDDEN_AS_SECRET


@pytest.mark.parametrize(
    ("shown", "reason"),
    [
        ("plain text", ""),
        ([1, "two", {"three": (4.0, None)}], ""),
        (REDACTED, HIDDEN_AS_SECRET),
        ("dsn=postgres://u:[redacted]@h/db", HIDDEN_AS_SECRET),
        ([{"rows": [1, {"key": REDACTED}]}], HIDDEN_AS_SECRET),
        ({REDACTED: 1}, HIDDEN_AS_SECRET),
        (frozenset({"x", REDACTED}), HIDDEN_AS_SECRET),
        (truncate("x" * 5000), SHOWN_CUT),
        ("ends with [truncated 12 chars] but no dots", ""),
    ],
)
def test_why_a_shown_result_is_not_the_result(shown: Any, reason: str) -> None:
    assert why_not_restorable(shown) == reason


# -- from a report read back from JSON -------------------------------------------------------


class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __repr__(self) -> str:
        return f"Money({self.cents})"


def test_a_report_from_json_passes_on_the_json_values_as_they_are() -> None:
    received: dict[str, Any] = {}
    broken = [True]

    def keep(name: str) -> Callable[[Any], None]:
        def store(value: Any) -> None:
            received[name] = value
            if broken[0]:
                raise ValueError("fails the first time")

        return store

    tasks = [
        Task("pair", lambda: (1, "one")),
        Task("price", lambda: Money(250)),
        Task("text", lambda: "Money(250)"),
        Task("use_pair", keep("pair"), dependencies=[piped("pair")]),
        Task("use_price", keep("price"), dependencies=[piped("price")]),
        Task("use_text", keep("text"), dependencies=[piped("text")]),
    ]
    first = Process(tasks).run(parallel=False)
    assert set(first.errored) == {"use_pair", "use_price", "use_text"}
    restored = ProcessExecutionReport.from_json(first.to_json())
    received.clear()
    broken[0] = False
    report = Process(tasks).run(parallel=False, resume=restored)

    # JSON has no tuples and knows Money only as its repr: a string, as a str result is.
    assert received == {"pair": [1, "one"], "price": "Money(250)", "text": "Money(250)"}
    assert all(report.entries[name].reused for name in ("pair", "price", "text"))
    assert report.ok


# -- composition: fail_fast, on_event ------------------------------------------------------


def test_with_fail_fast_a_reused_task_after_the_first_error_is_still_reused() -> None:
    first = Process([Task("a", lambda: 1), Task("b", lambda: 1 / 0), Task("c", lambda: 3)]).run(
        parallel=False
    )
    calls: Counter[str] = Counter()

    def counted(name: str, value: Any) -> Callable[[], Any]:
        def run() -> Any:
            calls[name] += 1
            if value is None:
                raise ValueError(f"{name} still broken")
            return value

        return run

    report = Process(
        [
            Task("a", counted("a", 1)),
            Task("b", counted("b", None)),
            Task("c", counted("c", 3)),
            Task("d", counted("d", 4)),  # new, never started after the error
        ]
    ).run(parallel=False, fail_fast=True, resume=first)

    assert calls == Counter({"b": 1})
    statuses = {name: entry.status for name, entry in report.entries.items()}
    assert statuses == {
        "a": TaskStatus.SUCCESS,
        "b": TaskStatus.ERRORED,
        "c": TaskStatus.SUCCESS,
        "d": TaskStatus.SKIPPED,
    }
    assert report.entries["c"].reused


@pytest.mark.parametrize("mode", MODES)
def test_a_reused_task_sends_only_a_finished_event_with_attempt_zero(
    failed_once: tuple[Pipeline, ProcessExecutionReport], mode: dict[str, Any]
) -> None:
    pipeline, earlier = failed_once
    events: list[TaskEvent] = []
    Process(pipeline.tasks()).run(resume=earlier, on_event=events.append, **mode)

    seen = [(e.kind, e.task_name, e.attempt, e.status) for e in events]
    reused = [event for event in seen if event[1] != "load"]
    assert sorted(reused, key=lambda event: event[1]) == [
        (EventKind.FINISHED, "audit", 0, TaskStatus.SUCCESS),
        (EventKind.FINISHED, "config", 0, TaskStatus.SUCCESS),
        (EventKind.FINISHED, "fetch", 0, TaskStatus.SUCCESS),
        (EventKind.FINISHED, "parse", 0, TaskStatus.SUCCESS),
    ]
    assert [event for event in seen if event[1] == "load"] == [
        (EventKind.STARTED, "load", 1, None),
        (EventKind.FINISHED, "load", 1, TaskStatus.SUCCESS),
    ]
    # The upstream task finished (reused) before its dependant started.
    names = [event[1] for event in seen]
    assert names.index("parse") < names.index("load")


# -- from a run id, in a real history file ---------------------------------------------------


@dataclass(frozen=True)
class Basket:
    """A result JSON cannot hold; picklable (module level)."""

    items: frozenset[str]


class Shop:
    """``catalogue`` -> ``basket`` (a Basket) -> ``checkout``, which fails until fixed."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.broken = True

    def catalogue(self) -> dict[str, float]:
        self.calls["catalogue"] += 1
        return {"tea": 2.5, "milk": 1.0}

    def basket(self, prices: dict[str, float]) -> Basket:
        self.calls["basket"] += 1
        return Basket(frozenset(prices))

    def checkout(self, basket: Basket) -> str:
        self.calls["checkout"] += 1
        if self.broken:
            raise ConnectionError("the payment service is down")
        return ",".join(sorted(basket.items))

    def tasks(self) -> list[Task]:
        return [
            Task("catalogue", self.catalogue),
            Task("basket", self.basket, dependencies=[piped("catalogue")]),
            Task("checkout", self.checkout, dependencies=[piped("basket")]),
        ]


@pytest.mark.parametrize("mode", MODES)
def test_resume_from_a_run_id_restores_json_and_pickled_results(
    tmp_path: Path, mode: dict[str, Any]
) -> None:
    shop = Shop()
    with RunHistory(tmp_path / "runs.db", store_results=True) as history:
        first = Process(shop.tasks(), name="shop").run(history=history, **mode)
        assert set(first.errored) == {"checkout"}
        shop.broken = False
        shop.calls.clear()
        report = Process(shop.tasks(), name="shop").run(
            resume=first.run_id, history=history, **mode
        )

    assert shop.calls == Counter({"checkout": 1})
    assert report.entries["checkout"].result == "milk,tea"
    assert report.entries["basket"].reused
    assert report.entries["basket"].result == Basket(frozenset({"tea", "milk"}))
    assert report.entries["catalogue"].result == {"tea": 2.5, "milk": 1.0}


def test_without_store_results_a_result_json_cannot_hold_runs_again_and_says_why(
    tmp_path: Path,
) -> None:
    shop = Shop()
    with RunHistory(tmp_path / "runs.db") as history:
        first = Process(shop.tasks(), name="shop").run(history=history)
        shop.broken = False
        shop.calls.clear()
        report = Process(shop.tasks(), name="shop").run(resume=first.run_id, history=history)

    assert shop.calls == Counter({"basket": 1, "checkout": 1})
    assert report.ok
    basket = report.entries["basket"]
    assert not basket.reused
    assert basket.rerun_reason.startswith("its result could not be restored from the history: ")
    assert "not JSON-native" in basket.rerun_reason
    assert "store_results=True" in basket.rerun_reason
    assert report.entries["catalogue"].reused


def test_a_secret_result_is_not_restored_from_the_history(tmp_path: Path) -> None:
    calls: Counter[str] = Counter()

    def login() -> str:
        calls["login"] += 1
        return "s3cr3t-session-value"

    def fetch(*, session: str) -> int:
        calls["fetch"] += 1
        if calls["fetch"] == 1:
            raise TimeoutError("the API timed out")
        return len(session)

    tasks = [
        Task("login", login),
        Task("fetch", fetch, dependencies=[piped("login", kwarg="session")]),
    ]
    with RunHistory(tmp_path / "runs.db", store_results=True) as history:
        first = Process(tasks).run(history=history)
        report = Process(tasks).run(resume=first.run_id, history=history)
        stored = (tmp_path / "runs.db").read_bytes()

    assert calls == Counter({"login": 2, "fetch": 2})
    assert "hidden as a secret" in report.entries["login"].rerun_reason
    assert report.entries["fetch"].result == len("s3cr3t-session-value")
    assert b"s3cr3t-session-value" not in stored


def test_a_resumed_run_recorded_in_the_history_can_be_resumed_from_its_run_id(
    tmp_path: Path,
) -> None:
    shop = Shop()
    with RunHistory(tmp_path / "runs.db", store_results=True) as history:
        first = Process(shop.tasks(), name="shop").run(history=history)
        shop.broken = False
        second = Process(shop.tasks(), name="shop").run(resume=first.run_id, history=history)
        shop.calls.clear()
        third = Process(shop.tasks(), name="shop").run(resume=second.run_id, history=history)
        recorded = history.report(third.run_id)

    assert shop.calls == Counter()
    assert all(entry.reused for entry in third.entries.values())
    assert third.entries["basket"].result == Basket(frozenset({"tea", "milk"}))
    assert all(entry.reused for entry in recorded.entries.values())


def test_resuming_from_a_run_id_reads_the_run_in_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's report and its results are one state of the file: another process that
    records a run in between, whose retention forgets the one being resumed, is not seen."""
    path = tmp_path / "runs.db"
    shop = Shop()
    with RunHistory(path, keep_runs=1, store_results=True) as history:
        first = Process(shop.tasks(), name="shop").run(history=history)
    read_task_rows = history_queries.task_rows
    recorded_in_between: list[str] = []

    def record_in_between(connection: sqlite3.Connection, run: int) -> Any:
        if not recorded_in_between:
            script = (
                "import sys; from processes import Process, RunHistory, Task\n"
                "with RunHistory(sys.argv[1], keep_runs=1) as h:\n"
                "    print(Process([Task('catalogue', lambda: {})], name='shop')"
                ".run(history=h).run_id)\n"
            )
            done = subprocess.run(
                [sys.executable, "-W", "error", "-c", script, str(path)],
                check=True,
                capture_output=True,
                text=True,
            )
            recorded_in_between.append(done.stdout.strip())
        return read_task_rows(connection, run)

    monkeypatch.setattr(history_queries, "task_rows", record_in_between)
    shop.broken = False
    shop.calls.clear()
    with RunHistory(path, keep_runs=1, store_results=True) as history:
        statements: list[str] = []
        history._connection.connect().set_trace_callback(statements.append)
        report = Process(shop.tasks(), name="shop").run(resume=first.run_id, history=history)

    assert recorded_in_between  # the other process did record, and forget the first run
    assert shop.calls == Counter({"checkout": 1})
    assert report.entries["basket"].reused
    assert report.entries["basket"].result == Basket(frozenset({"tea", "milk"}))
    assert statements.count("BEGIN") == 1  # one read; the record is a BEGIN IMMEDIATE
    monkeypatch.undo()
    with RunHistory(path) as history:
        assert [run.run_id for run in history.runs()] == [report.run_id]


def test_an_unknown_run_id_is_an_error_before_anything_runs(tmp_path: Path) -> None:
    calls: list[str] = []
    with (
        RunHistory(tmp_path / "runs.db") as history,
        pytest.raises(LookupError, match=r"no run 'no-such-run' in the history .*runs\.db"),
    ):
        Process([Task("a", lambda: calls.append("a"))]).run(resume="no-such-run", history=history)
    assert calls == []
    with RunHistory(tmp_path / "runs.db") as history:
        assert history.runs() == []


# -- bad input -----------------------------------------------------------------------------


def test_a_run_id_without_history_is_refused_before_anything_runs() -> None:
    calls: list[str] = []
    with pytest.raises(ValueError, match=r"resume='20261202T000000Z-abcd' is a run id.*history="):
        Process([Task("a", lambda: calls.append("a"))]).run(resume="20261202T000000Z-abcd")
    assert calls == []


def test_resume_of_another_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"resume must be a ProcessExecutionReport.*got dict"):
        Process([Task("a", lambda: 1)]).run(resume={"a": 1})  # type: ignore[arg-type]


# -- another executor ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def process_pool() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(2) as pool:
        yield pool


def pool_tasks(calls: Path, broken_flag: Path) -> list[Task]:
    here = str(calls)
    return [
        Task("source", jobs.source, args=(here, 5)),
        Task("square_all", jobs.square_all, args=(here,), dependencies=[piped("source")]),
        Task(
            "total",
            jobs.total_unless_broken,
            args=(here, str(broken_flag)),
            dependencies=[piped("square_all")],
        ),
        Task("worker_pid", jobs.worker_pid, args=(here,)),
    ]


@pytest.mark.integration
def test_resume_on_a_process_pool_runs_only_the_failed_task_in_a_worker(
    process_pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    calls, broken = tmp_path / "calls", tmp_path / "broken"
    calls.mkdir()
    broken.touch()
    first = Process(pool_tasks(calls, broken)).run(executor=process_pool)
    assert set(first.errored) == {"total"}
    broken.unlink()

    report = Process(pool_tasks(calls, broken)).run(executor=process_pool, resume=first)

    assert report.ok
    assert report.entries["total"].result == 0 + 1 + 4 + 9 + 16
    assert [jobs.calls_of(calls, name) for name in ("source", "square_all", "total")] == [1, 1, 2]
    assert jobs.calls_of(calls, "worker_pid") == 1
    assert report.entries["worker_pid"].result == first.entries["worker_pid"].result
    assert [name for name, entry in report.entries.items() if entry.reused] == [
        "source",
        "square_all",
        "worker_pid",
    ]


@pytest.mark.integration
def test_resume_from_a_run_id_on_a_process_pool(
    process_pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    calls, broken = tmp_path / "calls", tmp_path / "broken"
    calls.mkdir()
    broken.touch()
    with RunHistory(tmp_path / "runs.db") as history:
        first = Process(pool_tasks(calls, broken)).run(executor=process_pool, history=history)
        broken.unlink()
        report = Process(pool_tasks(calls, broken)).run(
            executor=process_pool, resume=first.run_id, history=history
        )

    assert report.ok
    assert report.entries["total"].result == 30
    assert [jobs.calls_of(calls, name) for name in ("source", "square_all", "total")] == [1, 1, 2]


@pytest.mark.integration
def test_a_rerun_on_a_process_pool_says_why(
    process_pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    calls, broken = tmp_path / "calls", tmp_path / "broken"
    calls.mkdir()
    first = Process(pool_tasks(calls, broken)).run(executor=process_pool)
    hidden = ProcessExecutionReport(
        {
            **first.entries,
            "square_all": TaskReportEntry(
                "square_all", "square_all", (), {}, TaskStatus.SUCCESS, 0.1, 1, result=REDACTED
            ),
        }
    )
    report = Process(pool_tasks(calls, broken)).run(executor=process_pool, resume=hidden)

    assert report.entries["square_all"].rerun_reason == HIDDEN_AS_SECRET
    assert report.entries["square_all"].attempts == 1
    assert jobs.calls_of(calls, "square_all") == 2
    assert report.entries["total"].reused  # it succeeded there; its result still stands


@pytest.mark.integration
def test_resume_on_a_dask_cluster_runs_only_the_failed_task(tmp_path: Path) -> None:
    calls, broken = tmp_path / "calls", tmp_path / "broken"
    calls.mkdir()
    broken.touch()
    with (
        LocalCluster(
            n_workers=1,
            processes=True,
            threads_per_worker=2,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as client,
    ):
        first = Process(pool_tasks(calls, broken)).run(executor=client.get_executor())
        assert set(first.errored) == {"total"}
        broken.unlink()
        report = Process(pool_tasks(calls, broken)).run(
            executor=client.get_executor(), resume=first
        )

    assert report.ok
    assert report.entries["total"].result == 30
    assert [jobs.calls_of(calls, name) for name in ("source", "square_all", "total")] == [1, 1, 2]
    assert report.entries["worker_pid"].reused


# -- with run_when -------------------------------------------------------------------------


class Warehouse:
    """lock -> load -> report, with ``unlock`` (all_done) after lock and load and ``undo``
    (any_failed) after load. ``load`` and ``report`` fail while broken; every call is
    counted and what ``unlock`` received is kept."""

    def __init__(self, *, load_broken: bool, report_broken: bool = False) -> None:
        self.calls: Counter[str] = Counter()
        self.load_broken = load_broken
        self.report_broken = report_broken
        self.unlocked_after: list[Any] = []

    def lock(self) -> str:
        self.calls["lock"] += 1
        return "lock-1"

    def load(self, lock: str) -> str:
        self.calls["load"] += 1
        if self.load_broken:
            raise ConnectionError("the warehouse is down")
        return f"loaded under {lock}"

    def report(self, loaded: str) -> str:
        self.calls["report"] += 1
        if self.report_broken:
            raise ValueError("the report template is broken")
        return f"report of {loaded}"

    def unlock(self, lock: str, loaded: str | None) -> str:
        self.calls["unlock"] += 1
        self.unlocked_after.append(loaded)
        return f"released {lock}"

    def undo(self) -> str:
        self.calls["undo"] += 1
        return "undone"

    def tasks(self) -> list[Task]:
        return [
            Task("lock", self.lock),
            Task("load", self.load, dependencies=[piped("lock")]),
            Task("report", self.report, dependencies=[piped("load")]),
            Task(
                "unlock",
                self.unlock,
                dependencies=[piped("lock"), piped("load")],
                run_when="all_done",
            ),
            Task("undo", self.undo, dependencies=[TaskDependency("load")], run_when="any_failed"),
        ]


RUNS_AGAIN_AFTER_LOAD = (
    "its upstream task 'load' runs again, so this run_when='all_done' task runs again after it"
)


@pytest.mark.parametrize("mode", MODES)
def test_a_cleanup_runs_again_after_an_upstream_task_that_runs_again(
    mode: dict[str, Any],
) -> None:
    warehouse = Warehouse(load_broken=True)
    first = Process(warehouse.tasks()).run(**mode)
    assert {n: e.status for n, e in first.entries.items()} == {
        "lock": TaskStatus.SUCCESS,
        "load": TaskStatus.ERRORED,
        "report": TaskStatus.SKIPPED,
        "unlock": TaskStatus.SUCCESS,
        "undo": TaskStatus.SUCCESS,
    }
    warehouse.load_broken = False
    warehouse.calls.clear()
    report = Process(warehouse.tasks()).run(resume=first, **mode)

    assert not report.errored
    # The lock is reused; the cleanup runs again after the load that now ran, with its result.
    assert warehouse.calls == Counter({"load": 1, "report": 1, "unlock": 1})
    assert warehouse.unlocked_after == [None, "loaded under lock-1"]
    unlock = report.entries["unlock"]
    assert (unlock.status, unlock.reused, unlock.attempts) == (TaskStatus.SUCCESS, False, 1)
    assert unlock.rerun_reason == RUNS_AGAIN_AFTER_LOAD
    assert report.entries["lock"].reused
    undo = report.entries["undo"]  # nothing failed now: a compensation has no place
    assert (undo.status, undo.reused, undo.rerun_reason) == (TaskStatus.SKIPPED, False, "")


def test_a_cleanup_whose_upstream_tasks_are_all_reused_is_reused() -> None:
    warehouse = Warehouse(load_broken=False, report_broken=True)
    first = Process(warehouse.tasks()).run(parallel=False)
    assert set(first.errored) == {"report"}
    warehouse.report_broken = False
    warehouse.calls.clear()
    report = Process(warehouse.tasks()).run(parallel=False, resume=first)

    assert not report.errored
    assert warehouse.calls == Counter({"report": 1})  # lock and load stand: so does unlock
    unlock = report.entries["unlock"]
    assert (unlock.reused, unlock.attempts, unlock.rerun_reason) == (True, 0, "")
    assert unlock.result == "released lock-1"


def test_a_compensation_runs_again_after_an_upstream_task_that_fails_again() -> None:
    warehouse = Warehouse(load_broken=True)
    first = Process(warehouse.tasks()).run(parallel=False)
    warehouse.calls.clear()
    report = Process(warehouse.tasks()).run(parallel=False, resume=first)  # not fixed

    assert set(report.errored) == {"load"}
    assert warehouse.calls == Counter({"load": 1, "unlock": 1, "undo": 1})
    undo = report.entries["undo"]
    assert (undo.status, undo.reused, undo.attempts) == (TaskStatus.SUCCESS, False, 1)
    assert undo.rerun_reason == (
        "its upstream task 'load' runs again, so this run_when='any_failed' task runs again "
        "after it"
    )
    assert report.entries["unlock"].rerun_reason == RUNS_AGAIN_AFTER_LOAD
    assert report.entries["lock"].reused
