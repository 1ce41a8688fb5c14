"""What each task receives from its upstream tasks, and what its entry shows of it.

Worked out once per run from the dependency lists the run began with, so that an attempt
gathers its inputs without looking at a ``TaskDependency``. The run's part of the
redaction policy lives here (``processes.redaction`` says what is secret; this says
which inputs and results of this run are): a result that some dependant receives under a
secret-looking parameter is shown as ``[redacted]`` everywhere. Imports the tasks, the
graph, ``capture`` and ``redaction``; never a driver.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

from processes.capture import secret_positions
from processes.redaction import REDACTED, UNSCRUBBED_TYPES, remember_secret
from processes.task import for_each_edge, for_each_given

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from processes.capture import Failure
    from processes.graph import TaskGraph
    from processes.redaction import Redactor
    from processes.report import TaskReportEntry
    from processes.task import Task, TaskDependency

_ANY_NUMBER_OF_ARGUMENTS = 256  # more than any function has positional parameters
_PASSES_ARGS = operator.attrgetter("use_result_as_additional_args")
_PASSES_KWARGS = operator.attrgetter("use_result_as_additional_kwargs")


class Inputs:
    """Where each task's upstream results go among its arguments, and which are secret.

    - ``by_position[i]``: the upstream tasks whose results follow task ``i``'s own
      ``args``, in order (the graph's own tuple when every one does);
      ``by_name[i]``: ``(keyword, upstream task)`` pairs, for the tasks that have any;
    - ``secret_parameters[i]``: the positions of its secret-named parameters, for the
      tasks given upstream results or arguments of their own that have any;
    - ``secret_results``: the tasks whose result some dependant receives under a
      secret-looking parameter or keyword: every entry shows it as ``[redacted]``;
    - ``hiding``: the tasks whose entries hide some of their inputs for that reason;
    - ``shown_otherwise``: the tasks whose entry shows a result other than the object
      itself (scrubbed or hidden): their dependants' inputs are shown as those entries
      show them;
    - ``for_each``: each mapped task (SPEC §15) -> the upstream task it maps over, whose
      result each of its items receives one item of in its place;
    - ``as_called[i]``: 1 when task ``i`` receives upstream results only and hides none
      of them: its entry shows what it was called with, unless an upstream entry shows
      its result otherwise (most dependants: no call to ``shown`` per task).
    """

    __slots__ = (
        "as_called",
        "by_name",
        "by_position",
        "for_each",
        "graph",
        "hiding",
        "secret_parameters",
        "secret_results",
        "shown_otherwise",
        "tasks",
    )

    def __init__(self, tasks: list[Task], graph: TaskGraph) -> None:
        self.tasks = tasks
        self.graph = graph
        self.by_position: list[tuple[int, ...]] = [()] * len(tasks)
        self.by_name: dict[int, tuple[tuple[str, int], ...]] = {}
        self.secret_parameters: dict[int, tuple[int, ...]] = {}
        self.secret_results: set[int] = set()
        self.hiding: set[int] = set()
        self.shown_otherwise: set[int] = set()
        self.for_each: dict[int, int] = {}
        self.as_called = bytearray(len(tasks))
        mapping = for_each_given()
        secret_positions_of = _SecretPositions()
        by_position = self.by_position
        for i, (task, upstreams) in enumerate(zip(tasks, graph.upstreams, strict=True)):
            if not upstreams:
                continue
            positional, named = _passed(task.dependencies, upstreams)
            if mapping and (edge := for_each_edge(task.name, task.dependencies)) >= 0:
                self.for_each[i] = upstreams[edge]
            own = len(task.args)
            if positional:
                # the graph's tuple when every upstream result follows (the same order)
                same = len(positional) == len(upstreams)
                by_position[i] = upstreams if same else tuple(positional)
            redactor = task.capture_settings.redactor
            if named:
                self.by_name[i] = tuple(named)
                for name, up in named:
                    if redactor.is_secret(name):
                        self.secret_results.add(up)
                        self.hiding.add(i)
            if positional or own:
                secret = secret_positions_of(task.func, redactor)
                if secret:
                    self._hide_secret_parameters(i, secret, positional, own)
            if not own and not task.kwargs and i not in self.hiding:
                self.as_called[i] = 1

    def _hide_secret_parameters(
        self, i: int, secret: tuple[int, ...], positional: Sequence[int], own: int
    ) -> None:
        """Task ``i`` has secret-named parameters at ``secret``: the upstream results
        passed there are secrets, and its entry hides them."""
        self.secret_parameters[i] = secret
        self.hiding.add(i)
        for position, up in enumerate(positional, start=own):
            if position in secret:
                self.secret_results.add(up)

    def gather(self, i: int, results: list[Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Task ``i``'s own arguments, plus the upstream results it asked for."""
        task = self.tasks[i]
        args = task.args
        kwargs = task.kwargs
        if positional := self.by_position[i]:
            if len(positional) == 1:
                args = (*args, results[positional[0]])
            else:
                args = (*args, *map(results.__getitem__, positional))
        if named := self.by_name.get(i):
            kwargs = dict(kwargs)
            for name, up in named:
                kwargs[name] = results[up]
        return args, kwargs

    def gather_item(
        self, i: int, results: list[Any], item: Any
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """What an item of mapped task ``i`` is called with: ``item`` in place of the
        result it maps over, the other upstream results whole."""
        task = self.tasks[i]
        up = self.for_each[i]
        args, kwargs = task.args, task.kwargs
        if positional := self.by_position[i]:
            args = (*args, *[item if p == up else results[p] for p in positional])
        if named := self.by_name.get(i):
            kwargs = dict(kwargs)
            for name, p in named:
                kwargs[name] = item if p == up else results[p]
        return args, kwargs

    def shown_result(self, i: int, value: Any) -> Any:
        """Task ``i``'s result as its entry shows it: hidden, scrubbed, or itself."""
        if i in self.secret_results:
            shown: Any = REDACTED
        elif type(value) in UNSCRUBBED_TYPES:  # most results: nothing to scrub, no call
            return value
        else:  # as this run's redaction shows it: a report built by hand holds anything
            shown = self.tasks[i].capture_settings.redactor.scrub(value, [])
        if shown is not value:
            self.shown_otherwise.add(i)
        return shown

    def shown(
        self,
        i: int,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        entries: Sequence[TaskReportEntry | None],
        item: tuple[Any] | None = None,
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Task ``i``'s arguments as reports show them, given those it was called with.

        Its own arguments scrubbed; each upstream result as that task's entry shows it
        (scrubbed once there, or hidden); what secret-named parameters received, hidden.
        Most often that is exactly what it was called with, and those are returned.
        For an item of a mapped task, ``item`` holds the item it received.
        """
        if not args and not kwargs:  # nothing to show, or to hide
            return args, kwargs
        task = self.tasks[i]
        upstreams = self.graph.upstreams[i]
        if not upstreams:
            return task.hide_secret_args(task.args), task.redactor.scrub_kwargs(task.kwargs)
        redactor = task.capture_settings.redactor
        own_args, own_kwargs = task.args, task.kwargs
        if (
            i not in self.hiding
            and not (self.shown_otherwise and not self.shown_otherwise.isdisjoint(upstreams))
            and (not own_args or redactor.scrub_args(own_args) is own_args)
            and (not own_kwargs or redactor.scrub_kwargs(own_kwargs) is own_kwargs)
        ):
            return args, kwargs
        shown_args = list(redactor.scrub_args(own_args)) if own_args else []
        shown_kwargs = redactor.scrub_kwargs(own_kwargs) if own_kwargs else own_kwargs

        each = self.for_each.get(i, -1) if item is not None else -1

        def shown(up: int) -> Any:
            if up == each and item is not None:  # the item, as its upstream shows results
                return REDACTED if up in self.secret_results else redactor.scrub(item[0], [])
            upstream = entries[up]
            return REDACTED if upstream is None else upstream.result

        shown_args.extend(shown(up) for up in self.by_position[i])
        if named := self.by_name.get(i):
            shown_kwargs = dict(shown_kwargs)
            for name, up in named:
                shown_kwargs[name] = REDACTED if redactor.is_secret(name) else shown(up)
        for position in self.secret_parameters.get(i, ()):
            if position < len(shown_args):
                shown_args[position] = REDACTED
        return tuple(shown_args), shown_kwargs

    def masked_failure(self, i: int, failure: Failure, results: list[Any]) -> Failure:
        """Mask out of task ``i``'s failure the upstream results it received that are
        secrets (another dependant takes them under a secret name)."""
        secrets: list[str] = []
        for up in self.graph.upstreams[i]:
            if up in self.secret_results:
                remember_secret(results[up], secrets)
        return failure.masked(secrets) if secrets else failure


def _passed(
    dependencies: list[TaskDependency], upstreams: tuple[int, ...]
) -> tuple[Sequence[int], list[tuple[str, int]]]:
    """The upstream tasks whose results follow a task's own arguments, and those passed
    as ``(keyword, upstream task)``."""
    if all(map(_PASSES_ARGS, dependencies)) and not any(map(_PASSES_KWARGS, dependencies)):
        return upstreams, []  # the common case: every result follows, in order
    positional: list[int] = []
    named: list[tuple[str, int]] = []
    for dep, up in zip(dependencies, upstreams, strict=False):
        if dep.use_result_as_additional_args:
            positional.append(up)
        if dep.use_result_as_additional_kwargs:
            named.append((dep.additional_kwarg_name, up))
    return positional, named


class _SecretPositions:
    """``secret_positions`` asked once per function and redactor: tasks share functions."""

    __slots__ = ("known", "last")

    def __init__(self) -> None:
        self.known: dict[tuple[int, int], tuple[int, ...]] = {}
        self.last: tuple[object, object, tuple[int, ...]] = (None, None, ())

    def __call__(self, func: Callable[..., Any], redactor: Redactor) -> tuple[int, ...]:
        last = self.last
        if func is last[0] and redactor is last[1]:
            return last[2]
        key = (id(func), id(redactor))
        found = self.known.get(key)
        if found is None:
            found = self.known[key] = secret_positions(func, redactor, _ANY_NUMBER_OF_ARGUMENTS)
        self.last = (func, redactor, found)
        return found
