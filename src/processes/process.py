"""A process: a validated graph of tasks that runs and returns a report.

Mutations rebuild the graph first and change nothing when it would be invalid. The top
of the core: only the package's ``__init__`` imports it.
"""

from __future__ import annotations

import itertools
import operator
import signal
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from processes.checks import check_count, check_seconds, check_type
from processes.errors import RunTerminated, TaskNotFoundError
from processes.events import Listener, SafeListener, TaskEvent
from processes.execution import Ledger, execute
from processes.execution.signals import holding_signals
from processes.fingerprint import fingerprints, what_changed
from processes.graph import TaskGraph
from processes.progress import ProgressLine
from processes.redaction import DEFAULT_REDACTOR
from processes.report import ProcessExecutionReport, new_run_id
from processes.resume import Resumption, resumption_from_history, resumption_from_report
from processes.task import (
    DEPENDENCIES_OF,
    LOG_PATH_OF,
    NAME_OF,
    UPSTREAM_NAME_OF,
    Task,
    TaskDependency,
    fingerprinted_parts,
    utcnow,
)
from processes.tasklog import LogFiles

if TYPE_CHECKING:
    import logging
    import os
    from collections.abc import Callable
    from concurrent.futures import Executor
    from types import TracebackType

    from processes.history import RunHistory
    from processes.history.live import LiveRun

#: With ``parallel=None``, a process of at least this many tasks runs in parallel.
PARALLEL_THRESHOLD = 10
#: ``run(resume=LAST)``: the newest recorded run of the process, when it did not end ok.
LAST = "last"
_SHORTEST_WAIT_SECONDS = 0.05  # past the deadline, the record still gets this long


