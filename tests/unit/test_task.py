"""Task and TaskDependency: validation and messages (SPEC §1-§2), labels, Task.run() alone."""

from __future__ import annotations

import functools
import logging
import re
import threading
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processes import (
    CircularDependencyError,
    Process,
    Task,
    TaskDependency,
    TaskResult,
    TaskStatus,
)
from processes.task import lower_cased

if TYPE_CHECKING:
    from pathlib import Path


def noop() -> None:
    return None


def double(x: int) -> int:
    return x * 2


class Greeter:
    def greet(self, who: str) -> str:
        return f"hello {who}"


class Multiplier:
    def __init__(self, factor: int) -> None:
        self.factor = factor

    def __call__(self, x: int) -> int:
        return x * self.factor


def flaky(exc: Exception, failures: int, value: object = "done"):
    """A function that raises ``exc`` on its first ``failures`` calls, then returns ``value``."""
    calls: list[int] = []

    def func() -> object:
        calls.append(1)
        if len(calls) <= failures:
            raise exc
        return value

    return func, calls


# -- names -----------------------------------------------------------------------------------


def test_name_is_stored_lower_cased() -> None:
    assert Task("Fetch", noop).name == "fetch"
    assert Task("LOAD_Rows-2", noop).name == "load_rows-2"


def test_a_lower_case_name_is_kept_not_copied() -> None:
    name, upstream = "load_rows_" + str(7), "fetch_" + str(7)  # built at run time, not interned
    task = Task(name, noop, dependencies=[TaskDependency(upstream)])
    assert task.name is name
    assert task.dependencies[0].task_name is upstream


class _Name(str):
    pass


@given(st.text(min_size=1))
def test_lower_cased_is_str_lower(text: str) -> None:
    assert lower_cased(text) == text.lower()
    assert type(lower_cased(_Name(text))) is str


@pytest.mark.parametrize("name", ["ǅemal", "İstanbul", "ÉCOLE", "123", "ß", "ﬁ"])
def test_lower_cased_on_names_with_tricky_cases(name: str) -> None:
    assert lower_cased(name) == name.lower()


@pytest.mark.parametrize("name", [None, 5, b"fetch", ["fetch"]])
def test_name_that_is_not_a_str_is_a_type_error(name: object) -> None:
    with pytest.raises(TypeError):
        Task(name, noop)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["fetch rows", " fetch", "fetch\n", "a\tb", "x\u00a0y"])
def test_name_with_whitespace_is_a_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        Task(name, noop)


# -- func ------------------------------------------------------------------------------------


@pytest.mark.parametrize("func", [None, 42, "noop", (noop,)])
def test_func_that_is_not_callable_is_a_type_error(func: object) -> None:
    with pytest.raises(TypeError):
        Task("t", func)  # type: ignore[arg-type]


def test_async_generator_function_is_refused() -> None:
    async def agen():  # pragma: no cover - never called
        yield 1

    with pytest.raises(TypeError):
        Task("t", agen)


def test_async_def_function_result_is_awaited() -> None:
    async def compute(x: int) -> int:
        return x + 1

    result = Task("t", compute, args=(41,)).run()
    assert result.status is TaskStatus.SUCCESS
    assert result.result == 42


# -- args / kwargs ---------------------------------------------------------------------------


@pytest.mark.parametrize("args", [[1, 2], "ab", {1: 2}, 3])
def test_args_must_be_a_tuple(args: object) -> None:
    with pytest.raises(TypeError):
        Task("t", noop, args=args)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [[("a", 1)], "a=1", (("a", 1),)])
def test_kwargs_must_be_a_dict_or_none(kwargs: object) -> None:
    with pytest.raises(TypeError):
        Task("t", noop, kwargs=kwargs)  # type: ignore[arg-type]


def test_kwargs_none_and_dict_are_accepted_and_passed() -> None:
    def echo(*args: object, **kwargs: object) -> tuple[object, object]:
        return args, kwargs

    assert Task("t", echo, kwargs=None).run().result == ((), {})
    assert Task("t", echo, args=(1, 2), kwargs={"k": 3}).run().result == ((1, 2), {"k": 3})


# -- traced_vars_frame_filter, timeout, retries, retry_on ------------------------------------


