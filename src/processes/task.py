"""A task: a name, a callable, its inputs, its upstream tasks and how to retry it.

Validated when built, so that an invalid ``Task`` cannot exist. Running many tasks is
the scheduler's job (``execution``); ``Task.run()`` runs one alone. Imports no
scheduler: ``execution`` and ``process`` import this module, never the reverse.
"""

from __future__ import annotations

import functools
import inspect
import operator
import os
import time
import types
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from processes.attempt import CaptureSettings, interruptible_sleep, run_within_timeout
from processes.capture import secret_positions
from processes.checks import check_choice, check_flag, check_number, check_type, type_error
from processes.errors import CircularDependencyError, TaskTraceback
from processes.life import TaskLife
from processes.outcome import ErrorData, TaskResult, TaskStatus
from processes.redaction import DEFAULT_REDACTOR, REDACTED, Redactor, read_environment
from processes.retry import DEFAULT_RETRY_ON, RetryPolicy
from processes.tasklog import LogFiles, new_task_logger, routing_task_records, writes_to

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Sequence

    from processes.capture import Failure
    from processes.fingerprint import Parts


class TaskDependency:
    """An upstream task, and whether its result is passed on as an argument.

    With ``use_result_as_additional_args`` the upstream result is appended after the
    task's own ``args``; with ``use_result_as_additional_kwargs`` it is passed as
    ``additional_kwarg_name=result``. Neither: the dependency only orders the tasks.
    """

    __slots__ = (
        "additional_kwarg_name",
        "for_each",
        "task_name",
        "use_result_as_additional_args",
        "use_result_as_additional_kwargs",
    )

    def __init__(
        self,
        task_name: str,
        use_result_as_additional_args: bool = False,
        use_result_as_additional_kwargs: bool = False,
        additional_kwarg_name: str = "",
        *,
        for_each: bool = False,
    ) -> None:
        global _for_each_given
        if not isinstance(task_name, str):  # inline: 300,000 are built for 100,000 tasks
            raise type_error("task_name", task_name, "a str", owner="TaskDependency")
        # SPEC §2 fixes a TypeError for the flags and for a missing additional_kwarg_name,
        # whose messages name the dependency.
        if use_result_as_additional_args.__class__ is not bool:
            raise _not_a_flag(
                "use_result_as_additional_args", use_result_as_additional_args, task_name
            )
        if use_result_as_additional_kwargs.__class__ is not bool:
            raise _not_a_flag(
                "use_result_as_additional_kwargs", use_result_as_additional_kwargs, task_name
            )
        if use_result_as_additional_kwargs and (
            not isinstance(additional_kwarg_name, str) or not additional_kwarg_name
        ):
            raise TypeError(
                f"Dependency {task_name!r} passes its result as a keyword argument: "
                "give it a non-empty additional_kwarg_name"
            )
        # lower_cased(), inline: 300,000 dependencies are built for 100,000 tasks
        lower = type(task_name) is str and task_name.islower()
        self.task_name = task_name if lower else task_name.lower()
        self.use_result_as_additional_args = use_result_as_additional_args
        self.use_result_as_additional_kwargs = use_result_as_additional_kwargs
        self.additional_kwarg_name = additional_kwarg_name
        if for_each is not False:
            check_flag("for_each", for_each, owner=f"TaskDependency {task_name!r}:")
            _for_each_given = True
        self.for_each = for_each

    def __repr__(self) -> str:
        return (
            f"TaskDependency({self.task_name!r}, "
            f"use_result_as_additional_args={self.use_result_as_additional_args}, "
            f"use_result_as_additional_kwargs={self.use_result_as_additional_kwargs}, "
            f"additional_kwarg_name={self.additional_kwarg_name!r}"
            + (", for_each=True)" if self.for_each else ")")
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TaskDependency):
            return NotImplemented
        return (
            self.task_name,
            self.use_result_as_additional_args,
            self.use_result_as_additional_kwargs,
            self.additional_kwarg_name,
            self.for_each,
        ) == (
            other.task_name,
            other.use_result_as_additional_args,
            other.use_result_as_additional_kwargs,
            other.additional_kwarg_name,
            other.for_each,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable peers compare by value


def lower_cased(name: str) -> str:
    """``name.lower()``, without a copy of a name that already is lower-case.

    ``str.lower()`` always copies: 100,000 tasks would hold 100,000 copies of their
    names, and as many again for their dependencies. (Every character ``islower()``
    accepts is its own lower case, and the characters it ignores have no case.)
    """
    return name if type(name) is str and name.islower() else name.lower()


#: Getters that run in C, for passes over every task (``Process`` checks before each run
#: whether the tasks changed since it validated them).
NAME_OF = operator.attrgetter("_name")
DEPENDENCIES_OF = operator.attrgetter("_dependencies")
UPSTREAM_NAME_OF = operator.attrgetter("task_name")
LOG_PATH_OF = operator.attrgetter("_log_path")

# Built once: ``isinstance(x, list | tuple)`` builds the union on every call, per task.
_SEQUENCES = (list, tuple)


def _checked_dependencies(
    name: str, dependencies: object, kwargs: dict[str, Any] | None = None
) -> list[TaskDependency]:
    """A task's dependencies, checked (``kwargs``: the task's own, which a result passed
    as a keyword must not collide with). A list given is kept, not copied: this library
    never changes it (tasks may share one), and 100,000 tasks hold no copies."""
    if not isinstance(dependencies, _SEQUENCES):
        raise type_error(
            "dependencies",
            dependencies,
            "a list of TaskDependency or None",
            owner=f"Task {name!r}:",
        )
    seen: set[str] = set()
    keywords = False
    for dependency in dependencies:
        if not isinstance(dependency, TaskDependency):
            raise type_error(
                "dependencies", dependency, "TaskDependency objects", owner=f"Task {name!r}:"
            )
        upstream = dependency.task_name
        if upstream == name:
            raise CircularDependencyError(
                f"Task '{name}' lists itself as a dependency.", (name, name)
            )
        if upstream in seen:
            raise ValueError(f"Duplicate dependency name: {upstream}")
        seen.add(upstream)
        if dependency.additional_kwarg_name:  # rare: most dependencies pass no keyword
            keywords = True
    if keywords:
        _check_keywords(name, dependencies, kwargs)
    if _for_each_given:
        for_each_edge(name, dependencies)
    return dependencies if type(dependencies) is list else list(dependencies)


# False until a dependency is given ``for_each=True``: until then no task looks for one.
_for_each_given = False


def for_each_given() -> bool:
    """True once any dependency was given ``for_each=True`` (SPEC §15)."""
    return _for_each_given


def for_each_edge(name: str, dependencies: Sequence[TaskDependency]) -> int:
    """The index of task ``name``'s one ``for_each`` dependency (-1 if none); refuse two,
    or one that passes no result."""
    found = -1
    for k, dependency in enumerate(dependencies):
        if not dependency.for_each:
            continue
        if not (
            dependency.use_result_as_additional_args or dependency.use_result_as_additional_kwargs
        ):
            raise ValueError(
                f"Task {name!r}: dependency {dependency.task_name!r} has for_each=True but "
                "passes no result: set use_result_as_additional_args=True or "
                "use_result_as_additional_kwargs=True on it"
            )
        if found >= 0:
            raise ValueError(
                f"Task {name!r}: at most one dependency may have for_each=True, got "
                f"{dependencies[found].task_name!r} and {dependency.task_name!r}"
            )
        found = k
    return found


def _check_keywords(
    name: str, dependencies: Sequence[TaskDependency], kwargs: dict[str, Any] | None
) -> None:
    """Refuse a keyword a result cannot be passed under, or under which it would be lost."""
    given: dict[str, str] = {}  # keyword -> the upstream task passing its result under it
    for dependency in dependencies:
        keyword, upstream = dependency.additional_kwarg_name, dependency.task_name
        if not keyword:
            continue
        where = f"Task {name!r}: dependency {upstream!r}"
        if not dependency.use_result_as_additional_kwargs:
            raise ValueError(
                f"{where} gives additional_kwarg_name={keyword!r} but does not pass its "
                "result as a keyword argument, so the name is unused: set "
                "use_result_as_additional_kwargs=True, or drop additional_kwarg_name"
            )
        if not isinstance(keyword, str) or not keyword.isidentifier():
            raise ValueError(
                f"{where}: additional_kwarg_name={keyword!r} is not a Python identifier, "
                "so no parameter can receive it: name the parameter the result goes to"
            )
        if keyword in given:
            raise ValueError(
                f"Task {name!r}: dependencies {given[keyword]!r} and {upstream!r} both pass "
                f"their result as keyword {keyword!r}, so one would be lost: give each "
                "its own additional_kwarg_name"
            )
        if kwargs and keyword in kwargs:
            raise ValueError(
                f"{where} passes its result as keyword {keyword!r}, which the task's own "
                "kwargs already hold: rename one of them"
            )
        given[keyword] = upstream


def _not_a_flag(flag: str, value: object, task_name: str) -> TypeError:
    return TypeError(f"{flag} must be a bool, got {value!r} (dependency {task_name!r})")


def function_label(func: Callable[..., Any]) -> str:
    """The callable's ``__name__``, as v7 showed it (SPEC §10).

    A function nested in a method is ``load``, not ``Outer.method.<locals>.load``; a
    partial shows the function it wraps; a callable object its class name.
    """
    while isinstance(func, functools.partial):
        func = func.func
    name = getattr(func, "__name__", None)
    if isinstance(name, str) and name:
        return name
    return type(func).__name__


def _check_retry_on(retry_on: object) -> None:
    # Before any cache sees it: a list would fail as "unhashable", not with this message.
    if retry_on is not None and not (
        isinstance(retry_on, tuple)
        and all(isinstance(cls, type) and issubclass(cls, Exception) for cls in retry_on)
    ):
        raise TypeError("retry_on must be None or a tuple of Exception subclasses")


def _policy(
    retries: int | None,
    retry_on: tuple[type[BaseException], ...] | None,
    delay: float,
    backoff: float,
    max_delay: float | None,
    jitter: float,
) -> RetryPolicy:
    """Check retry settings (also those changed after a task was built), then share the
    policy of tasks built alike."""
    if retries is None:
        retries = 0
    # SPEC §1 fixes a TypeError, even for a negative value, and the messages of retries,
    # retry_on, timeout and traced_vars_frame_filter (v7's); the newer settings use checks.
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise TypeError(f"retries must be a non-negative int, got {retries!r}")
    _check_retry_on(retry_on)
    # Finite: a nan delay would corrupt the run's timer heap.
    check_number("retry_jitter", jitter, maximum=1)
    check_number("retry_delay", delay)
    check_number("retry_backoff", backoff)
    if max_delay is not None:
        check_number("retry_max_delay", max_delay)
    return _shared_policy(
        retries,
        DEFAULT_RETRY_ON if retry_on is None else retry_on,
        float(delay),
        float(backoff),
        None if max_delay is None else float(max_delay),
        float(jitter),
    )


@functools.lru_cache(maxsize=256)
def _shared_policy(
    retries: int,
    retry_on: tuple[type[BaseException], ...],
    delay: float,
    backoff: float,
    max_delay: float | None,
    jitter: float,
) -> RetryPolicy:
    return RetryPolicy(retries, retry_on, delay, backoff, max_delay, jitter)


def _settings(
    frame_filter: str | None,
    redactor: Redactor,
    retry_on: tuple[type[BaseException], ...],
    timeout: float | None,
) -> CaptureSettings:
    """Check capture settings, then share those of tasks built alike."""
    if timeout is not None and not _is_positive_number(timeout):
        raise TypeError(f"timeout must be a positive number or None, got {timeout!r}")
    if frame_filter is not None and not isinstance(frame_filter, str):
        raise TypeError(f"traced_vars_frame_filter must be a str or None, got {frame_filter!r}")
    if not isinstance(redactor, Redactor):
        raise TypeError(
            f"redactor must be a Redactor, got {redactor!r} "
            "(Redactor(names) builds one; Task(..., redact=names) too)"
        )
    return _shared_settings(frame_filter, redactor, retry_on, timeout)


@functools.lru_cache(maxsize=256)
def _shared_settings(
    frame_filter: str | None,
    redactor: Redactor,
    retry_on: tuple[type[BaseException], ...],
    timeout: float | None,
) -> CaptureSettings:
    return CaptureSettings(frame_filter, redactor, retry_on, timeout)


_ASYNC_GENERATOR = inspect.CO_ASYNC_GENERATOR


def _is_async_generator_function(func: object) -> bool:
    if type(func) is types.FunctionType:  # the common case, without inspect's unwrapping
        return bool(func.__code__.co_flags & inspect.CO_ASYNC_GENERATOR)
    return inspect.isasyncgenfunction(func)


def _is_positive_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


_DEFAULT_VALUES: tuple[Any, ...] = (
    0,
    None,
    None,
    None,
    DEFAULT_REDACTOR,
    0,
    1,
    None,
    0,
)  # as _derive lists them
_DEFAULT_POLICY = _policy(0, None, 0, 1, None, 0)
_DEFAULT_SETTINGS = _settings(None, DEFAULT_REDACTOR, _DEFAULT_POLICY.retry_on, None)


# The int defaults, compared by identity in ``Task.__init__``: CPython keeps one object
# per small int, so ``retries is _ZERO`` holds for the int 0 and never for 0.0 or False;
# a value it misses takes the general path, which derives the same settings.
_ZERO = 0
_ONE = 1


#: When a task may start, given how its upstream tasks ended (``Task(run_when=...)``).
ALL_SUCCEEDED = "all_succeeded"  # every upstream task succeeded (v7's only rule)
ALL_DONE = "all_done"  # every upstream task finished, whatever its status: cleanup
ANY_FAILED = "any_failed"  # some upstream task errored or was skipped: compensation
RUN_WHEN = (ALL_SUCCEEDED, ALL_DONE, ANY_FAILED)

# False until a task is given a rule other than ALL_SUCCEEDED: until then a run does not
# look for rules at all, so processes that use none pay nothing per task for them.
_rules_given = False


def rules_given() -> bool:
    """True once any task was given a ``run_when`` other than ``"all_succeeded"``."""
    return _rules_given


_NO_FAN: tuple[Callable[[Any], str] | None, float] = (None, 0)


def _fan(
    name: str, item_key: object, max_failed: object
) -> tuple[Callable[[Any], str] | None, float]:
    """``(item_key, max_failed)``: the shared defaults when given none, else checked."""
    if item_key is None and max_failed is _ZERO:
        return _NO_FAN
    return _check_fan(name, item_key, max_failed)


def _check_fan(
    name: str, item_key: object, max_failed: object
) -> tuple[Callable[[Any], str] | None, float]:
    """``(item_key, max_failed)`` checked (SPEC §15)."""
    owner = f"Task {name!r}:"
    if item_key is not None and not callable(item_key):
        raise type_error("item_key", item_key, "a callable or None", owner=owner)
    if isinstance(max_failed, bool) or not isinstance(max_failed, int | float):
        raise type_error("max_failed", max_failed, "an int >= 0 or a float in [0, 1]", owner=owner)
    if isinstance(max_failed, int) and max_failed < 0:
        raise ValueError(f"{owner} max_failed must be an int >= 0, got {max_failed!r}")
    if isinstance(max_failed, float) and not 0.0 <= max_failed <= 1.0:
        raise ValueError(
            f"{owner} max_failed as a float is a fraction of the items, in [0, 1], "
            f"got {max_failed!r}"
        )
    return item_key, max_failed


def _check_run_when(task: Task, run_when: object) -> str:
    global _rules_given
    check_choice("run_when", run_when, RUN_WHEN, owner=f"Task {task.name!r}:")
    rule = RUN_WHEN[RUN_WHEN.index(run_when)]
    if rule is not ALL_SUCCEEDED:
        _rules_given = True
    return rule  # the constant itself: runs compare rules by identity


def _check_name(task: Task | None, name: object) -> str:
    if not isinstance(name, str):  # inline, not check_type(): 100,000 tasks are named at once
        raise type_error("name", name, "a str", owner="Task")
    if name.split() != [name]:  # empty, or holding whitespace
        raise ValueError(f"Task name must be non-empty with no whitespace, got {name!r}")
    return lower_cased(name)


def _check_func(task: Task, func: object) -> Callable[..., Any]:
    if not callable(func):
        raise TypeError(f"Task {task.name!r}: func must be callable, got {func!r}")
    if _is_async_generator_function(func):
        raise TypeError(
            f"Task {task.name!r}: func is an async generator function; "
            "tasks must return a value (use an async def function instead)"
        )
    return func


def _check_log_path(task: Task, log_path: object) -> str | os.PathLike[str] | None:
    check_type(
        "log_path",
        log_path,
        (str, os.PathLike),
        owner=f"Task {task.name!r}:",
        allow_none=True,
        what="a str, a path",
    )
    return log_path  # type: ignore[return-value]  # checked


def _check_args(task: Task, args: object) -> tuple[Any, ...]:
    check_type("args", args, tuple, owner=f"Task {task.name!r}:")
    return args  # type: ignore[return-value]  # checked


def _check_kwargs(task: Task, kwargs: object) -> dict[str, Any]:
    if kwargs is None:
        return {}
    check_type("kwargs", kwargs, dict, owner=f"Task {task.name!r}:", allow_none=True)
    return kwargs  # type: ignore[return-value]  # checked


def _check_dependencies(task: Task, dependencies: object) -> list[TaskDependency]:
    return _checked_dependencies(
        task.name, [] if dependencies is None else dependencies, task.kwargs
    )


#: The settings a task keeps in one tuple (``Task._raw``), in this order: most tasks
#: share ``_DEFAULT_VALUES``, so 100,000 of them hold no per-task copy of nine values.
_SETTING_NAMES = (
    "retries",
    "retry_on",
    "timeout",
    "traced_vars_frame_filter",
    "redactor",
    "retry_delay",
    "retry_backoff",
    "retry_max_delay",
    "retry_jitter",
)
_TIMEOUT, _REDACTOR = _SETTING_NAMES.index("timeout"), _SETTING_NAMES.index("redactor")


class _Setting:
    """A task setting checked when it is set; what runs use is derived again from it."""

    __slots__ = ("index",)

    def __set_name__(self, owner: type, name: str) -> None:
        self.index = _SETTING_NAMES.index(name)

    def __get__(self, task: Task | None, owner: type | None = None) -> Any:
        return self if task is None else task._raw[self.index]

    def __set__(self, task: Task, value: object) -> None:
        old = task._raw
        task._raw = (*old[: self.index], value, *old[self.index + 1 :])
        try:
            task._derive()
        except (TypeError, ValueError) as exc:
            task._raw = old
            raise type(exc)(f"Task {task.name!r}: {exc}") from None


class Task:
    """A named callable with its arguments, upstream tasks, log file and retry policy.

    Examples:
        >>> Task("load", load_rows, "logs/load.log",
        ...      dependencies=[TaskDependency("fetch", use_result_as_additional_args=True)],
        ...      retries=2, retry_on=(ConnectionError,), retry_delay=1, retry_backoff=2)
        >>> Task("release_lock", release, run_when="all_done",  # cleanup: runs anyway
        ...      dependencies=[TaskDependency("load")])

    ``run_when`` says when the task may start: ``"all_succeeded"`` (the default) once
    every upstream task succeeded; ``"all_done"`` once they all finished, whatever
    their status; ``"any_failed"`` only if one of them errored or was skipped (it is
    skipped otherwise). Upstream results that never came are passed as None.
    """

    # Slots: a process of 100,000 tasks holds 100,000 of these.
    __slots__ = (
        "_args",
        "_dependencies",
        "_fan",
        "_func",
        "_kwargs",
        "_log_path",
        "_logger",
        "_name",
        "_policy",
        "_raw",
        "_reuse",
        "_run_when",
        "_settings",
    )

    # Checked when set, after construction too: an invalid Task cannot exist, and the
    # retry policy and capture settings a run uses always match them.
    timeout = _Setting()
    retries = _Setting()
    retry_on = _Setting()
    retry_delay = _Setting()
    retry_backoff = _Setting()
    retry_max_delay = _Setting()
    retry_jitter = _Setting()
    traced_vars_frame_filter = _Setting()
    redactor = _Setting()

    def __init__(
        self,
        name: str,
        func: Callable[..., Any],
        log_path: str | os.PathLike[str] | None = None,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        dependencies: list[TaskDependency] | None = None,
        traced_vars_frame_filter: str | None = None,
        timeout: float | None = None,
        retries: int | None = 0,
        retry_on: tuple[type[Exception], ...] | None = None,
        *,
        retry_delay: float = 0,
        retry_backoff: float = 1,
        retry_max_delay: float | None = None,
        retry_jitter: float = 0,
        redact: Iterable[str] | None = None,
        run_when: str = ALL_SUCCEEDED,
        reuse: bool = True,
        item_key: Callable[[Any], str] | None = None,
        max_failed: float = 0,
    ) -> None:
        # The checks of the common values are inline: 100,000 tasks are built at once.
        self._name = _check_name(None, name)
        if type(func) is types.FunctionType and not func.__code__.co_flags & _ASYNC_GENERATOR:
            self._func: Callable[..., Any] = func
        else:
            self._func = _check_func(self, func)
        self._log_path = None if log_path is None else _check_log_path(self, log_path)
        self._args = args if type(args) is tuple else _check_args(self, args)
        self._kwargs = {} if kwargs is None else _check_kwargs(self, kwargs)
        self._run_when = run_when if run_when is ALL_SUCCEEDED else _check_run_when(self, run_when)
        if reuse is not True:
            check_flag("reuse", reuse, owner=f"Task {self._name!r}")
        self._reuse = reuse
        self._fan = _fan(self._name, item_key, max_failed)
        if (
            redact is None
            and retry_on is None
            and timeout is None
            and traced_vars_frame_filter is None
            and retry_max_delay is None
            and (retries is None or retries is _ZERO)
            and retry_delay is _ZERO
            and retry_backoff is _ONE
            and retry_jitter is _ZERO
        ):  # every setting left at its default: what _derive() would find, at no cost
            self._raw = _DEFAULT_VALUES
            self._policy, self._settings = _DEFAULT_POLICY, _DEFAULT_SETTINGS
        else:
            self._set_settings(
                retries,
                retry_on,
                timeout,
                traced_vars_frame_filter,
                redact,
                retry_delay,
                retry_backoff,
                retry_max_delay,
                retry_jitter,
            )
        self._logger: logging.Logger | None = None
        self._dependencies = (
            []
            if dependencies is None
            else _checked_dependencies(self._name, dependencies, self._kwargs)
        )

    # Checked when set, as in __init__: a process never meets a task it cannot run.

    def _set_settings(
        self,
        retries: int | None,
        retry_on: tuple[type[Exception], ...] | None,
        timeout: float | None,
        traced_vars_frame_filter: str | None,
        redact: Iterable[str] | None,
        retry_delay: float,
        retry_backoff: float,
        retry_max_delay: float | None,
        retry_jitter: float,
    ) -> None:
        """Keep settings given other than the defaults, checked, and derive from them."""
        if isinstance(redact, str):
            raise TypeError(
                f"Task {self.name!r}: redact must be a list of name fragments, not a str"
            )
        self._raw = (
            0 if retries is None else retries,
            retry_on,
            timeout,
            traced_vars_frame_filter,
            DEFAULT_REDACTOR if redact is None else Redactor(redact),
            retry_delay,
            retry_backoff,
            retry_max_delay,
            retry_jitter,
        )
        self._derive()

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        self._name = _check_name(self, name)

    @property
    def func(self) -> Callable[..., Any]:
        return self._func

    @func.setter
    def func(self, func: Callable[..., Any]) -> None:
        self._func = _check_func(self, func)

    @property
    def log_path(self) -> str | os.PathLike[str] | None:
        return self._log_path

    @log_path.setter
    def log_path(self, log_path: str | os.PathLike[str] | None) -> None:
        self._log_path = _check_log_path(self, log_path)

    @property
    def args(self) -> tuple[Any, ...]:
        return self._args

    @args.setter
    def args(self, args: tuple[Any, ...]) -> None:
        self._args = _check_args(self, args)

    @property
    def kwargs(self) -> dict[str, Any]:
        return self._kwargs

    @kwargs.setter
    def kwargs(self, kwargs: dict[str, Any] | None) -> None:
        checked = _check_kwargs(self, kwargs)
        if any(d.additional_kwarg_name for d in self._dependencies):
            _check_keywords(self.name, self._dependencies, checked)
        self._kwargs = checked

    @property
    def dependencies(self) -> list[TaskDependency]:
        return self._dependencies

    @dependencies.setter
    def dependencies(self, dependencies: list[TaskDependency] | None) -> None:
        self._dependencies = _check_dependencies(self, dependencies)

    @property
    def reuse(self) -> bool:
        """False: a resumed run never reuses this task's earlier result; it runs again
        (a step that must happen on every run: archive, publish)."""
        return self._reuse

    @reuse.setter
    def reuse(self, reuse: bool) -> None:
        check_flag("reuse", reuse, owner=f"Task {self._name!r}")
        self._reuse = reuse

    @property
    def item_key(self) -> Callable[[Any], str] | None:
        """What names each item of a mapped task (SPEC §15); None: ``str(item)`` for a str
        or an int, else its position."""
        return self._fan[0]

    @item_key.setter
    def item_key(self, item_key: Callable[[Any], str] | None) -> None:
        self._fan = _check_fan(self._name, item_key, self._fan[1])

    @property
    def max_failed(self) -> float:
        """How many items of a mapped task may fail while it succeeds: a count (int) or
        a fraction of its items (float in [0, 1])."""
        return self._fan[1]

    @max_failed.setter
    def max_failed(self, max_failed: float) -> None:
        self._fan = _check_fan(self._name, self._fan[0], max_failed)

    @property
    def run_when(self) -> str:
        """When the task may start: ``"all_succeeded"``, ``"all_done"`` or ``"any_failed"``."""
        return self._run_when

    @run_when.setter
    def run_when(self, run_when: str) -> None:
        self._run_when = _check_run_when(self, run_when)

    def add_dependency(self, dependency: TaskDependency) -> None:
        """Add an upstream task; the same one twice or the task itself is refused.

        The task gets a new list: the one it was built with may be shared with others.
        """
        self.dependencies = _checked_dependencies(
            self.name, [*self.dependencies, dependency], self.kwargs
        )

    @property
    def logger(self) -> logging.Logger:
        """This task's own logger: add handlers to receive its records."""
        if self._logger is None:
            self._logger = new_task_logger(self.name)
        return self._logger

    @property
    def function_label(self) -> str:
        func = self._func
        if type(func) is types.FunctionType:  # the common case, without a per-task cache
            return func.__name__
        return function_label(func)

    def hide_secret_args(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """Return ``args`` as reports show them: those passed to parameters named like
        secrets masked, and what the others hold under secret-looking names."""
        if not args:
            return args
        redactor: Redactor = self._raw[_REDACTOR]
        positions = secret_positions(self.func, redactor, len(args))
        if positions:
            args = tuple(REDACTED if i in positions else arg for i, arg in enumerate(args))
        return redactor.scrub_args(args)

    def _derive(self) -> None:
        """Check the settings and derive what runs use from them (shared between tasks)."""
        values = self._raw
        (retries, retry_on, timeout, frame_filter, redactor, delay, backoff, max_delay, jitter) = (
            values
        )
        if (
            values == _DEFAULT_VALUES
            and type(retries) is int
            and type(delay) is int
            and type(backoff) is int
            and type(jitter) is int
            and redactor is DEFAULT_REDACTOR
        ):  # the defaults, exactly: most tasks, sharing one tuple and what derives from it
            self._raw = _DEFAULT_VALUES
            self._policy, self._settings = _DEFAULT_POLICY, _DEFAULT_SETTINGS
            return
        self._policy = _policy(retries, retry_on, delay, backoff, max_delay, jitter)
        self._settings = _settings(frame_filter, redactor, self._policy.retry_on, timeout)

    @property
    def retry_policy(self) -> RetryPolicy:
        """What is retried, and how retries are paced."""
        return self._policy

    @property
    def capture_settings(self) -> CaptureSettings:
        """How an attempt records a failure."""
        return self._settings

    def is_unwatched(self) -> bool:
        """True when nothing observes an attempt: no timeout and no log output."""
        logger = self._logger
        return (
            self._raw[_TIMEOUT] is None
            and self._log_path is None
            and (logger is None or not logger.handlers)
        )

    def has_log_output(self) -> bool:
        """True when a log line of this task would reach a file or a user's handler."""
        return self.log_path is not None or bool(self._logger and self._logger.handlers)

    def __repr__(self) -> str:
        deps = [d.task_name for d in self.dependencies]
        return f"Task({self.name!r}, {self.function_label}, dependencies={deps})"

    def run(self, executing_process: object = None) -> TaskResult:
        """Run this task alone, with its retries and timeout; never raise for its failure.

        No upstream results are passed: the task gets its own ``args`` and ``kwargs``.
        ``executing_process`` is accepted for v7 code and not used: a process hands its
        tasks their inputs, tasks never reach into it.
        """
        read_environment()  # this run's secret values
        logs = LogFiles()
        try:
            if self.log_path is None:
                return _run_alone(self, logs)
            with routing_task_records():
                return _run_alone(self, logs)
        finally:
            logs.close()


def _run_alone(task: Task, logs: LogFiles) -> TaskResult:
    life = TaskLife(task, task.args, task.kwargs)
    log_path = task.log_path
    if log_path is not None and writes_to(task.logger, log_path):
        log_path = None  # its process's handler is on its logger: written through it
    if task.has_log_output():
        life.open_log(task.name, task.logger, logs, log_path)
    policy, settings = task.retry_policy, task.capture_settings
    started = time.perf_counter()
    try:
        while True:
            outcome = run_within_timeout(task.func, task.args, task.kwargs, settings, life.handler)
            delay = life.settle(outcome, policy)
            if delay is None:
                break
            interruptible_sleep(delay)
        elapsed = time.perf_counter() - started
        failure = outcome.failure
        if failure is None:
            life.close_log(task.name, logs, log_path, succeeded=True)
            return TaskResult(TaskStatus.SUCCESS, outcome.value, None, None, elapsed, life.attempts)
        args, kwargs = failure.hide_arguments(task.args, task.kwargs)
        error = error_data(task, args, kwargs, (), failure)
        life.log_failure(error, (), failure)
        return TaskResult(
            TaskStatus.ERRORED,
            None,
            # the exception itself, unless its text held a secret: then its masked trace
            TaskTraceback(failure.traceback_str) if failure.redacted else failure.cause,
            error,
            elapsed,
            life.attempts,
        )
    finally:  # (done already after a success)
        life.close_log(task.name, logs, log_path, succeeded=False)


def error_data(
    task: Task,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    downstream_impact: Sequence[str],
    failure: Failure,
) -> ErrorData:
    """Combine a failure record with what the scheduler knows about the call."""
    return ErrorData(
        task_name=task.name,
        function=task.function_label,
        args=task.hide_secret_args(args),
        kwargs=task.redactor.scrub_kwargs(kwargs),
        downstream_impact=list(downstream_impact),
        exception=failure.message,
        traceback_str=failure.traceback_str,
        traced_vars=failure.traced_vars,
        traced_vars_location=failure.traced_vars_location,
        exception_type=failure.exception_type,
        cause=None if failure.redacted else failure.cause,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


#: A task's function and own arguments (``processes.fingerprint.Parts``), read in one
#: call into C: its three properties would be a call of Python's each.
fingerprinted_parts: Callable[[Task], Parts] = operator.attrgetter("_func", "_args", "_kwargs")