class Process:
    """Tasks with their dependencies, run in dependency order; a context manager.

    Examples:
        >>> with Process([fetch, load], name="nightly") as process:
        ...     report = process.run()

    Leaving the ``with`` block (or ``close_loggers()``) closes every log file.
    """

    def __init__(self, tasks: list[Task], name: str = "") -> None:
        if not isinstance(tasks, list) or not all(isinstance(t, Task) for t in tasks):
            raise TypeError("tasks must be a list of Task objects")
        check_type("name", name, str, owner="Process")
        self.name = name
        self._logs = LogFiles()
        # The tasks whose file handler is on their logger, by id: (task, path, handler);
        # and the tasks and paths that was last made to match.
        self._held: dict[int, tuple[Task, str | os.PathLike[str], logging.Handler]] = {}
        self._held_tasks: list[Task] = []
        self._held_paths: list[str | os.PathLike[str] | None] = []
        self._runs = 0  # runs going on: a task may edit the process meanwhile
        self._set_tasks(tasks)

    def _set_tasks(self, tasks: list[Task]) -> None:
        """Validate and order ``tasks``; on error, raise and leave the process untouched."""
        upstreams: dict[str, tuple[str, ...]] = {}
        for task in tasks:
            name = task.name
            if name in upstreams:
                raise ValueError(f"Duplicate task name: {name}")
            dependencies = task.dependencies
            upstreams[name] = tuple([d.task_name for d in dependencies]) if dependencies else ()
        graph = TaskGraph(upstreams)
        if graph.order != list(upstreams):  # not given in dependency order: reordered
            given = {task.name: task for task in tasks}
            self.tasks = [given[name] for name in graph.order]
        else:
            self.tasks = list(tasks)  # the caller's list stays theirs
        self._graph = graph
        self._hold_log_files()

    def _hold_log_files(self) -> None:
        """Put each task's file handler on its logger for as long as the process holds
        the task (SPEC §10: v7 code inspects and reconfigures it; the file opens on the
        first record); take it off the tasks the process no longer holds. While a run
        goes on, the edits its tasks make wait for its end: a running task's handler is
        the same object, and taking it off would lose the task's last lines."""
        if self._runs:
            return
        tasks = self.tasks
        paths = list(map(LOG_PATH_OF, tasks))  # in C: asked before every run
        if paths == self._held_paths and tasks == self._held_tasks:
            return
        held, self._held = self._held, {}
        if paths.count(None) < len(paths):
            for task, path in zip(tasks, paths, strict=True):
                if path is None:
                    continue
                was = held.pop(id(task), None)
                if was is not None and was[1] == path:
                    self._held[id(task)] = was
                    continue
                if was is not None:
                    self._let_go(*was)
                handler = self._logs.hold(path)
                task.logger.addHandler(handler)
                self._held[id(task)] = (task, path, handler)
        for was in held.values():
            self._let_go(*was)
        self._held_tasks, self._held_paths = list(tasks), paths

    def _let_go(self, task: Task, path: str | os.PathLike[str], handler: logging.Handler) -> None:
        task.logger.removeHandler(handler)
        self._logs.let_go(path)

    # -- lookups --------------------------------------------------------------------------

    def get_task(self, name: str) -> Task:
        """Return the task called ``name`` (case-insensitive)."""
        key = name.lower()
        i = self._graph.position.get(key)
        if i is not None and i < len(self.tasks) and self.tasks[i].name == key:
            return self.tasks[i]
        for task in self.tasks:  # ``process.tasks`` was edited since it was validated
            if task.name == key:
                return task
        raise TaskNotFoundError(name)

    def get_dependant_tasks(self, name: str) -> list[Task]:
        """Return every task downstream of ``name``, transitively, in topological order.

        Tasks or dependencies changed directly since the last check are validated first;
        that looks at every task and edge once per call.
        """
        self._revalidate_if_changed()
        i = self._graph.position[self.get_task(name).name]
        return [self.tasks[j] for j in self._graph.all_dependants(i)]

    # -- mutations ------------------------------------------------------------------------

    def add_task(self, task: Task) -> None:
        """Add a task whose upstream tasks are already in the process."""
        if not isinstance(task, Task):
            raise TypeError(f"add_task takes a Task, got {task!r}")
        self._set_tasks([*self.tasks, task])

    def remove_task(self, name: str) -> None:
        """Remove a task that no other task depends on."""
        self._revalidate_if_changed()
        task = self.get_task(name)
        if dependants := self._graph.dependants[self._graph.position[task.name]]:
            names = ", ".join(self.tasks[j].name for j in dependants)
            raise ValueError(
                f"Cannot remove task {task.name!r}: {names} depend(s) on it. "
                "Remove those tasks or their dependency first."
            )
        self._set_tasks([t for t in self.tasks if t is not task])

    def add_task_dependency(self, name: str, dependency: TaskDependency) -> None:
        """Make task ``name`` depend on another task already in the process."""
        task = self.get_task(name)
        dependencies = task.dependencies
        task.add_dependency(dependency)
        try:
            self._set_tasks(self.tasks)
        except BaseException:
            task.dependencies = dependencies
            raise

    def _revalidate_if_changed(self) -> None:
        """Validate again if the tasks changed since (``task.add_dependency``, an edited
        ``process.tasks``)."""
        if self._changed_since_validated():
            self._set_tasks(self.tasks)

    def _changed_since_validated(self) -> bool:
        """Whether the names or the dependencies the tasks list changed since the graph was
        built (lists edited in place included). Asked before every run, so compared in
        passes that stay in C: no Python call per task or per dependency."""
        graph = self._graph
        tasks = self.tasks
        if len(tasks) != len(graph.order) or list(map(NAME_OF, tasks)) != graph.order:
            return True
        dependencies = list(map(DEPENDENCIES_OF, tasks))
        if list(map(len, dependencies)) != list(map(len, graph.upstream_names)):
            return True
        listed = map(UPSTREAM_NAME_OF, itertools.chain.from_iterable(dependencies))
        validated = itertools.chain.from_iterable(graph.upstream_names)
        return not all(map(operator.eq, listed, validated))

    # -- running --------------------------------------------------------------------------

    def run(
        self,
        parallel: bool | None = None,
        max_workers: int = 4,
        *,
        executor: Executor | None = None,
        fail_fast: bool = False,
        on_event: Listener | None = None,
        progress: bool = False,
        sleep: Callable[[float], None] | None = None,
        resume: ProcessExecutionReport | str | None = None,
        history: RunHistory | None = None,
        deadline: float | None = None,
    ) -> ProcessExecutionReport:
        """Run every task whose dependencies succeed; return what happened to each.

        ``parallel=None`` runs in parallel from 10 tasks on, or whenever an ``executor``
        is given; ``max_workers`` of 1 (or less), or ``parallel=False``, means one task
        at a time. With ``executor`` the attempts go to that
        ``concurrent.futures.Executor``, which is left running afterwards.
        ``fail_fast`` stops new starts after the first error; ``on_event`` receives a
        ``TaskEvent`` per start, retry and finish; ``progress`` draws a live line on
        stderr when it is a terminal. ``sleep`` replaces how a sequential run waits
        before a retry (tests pass ``list.append`` to record the delays instead).

        ``resume`` (an earlier report, or the run id of a run in ``history``) resumes
        that run: each task that SUCCEEDED there, matched by name (case-insensitive)
        even if its function or arguments changed since, is not run again; its result
        feeds its dependants, and its entry says ``reused`` (attempts 0, elapsed 0, no
        times). Its upstream tasks still come first: one that fails now skips it; a task
        with a ``run_when`` rule is reused only when all its upstream tasks are. Every
        other task runs as usual; one whose earlier result cannot be restored runs
        again, and its ``rerun_reason`` says why: a report shows a result hidden as a
        secret as ``[redacted]`` and a huge one cut; a history restores JSON-native
        results, and others when made with ``store_results=True``. A report read by
        ``from_json`` passes on its JSON values as they are (a ``repr`` for what JSON
        could not hold): resume from the history for other results. A reused task
        sends listeners no STARTED event, only a FINISHED one with attempt 0.

        ``history`` records the run when it ends, interrupted or not, and fills the
        report's ``changes`` against the previous run recorded there (SPEC §12).

        ``deadline`` bounds the whole run, in seconds: when it passes nothing new starts,
        attempts still running are abandoned, or in a sequential run in the main thread
        stopped in their own code by SIGALRM (ERRORED, ``TimeoutError``), and the report
        comes back with ``stopped_by=StopReason.DEADLINE``.

        Raises:
            KeyboardInterrupt: Ctrl-C stopped the run; ``.report`` holds what it did.
            RunTerminated: SIGTERM stopped the run (in the main thread, where ``run``
                handles SIGTERM while it runs); ``.report`` holds what it did.
            ValueError: ``resume`` is a run id and there is no ``history``.
            LookupError: no run of that id is in ``history``.
        """
        check_count("max_workers", max_workers, owner="Process.run()", minimum=None)
        check_seconds(
            "deadline", deadline, owner="Process.run()", allow_none=True, allow_infinite=True
        )
        self._revalidate_if_changed()
        self._hold_log_files()  # a log_path set since, or a run after close_loggers()
        if history is not None and not callable(getattr(history, "record", None)):
            raise TypeError(f"history must be a RunHistory, got {history!r}")
        run_id = new_run_id()  # fixed now: a history has the run from its first moment
        name = DEFAULT_REDACTOR.mask_shapes(self.name)  # a URL's password never shows
        resumption, live = self._resume_and_record(resume, history, run_id, name)
        if parallel is None:
            parallel = executor is not None or len(self.tasks) >= PARALLEL_THRESHOLD
        workers = max(int(max_workers), 1) if parallel else 1
        listeners: list[Listener] = []
        if on_event is not None:
            listeners.append(SafeListener(on_event))
        progress_line = ProgressLine(len(self.tasks)) if progress else None
        if progress_line is not None and not progress_line.enabled:
            progress_line = None  # not a terminal: nothing drawn, no thread, no cost
        if progress_line is not None:
            listeners.append(SafeListener(progress_line))  # a closed stderr must not stop a run
        ending = _Ending(history, live, resumption, deadline)
        self._runs += 1
        try:  # from here on, the recorder's thread and the progress line's are stopped
            ledger = Ledger(
                self.tasks,
                self._graph,
                self._logs,
                name,
                fail_fast=fail_fast,
                on_event=_fan_out(listeners),
                resume=resumption,
                run_id=run_id,
                recorder=live,
                on_items=None if progress_line is None else progress_line.add_to_total,
            )
            if progress_line is not None:
                progress_line.start()  # redrawn between events too, until its close()
            report = execute(
                ledger, workers=workers, executor=executor, sleep=sleep, deadline=deadline
            )
        except BaseException as stopped:
            # An interrupted run is recorded as its exception's report says it ended.
            partial = getattr(stopped, "report", None)
            if partial is not None:
                stopped.report = ending(partial, ledger.report_results(), stopping=True)  # type: ignore[attr-defined]
            raise
        finally:
            self._runs -= 1
            if live is not None:
                live.stop()
            if progress_line is not None:
                progress_line.close()
            self._hold_log_files()  # what the tasks edited meanwhile, now
        return ending(report, ledger.report_results())

    def _resume_and_record(
        self,
        resume: ProcessExecutionReport | str | None,
        history: RunHistory | None,
        run_id: str,
        name: str,
    ) -> tuple[Resumption | None, LiveRun | None]:
        """What the run takes over from an earlier one, and the recorder of the run in
        ``history`` from its first moment (None when it cannot be written: warned).
        ``name`` is the process's name as reports show it."""
        if history is None:
            return _resumption(resume, None, name, {}), None
        tasks = self.tasks
        names = [task.name for task in tasks]
        prints = fingerprints(map(fingerprinted_parts, tasks))
        now = dict(zip(names, prints, strict=True)) if resume is not None else {}
        resumption = _resumption(resume, history, name, now)
        return resumption, history.begin(run_id, name, utcnow(), names, prints)

    def close_loggers(self) -> None:
        """Close every log file this process opened, and take the tasks' file handlers
        off their loggers."""
        for task, _, handler in self._held.values():
            task.logger.removeHandler(handler)
        self._held, self._held_tasks, self._held_paths = {}, [], []
        self._logs.close()

    def __enter__(self) -> Process:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close_loggers()

    def __repr__(self) -> str:
        return f"Process(name={self.name!r}, tasks={len(self.tasks)})"