@pytest.mark.parametrize("value", [1, b"x", ["mod"], object()])
def test_traced_vars_frame_filter_message(value: object) -> None:
    with pytest.raises(TypeError, match=r"^traced_vars_frame_filter must be a str or None"):
        Task("t", noop, traced_vars_frame_filter=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, -1, -0.5, "5", [1], float("nan")])
def test_timeout_message(value: object) -> None:
    with pytest.raises(TypeError, match=r"^timeout must be a positive number or None, got "):
        Task("t", noop, timeout=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [1, 0.25, None])
def test_timeout_accepts_positive_numbers_and_none(value: float | None) -> None:
    assert Task("t", noop, timeout=value).timeout == value


@pytest.mark.parametrize("value", [-1, 1.5, "2", [1]])
def test_retries_message(value: object) -> None:
    with pytest.raises(TypeError, match=r"^retries must be a non-negative int, got "):
        Task("t", noop, retries=value)  # type: ignore[arg-type]


def test_retries_none_means_no_retry() -> None:
    func, calls = flaky(ConnectionError("down"), failures=1)
    result = Task("t", func, retries=None).run()
    assert result.status is TaskStatus.ERRORED
    assert result.attempts == 1
    assert len(calls) == 1


@pytest.mark.parametrize(
    "value",
    [
        [ValueError],
        ValueError,
        (ValueError, 5),
        ("ValueError",),
        (KeyboardInterrupt,),
        (BaseException,),
        (ValueError(),),
    ],
)
def test_retry_on_message(value: object) -> None:
    with pytest.raises(
        TypeError, match=r"^retry_on must be None or a tuple of Exception subclasses"
    ):
        Task("t", noop, retries=1, retry_on=value)  # type: ignore[arg-type]


# -- dependencies ----------------------------------------------------------------------------


def test_duplicate_dependency_message() -> None:
    with pytest.raises(ValueError, match=r"^Duplicate dependency name: fetch$"):
        Task("t", noop, dependencies=[TaskDependency("fetch"), TaskDependency("fetch")])


def test_duplicate_dependency_ignores_case() -> None:
    with pytest.raises(ValueError, match=r"^Duplicate dependency name: fetch$"):
        Task("t", noop, dependencies=[TaskDependency("Fetch"), TaskDependency("FETCH")])


def test_self_dependency_message() -> None:
    with pytest.raises(CircularDependencyError) as excinfo:
        Task("load", noop, dependencies=[TaskDependency("load")])
    assert str(excinfo.value) == "Task 'load' lists itself as a dependency."


def test_self_dependency_ignores_case() -> None:
    with pytest.raises(CircularDependencyError) as excinfo:
        Task("Load", noop, dependencies=[TaskDependency("LOAD")])
    assert str(excinfo.value) == "Task 'load' lists itself as a dependency."


def test_dependency_names_are_lower_cased() -> None:
    task = Task("t", noop, dependencies=[TaskDependency("Fetch")])
    assert [d.task_name for d in task.dependencies] == ["fetch"]


def test_a_dependency_list_shared_by_tasks_is_never_changed_by_the_library() -> None:
    shared = [TaskDependency("fetch")]
    first, second = Task("a", noop, dependencies=shared), Task("b", noop, dependencies=shared)
    assert first.dependencies is shared  # kept, not copied
    first.add_dependency(TaskDependency("audit"))
    assert [d.task_name for d in first.dependencies] == ["fetch", "audit"]
    assert [d.task_name for d in shared] == ["fetch"]
    assert second.dependencies == [TaskDependency("fetch")]


def test_add_dependency_checks_like_the_constructor() -> None:
    task = Task("load", noop, dependencies=[TaskDependency("fetch")])
    with pytest.raises(ValueError, match=r"^Duplicate dependency name: fetch$"):
        task.add_dependency(TaskDependency("FETCH"))
    with pytest.raises(CircularDependencyError):
        task.add_dependency(TaskDependency("load"))
    assert [d.task_name for d in task.dependencies] == ["fetch"]


def test_dependencies_given_as_a_tuple_become_a_list() -> None:
    task = Task("t", noop, dependencies=(TaskDependency("fetch"),))  # type: ignore[arg-type]
    assert task.dependencies == [TaskDependency("fetch")]
    assert isinstance(task.dependencies, list)


