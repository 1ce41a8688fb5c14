"""SPEC §10: the small facts of v7 that its users' code relies on, each as v7 code uses it."""

from __future__ import annotations

import functools
import importlib
import logging
from typing import Any

import pytest
from tests.factories import T0, make_entry, make_error, make_report

import processes
from processes import (
    ErrorData,
    FailureStreak,
    Process,
    ProcessExecutionReport,
    ReportChannel,
    Task,
    TaskChange,
    TaskDependency,
    TaskStatus,
)

# -- processes.exceptions ---------------------------------------------------------------------


def test_v7_error_imports_work_from_processes_exceptions() -> None:
    from processes.exceptions import (
        CircularDependencyError,
        DependencyNotFoundError,
        TaskNotFoundError,
    )

    assert CircularDependencyError is processes.CircularDependencyError
    assert DependencyNotFoundError is processes.DependencyNotFoundError
    assert TaskNotFoundError is processes.TaskNotFoundError


def test_processes_exceptions_holds_every_error_of_the_library() -> None:
    exceptions = importlib.import_module("processes.exceptions")
    public_errors = {
        name
        for name in processes.__all__
        if isinstance(getattr(processes, name), type)
        and issubclass(getattr(processes, name), BaseException)
    }
    assert public_errors  # the check below cannot pass on nothing
    assert public_errors <= set(exceptions.__all__)
    for name in exceptions.__all__:
        error = getattr(exceptions, name)
        assert issubclass(error, BaseException), name
        if name in public_errors:
            assert error is getattr(processes, name)


def test_an_error_raised_by_a_process_is_caught_by_its_v7_import() -> None:
    from processes.exceptions import CircularDependencyError, DependencyNotFoundError

    a = Task("a", int, dependencies=[TaskDependency("b")])
    b = Task("b", int, dependencies=[TaskDependency("a")])
    with pytest.raises(CircularDependencyError, match=r"(a -> b -> a)|(b -> a -> b)"):
        Process([a, b])
    with pytest.raises(DependencyNotFoundError, match="'nowhere'"):
        Process([Task("c", int, dependencies=[TaskDependency("nowhere")])])


# -- function labels --------------------------------------------------------------------------


def double(x: int) -> int:
    return 2 * x


class Multiplier:
    def __init__(self, factor: int) -> None:
        self.factor = factor

    def __call__(self, x: int) -> int:
        return self.factor * x


class Pipeline:
    """A function nested in a method: v7 users' tests build tasks like this."""

    def build(self) -> Task:
        def load() -> int:
            return 1

        return Task("load", load)

    def fails(self) -> Task:
        def load() -> int:
            raise ValueError("no rows")

        return Task("load", load)


def _run_label(func: Any, *args: Any, parallel: bool) -> str:
    with Process([Task("t", func, args=args)]) as process:
        entry = process.run(parallel=parallel).entries["t"]
    assert entry.status is TaskStatus.SUCCESS
    return entry.function


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize(
    ("func", "args", "label"),
    [
        (double, (1,), "double"),
        (lambda: 1, (), "<lambda>"),
        (functools.partial(double, 3), (), "double"),
        (functools.partial(functools.partial(double), 3), (), "double"),
        (Multiplier(3), (2,), "Multiplier"),
        (functools.partial(Multiplier(3), 2), (), "Multiplier"),
        (Pipeline().build, (), "build"),
        (len, ("ab",), "len"),
    ],
)
def test_the_function_label_is_the_callables_name(
    func: Any, args: tuple[Any, ...], label: str, parallel: bool
) -> None:
    assert _run_label(func, *args, parallel=parallel) == label


def test_a_function_nested_in_a_method_is_labelled_by_its_own_name() -> None:
    task = Pipeline().build()
    assert task.func.__qualname__ == "Pipeline.build.<locals>.load"
    with Process([task]) as process:
        assert process.run(parallel=False).entries["load"].function == "load"


def test_error_data_has_the_same_label_in_a_run_and_alone() -> None:
    with Process([Pipeline().fails()]) as process:
        entry = process.run(parallel=False).entries["load"]
    assert entry.error is not None
    assert entry.function == entry.error.function == "load"
    alone = Pipeline().fails().run()
    assert alone.error_data is not None
    assert alone.error_data.function == "load"


# -- record.task_context ----------------------------------------------------------------------

CONTEXT_KEYS = {
    "task_name",
    "function",
    "args",
    "kwargs",
    "downstream_impact",
    "exception",
    "traceback_str",
    "traced_vars",
    "traced_vars_location",
}


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def error_record(self) -> logging.LogRecord:
        errors = [r for r in self.records if r.levelno == logging.ERROR]
        assert len(errors) == 1, [r.getMessage() for r in self.records]
        return errors[0]


def parse_rows(rows: str, *, limit: int = 3) -> list[str]:
    markup = "<b>&amp;</b>"
    raise ValueError(f'bad row <tr> & "{rows}" {markup} {limit}')