class _Ending:
    """What a run's report gets when it ends: the run it resumed, and its record in the
    history (with what changed since the previous run), which neither a signal nor a
    lock held by another writer past the run's deadline can take from it."""

    def __init__(
        self,
        history: RunHistory | None,
        live: LiveRun | None,
        resumption: Resumption | None,
        deadline: float | None,
    ) -> None:
        self.history = history
        self.live = live
        self.resumed_from = resumption.run_id if resumption is not None else None
        self.deadline_at = None if deadline is None else time.monotonic() + deadline

    def __call__(
        self, report: ProcessExecutionReport, results: list[Any], *, stopping: bool = False
    ) -> ProcessExecutionReport:
        """The report, recorded; SIGTERM or Ctrl-C during the record is acted on after it,
        carrying the report (unless the run is ``stopping`` by one already)."""
        if self.resumed_from is not None:
            report = replace(report, resumed_from=self.resumed_from)
        if self.history is None or self.live is None:
            return report
        wait = None
        if self.deadline_at is not None:
            wait = max(self.deadline_at - time.monotonic(), _SHORTEST_WAIT_SECONDS)
        with holding_signals() as held:
            report = self.history.record(report, results, self.live, wait_seconds=wait)
        if held and not stopping:
            if held[0] == signal.SIGTERM:
                raise RunTerminated(report)
            interrupt = KeyboardInterrupt()
            interrupt.report = report  # type: ignore[attr-defined]
            raise interrupt
        return report