@pytest.mark.parametrize("value", [TaskDependency("fetch"), "fetch", 5, {"fetch"}])
def test_dependencies_that_are_not_a_list_name_the_task(value: object) -> None:
    with pytest.raises(TypeError, match=r"^Task 'load': dependencies must be a list"):
        Task("load", noop, dependencies=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "flags",
    [
        {"use_result_as_additional_args": 1},
        {"use_result_as_additional_args": "yes"},
        {"use_result_as_additional_args": None},
        {"use_result_as_additional_kwargs": 1, "additional_kwarg_name": "x"},
        {"use_result_as_additional_kwargs": "true", "additional_kwarg_name": "x"},
    ],
)
def test_dependency_flags_must_be_bool(flags: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        TaskDependency("up", **flags)  # type: ignore[arg-type]


def test_kwargs_flag_needs_a_kwarg_name() -> None:
    with pytest.raises(TypeError):
        TaskDependency("up", use_result_as_additional_kwargs=True)
    with pytest.raises(TypeError):
        TaskDependency("up", use_result_as_additional_kwargs=True, additional_kwarg_name="")


def test_dependency_flags_may_both_be_set() -> None:
    dep = TaskDependency(
        "up",
        use_result_as_additional_args=True,
        use_result_as_additional_kwargs=True,
        additional_kwarg_name="rows",
    )
    assert dep.use_result_as_additional_args
    assert dep.use_result_as_additional_kwargs
    assert dep.additional_kwarg_name == "rows"


def test_dependency_defaults_only_order() -> None:
    dep = TaskDependency("up")
    assert dep.use_result_as_additional_args is False
    assert dep.use_result_as_additional_kwargs is False
    assert dep.additional_kwarg_name == ""


# -- function labels -------------------------------------------------------------------------


def _label(func: object, *args: object) -> str:
    with Process([Task("t", func, args=args)]) as process:  # type: ignore[arg-type]
        entry = process.run(parallel=False).entries["t"]
    assert entry.status is TaskStatus.SUCCESS
    return entry.function


def _assert_readable(label: str) -> None:
    assert label
    assert "0x" not in label  # no memory address
    assert "<function" not in label
    assert "object at" not in label


def test_label_of_plain_function() -> None:
    label = _label(double, 2)
    _assert_readable(label)
    assert label.split(".")[-1] == "double"


def test_label_of_nested_function() -> None:
    def inner_helper() -> int:
        return 1

    label = _label(inner_helper)
    _assert_readable(label)
    assert "inner_helper" in label


def test_label_of_lambda() -> None:
    label = _label(lambda: 1)
    _assert_readable(label)
    assert "lambda" in label


def test_label_of_partial_shows_the_wrapped_function() -> None:
    label = _label(functools.partial(double, 3))
    _assert_readable(label)
    assert "double" in label


def test_label_of_bound_method() -> None:
    label = _label(Greeter().greet, "you")
    _assert_readable(label)
    assert "greet" in label


def test_label_of_callable_object() -> None:
    label = _label(Multiplier(3), 2)
    _assert_readable(label)
    assert "Multiplier" in label


def test_label_on_error_data_too() -> None:
    def broken() -> None:
        raise ValueError("nope")

    result = Task("t", functools.partial(broken)).run()
    assert result.error_data is not None
    assert "broken" in result.error_data.function
    _assert_readable(result.error_data.function)


# -- Task.run() alone ------------------------------------------------------------------------


def test_run_success() -> None:
    result = Task("t", double, args=(21,)).run()
    assert isinstance(result, TaskResult)
    assert result.status is TaskStatus.SUCCESS
    assert result.worked
    assert result.result == 42
    assert result.exception is None
    assert result.error_data is None
    assert result.attempts == 1
    assert result.elapsed_seconds >= 0


def test_run_failure_never_raises() -> None:
    error = ValueError("bad row 7")

    def broken() -> None:
        raise error

    result = Task("t", broken).run()
    assert result.status is TaskStatus.ERRORED
    assert not result.worked
    assert result.result is None
    assert result.exception is error
    assert result.attempts == 1
    assert result.error_data is not None
    assert result.error_data.task_name == "t"
    assert "bad row 7" in result.error_data.exception
    assert result.error_data.exception_type == "ValueError"
    assert "Traceback" in result.error_data.traceback_str


def test_run_failure_with_base_exception_subclass_never_raises() -> None:
    def exits() -> None:
        raise SystemExit(3)

    result = Task("t", exits).run()
    assert result.status is TaskStatus.ERRORED
    assert isinstance(result.exception, SystemExit)


def test_run_does_not_pass_dependency_results() -> None:
    def echo(*args: object) -> tuple[object, ...]:
        return args

    task = Task(
        "t",
        echo,
        args=(1,),
        dependencies=[TaskDependency("up", use_result_as_additional_args=True)],
    )
    assert task.run().result == (1,)


def test_run_retries_with_retry_on() -> None:
    func, calls = flaky(ValueError("flaky"), failures=2, value="ok")
    result = Task("t", func, retries=2, retry_on=(ValueError,)).run()
    assert result.status is TaskStatus.SUCCESS
    assert result.result == "ok"
    assert result.attempts == 3
    assert len(calls) == 3


def test_run_gives_up_after_its_retries() -> None:
    func, calls = flaky(ValueError("flaky"), failures=5)
    result = Task("t", func, retries=2, retry_on=(ValueError,)).run()
    assert result.status is TaskStatus.ERRORED
    assert result.attempts == 3
    assert len(calls) == 3


@pytest.mark.parametrize(
    "exc", [ConnectionError("c"), ConnectionRefusedError("r"), TimeoutError("t")]
)
def test_default_retry_on_is_connection_and_timeout_errors(exc: Exception) -> None:
    func, calls = flaky(exc, failures=1)
    result = Task("t", func, retries=1).run()
    assert result.status is TaskStatus.SUCCESS
    assert len(calls) == 2


def test_default_retry_on_does_not_retry_other_errors() -> None:
    func, calls = flaky(ValueError("v"), failures=1)
    result = Task("t", func, retries=3).run()
    assert result.status is TaskStatus.ERRORED
    assert result.attempts == 1
    assert len(calls) == 1


def test_exception_outside_retry_on_ends_at_once() -> None:
    func, calls = flaky(ConnectionError("not listed"), failures=1)
    result = Task("t", func, retries=3, retry_on=(KeyError,)).run()
    assert result.status is TaskStatus.ERRORED
    assert isinstance(result.exception, ConnectionError)
    assert len(calls) == 1


def test_no_retries_means_a_single_attempt() -> None:
    func, calls = flaky(ConnectionError("down"), failures=1)
    result = Task("t", func).run()
    assert result.status is TaskStatus.ERRORED
    assert len(calls) == 1


def test_timeout_fails_with_timeout_error() -> None:
    release = threading.Event()

    def blocked() -> str:
        release.wait(60)
        return "late"

    try:
        result = Task("t", blocked, timeout=0.2).run()
    finally:
        release.set()
    assert result.status is TaskStatus.ERRORED
    assert isinstance(result.exception, TimeoutError)
    assert "timed out" in str(result.exception)
    assert result.error_data is not None
    assert "timed out" in result.error_data.exception
    assert result.elapsed_seconds < 30


def test_timed_out_attempt_is_retried_by_default() -> None:
    release = threading.Event()
    calls: list[int] = []

    def first_call_hangs() -> str:
        calls.append(1)
        if len(calls) == 1:
            release.wait(60)
        return "second"

    try:
        result = Task("t", first_call_hangs, timeout=0.2, retries=1).run()
    finally:
        release.set()
    assert result.status is TaskStatus.SUCCESS
    assert result.result == "second"
    assert result.attempts == 2


def test_fast_task_with_timeout_succeeds() -> None:
    assert Task("t", double, args=(2,), timeout=30).run().result == 4


# -- Task.logger -----------------------------------------------------------------------------


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append((record.levelname, record.getMessage()))


def test_logger_is_a_logger_owned_by_the_task() -> None:
    task = Task("Owner", noop)
    assert isinstance(task.logger, logging.Logger)
    assert task.logger is task.logger
    assert task.logger.name == "owner"
    assert Task("owner", noop).logger is not task.logger


def test_logger_handlers_receive_task_records() -> None:
    task = Task("t", noop)
    handler = _ListHandler()
    task.logger.addHandler(handler)
    task.run()
    assert handler.messages == [("INFO", "Starting t."), ("INFO", "Finished t.")]


def test_logger_handlers_receive_retry_warning_and_error() -> None:
    func, _ = flaky(ConnectionError("down"), failures=5)
    task = Task("t", func, retries=1)
    handler = _ListHandler()
    task.logger.addHandler(handler)
    task.run()
    levels = [level for level, _ in handler.messages]
    assert levels == ["INFO", "WARNING", "ERROR"]
    assert handler.messages[1][1].startswith("Attempt 1/2 failed: ")
    assert handler.messages[1][1].endswith("Retrying...")
    assert "down" in handler.messages[2][1]


def test_run_alone_writes_its_log_file(tmp_path: Path) -> None:
    log = tmp_path / "alone.log"
    func, _ = flaky(ConnectionError("reset"), failures=1)
    Task("Alone", func, log, retries=1).run()
    lines = log.read_text(encoding="utf-8").splitlines()
    messages = [line.split(" - ", 1)[1] for line in lines]
    assert len(messages) == 3
    assert messages[0] == "alone - INFO - Starting alone."
    assert re.fullmatch(
        r"alone - WARNING - Attempt 1/2 failed: (ConnectionError: )?reset\. Retrying\.\.\.",
        messages[1],
    )
    assert messages[2] == "alone - INFO - Finished alone."


def test_run_accepts_an_executing_process() -> None:
    task = Task("t", double, args=(1,))
    assert task.run(Process([task])).result == 2


# -- attributes set after building -------------------------------------------------------------


@pytest.mark.parametrize(
    ("attribute", "value", "error", "message"),
    [
        ("name", "two words", ValueError, r"^Task name must be non-empty with no whitespace"),
        ("name", 5, TypeError, r"^Task name must be a str"),
        ("func", "not callable", TypeError, r"^Task 't': func must be callable"),
        ("log_path", 3, TypeError, r"^Task 't': log_path must be a str"),
        ("args", [1], TypeError, r"^Task 't': args must be a tuple"),
        ("kwargs", [("a", 1)], TypeError, r"^Task 't': kwargs must be a dict or None"),
        ("dependencies", "fetch", TypeError, r"^Task 't': dependencies must be a list"),
        ("redactor", ("password",), TypeError, r"^Task 't': redactor must be a Redactor"),
        ("retries", False, TypeError, r"^Task 't': retries must be a non-negative int"),
        ("retry_backoff", True, TypeError, r"^Task 't': retry_backoff must be a number"),
        ("retry_delay", float("nan"), ValueError, r"^Task 't': retry_delay must be a finite"),
        ("retry_max_delay", float("inf"), ValueError, r"must be a finite number"),
    ],
)
def test_an_attribute_set_later_is_checked_and_left_as_it_was(
    attribute: str, value: object, error: type[Exception], message: str
) -> None:
    task = Task("t", noop)
    before = getattr(task, attribute)
    with pytest.raises(error, match=message):
        setattr(task, attribute, value)
    assert getattr(task, attribute) == before
    assert Process([task]).run().ok


def test_attributes_set_later_are_normalised_like_in_the_constructor() -> None:
    task = Task("t", noop)
    task.name = "Renamed"
    task.kwargs = None  # type: ignore[assignment]
    task.dependencies = None  # type: ignore[assignment]
    assert (task.name, task.kwargs, task.dependencies) == ("renamed", {}, [])


@pytest.mark.parametrize("flag", [False, True])
def test_bools_are_not_numbers_for_retry_settings_even_when_they_equal_a_default(
    flag: bool,
) -> None:
    with pytest.raises(TypeError):
        Task("t", noop, retries=flag)
    with pytest.raises(TypeError):
        Task("t", noop, retry_jitter=flag)


@pytest.mark.parametrize("zero", [0.0, Fraction(0), Decimal(0)])
def test_a_retry_count_equal_to_zero_must_still_be_an_int(zero: object) -> None:
    with pytest.raises(TypeError, match="retries must be a non-negative int"):
        Task("t", noop, retries=zero)  # type: ignore[arg-type]
    task = Task("t", noop)
    with pytest.raises(TypeError, match="retries must be a non-negative int"):
        task.retries = zero