def _assert_context_matches(record: logging.LogRecord, error: ErrorData) -> dict[str, Any]:
    context = record.task_context  # type: ignore[attr-defined]
    assert type(context) is dict
    assert set(context) == CONTEXT_KEYS
    for key in CONTEXT_KEYS:
        assert context[key] == getattr(error, key), key
    assert type(context["traced_vars"]) is dict
    return context


@pytest.mark.parametrize("parallel", [False, True])
def test_the_failures_error_record_carries_the_task_context(parallel: bool) -> None:
    fetch = Task("fetch", parse_rows, args=("<a>",), kwargs={"limit": 5})
    after = Task("after", int, dependencies=[TaskDependency("fetch")])
    records = Records()
    fetch.logger.addHandler(records)
    with Process([fetch, after]) as process:
        entry = process.run(parallel=parallel).entries["fetch"]
    assert entry.error is not None
    context = _assert_context_matches(records.error_record(), entry.error)
    assert context["task_name"] == "fetch"
    assert context["function"] == "parse_rows"
    assert context["args"] == ("<a>",)
    assert context["kwargs"] == {"limit": 5}
    assert tuple(context["downstream_impact"]) == ("after",)
    # Nothing escaped: the handler gets the texts as the task produced them.
    assert context["exception"] == 'bad row <tr> & "<a>" <b>&amp;</b> 5'
    assert context["traced_vars"]["markup"] == "'<b>&amp;</b>'"
    assert context["traced_vars"]["rows"] == "'<a>'"
    assert context["traced_vars_location"].endswith(
        f"test_v7_details.py:{parse_rows.__code__.co_firstlineno + 2}"
    )
    assert 'raise ValueError(f\'bad row <tr> & "{rows}"' in context["traceback_str"]
    assert "&lt;" not in repr(context)
    assert "&quot;" not in repr(context)


def test_task_run_alone_gives_the_context_too() -> None:
    task = Task("fetch", parse_rows, args=("x",))
    records = Records()
    task.logger.addHandler(records)
    result = task.run()
    assert result.error_data is not None
    context = _assert_context_matches(records.error_record(), result.error_data)
    assert context["downstream_impact"] == []


def test_the_context_holds_secrets_as_the_report_does() -> None:
    def login(user: str, password: str) -> None:
        token = "tok-not-shown"  # a secret-named local, on purpose
        raise PermissionError(f"refused for {user} ({len(token)})")

    task = Task("login", login, args=("bob", "hunter2-pw"))
    records = Records()
    task.logger.addHandler(records)
    with Process([task]) as process:
        entry = process.run(parallel=False).entries["login"]
    assert entry.error is not None
    context = _assert_context_matches(records.error_record(), entry.error)
    assert "hunter2-pw" not in repr(context)
    assert "tok-not-shown" not in repr(context)
    assert context["traced_vars"]["token"] == "[redacted]"


def test_records_other_than_the_failure_carry_no_context() -> None:
    task = Task("ok", int)
    records = Records()
    task.logger.addHandler(records)
    with Process([task]) as process:
        assert process.run(parallel=False).ok
    assert [r.getMessage() for r in records.records] == ["Starting ok.", "Finished ok."]
    assert not any(hasattr(r, "task_context") for r in records.records)


# -- notify(tasks=...) ------------------------------------------------------------------------


class Recorder(ReportChannel):
    def __init__(self) -> None:
        self.reports: list[ProcessExecutionReport] = []

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        self.reports.append(report)


def _hand_built() -> ProcessExecutionReport:
    report = make_report(
        make_entry("Fetch_Orders"),
        make_entry("Load", TaskStatus.ERRORED, error=make_error("Load")),
        make_entry("report"),
    )
    return ProcessExecutionReport(
        entries=report.entries,
        process_name=report.process_name,
        started_at=report.started_at,
        finished_at=report.finished_at,
        changes={"Load": TaskChange.STILL_FAILING, "Fetch_Orders": TaskChange.RECOVERED},
        streaks={"Load": FailureStreak(3, T0)},
    )


@pytest.mark.parametrize("wanted", [["fetch_orders"], ["FETCH_ORDERS"], ["Fetch_Orders"]])
def test_notify_matches_task_names_case_insensitively_on_both_sides(wanted: list[str]) -> None:
    channel = Recorder()
    (delivery,) = _hand_built().notify(channel, tasks=wanted)
    assert delivery.ok
    assert delivery.sent
    (sent,) = channel.reports
    assert list(sent.entries) == ["Fetch_Orders"]
    assert sent.changes == {"Fetch_Orders": TaskChange.RECOVERED}
    assert sent.streaks == {}


def test_only_keeps_the_reports_own_keys_and_their_changes_and_streaks() -> None:
    narrowed = _hand_built().only(["load", "REPORT"])
    assert list(narrowed.entries) == ["Load", "report"]
    assert narrowed.changes == {"Load": TaskChange.STILL_FAILING}
    assert narrowed.streaks == {"Load": FailureStreak(3, T0)}
    assert list(_hand_built().only("fetch_ORDERS").entries) == ["Fetch_Orders"]