def _resumption(
    resume: ProcessExecutionReport | str | None,
    history: RunHistory | None,
    process_name: str,
    fingerprints: dict[str, str],
) -> Resumption | None:
    """What ``run(resume=...)`` takes over, looked up before anything runs."""
    if resume is None:
        return None
    if isinstance(resume, ProcessExecutionReport):
        return resumption_from_report(resume)
    if not isinstance(resume, str):
        raise TypeError(
            "resume must be a ProcessExecutionReport, a run id (str), 'last' or None, "
            f"got {type(resume).__name__}"
        )
    if history is None:
        what = "is a run id" if resume != LAST else "resumes the last recorded run"
        raise ValueError(
            f"resume={resume!r} {what}: resuming from a recorded run needs the history "
            "that recorded it, run(resume=..., history=RunHistory(path)); or pass the "
            "earlier report itself"
        )
    if resume == LAST:
        newest = history.runs(process_name, limit=1)
        # Started afresh after a run that ended ok, with none, or while one still runs.
        if not newest or newest[0].ok or newest[0].finished_at is None:
            return None
        resume = newest[0].run_id
    # The report and its results in one read (an unknown run id raises LookupError,
    # naming the file): one state of the file, whatever another process does meanwhile.
    earlier = history.resumable(resume)
    if earlier.report.process_name != process_name:
        raise ValueError(
            f"run {resume!r} is a run of the process {earlier.report.process_name!r}, not "
            f"of {process_name!r}: a process resumes only its own runs"
        )
    return resumption_from_history(
        earlier.report,
        earlier.results,
        earlier.reasons,
        changed=_changed_since(earlier.fingerprints, fingerprints),
    )


def _changed_since(before: dict[str, str], now: dict[str, str]) -> dict[str, str]:
    """What changed in each task since the resumed run, by name (tasks whose function or
    own arguments are not the same: §12)."""
    changed = {}
    for name, earlier in before.items():
        if name in now and (what := what_changed(earlier, now[name])):
            changed[name] = what
    return changed


def _fan_out(listeners: list[Listener]) -> Listener | None:
    """One listener for the run: None when nobody listens, so events cost nothing."""
    if not listeners:
        return None
    if len(listeners) == 1:
        return listeners[0]

    def every(event: TaskEvent) -> None:
        for listener in listeners:
            listener(event)

    return every
