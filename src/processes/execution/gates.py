"""When a task may start: its upstream outcomes, its ``run_when`` rule, reuse, and stops.

Most tasks pass no gate: they start as soon as their upstream tasks succeeded. A task
that carries a flag (an upstream task failed, it has a rule, the resumed run holds its
result) or a run that is stopping is looked at here first. Pure bookkeeping over
positions in the topological order; imports the graph and the outcome values only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from processes.outcome import SkipReason, StopReason
from processes.task import ALL_DONE, ALL_SUCCEEDED, ANY_FAILED, rules_given

if TYPE_CHECKING:
    from collections.abc import Sequence

    from processes.graph import TaskGraph
    from processes.report import TaskReportEntry
    from processes.task import Task

UPSTREAM_FAILED = 1  # a flag in Gates.blocked: an upstream task errored or was skipped
# A flag in Gates.blocked: the resumed run holds the task's result. It goes down the
# path of tasks that are not started, which reuses it if its rule lets it start.
REUSED = 2
HAS_RULE = 4  # a flag in Gates.blocked: the task's run_when is not "all_succeeded"
MAPPED = 8  # a flag in Gates.blocked: the task runs once per item (SPEC §15)

SKIPPED_BY = {
    StopReason.FAIL_FAST: SkipReason.FAIL_FAST,
    StopReason.DEADLINE: SkipReason.DEADLINE,
    StopReason.INTERRUPTED: SkipReason.INTERRUPTED,
    StopReason.TERMINATED: SkipReason.TERMINATED,
}


class Gates:
    """The flags that send a task to its gate, and the gate's rules.

    ``blocked[i]`` holds ``UPSTREAM_FAILED``, ``REUSED`` and ``HAS_RULE``; ``rules``
    the tasks whose ``run_when`` is not the default (looked for only once some task was
    given one); ``causes`` the errored task at the root of each upstream failure, the
    earliest in topological order when several are (filled only on failures).
    """

    __slots__ = ("blocked", "causes", "graph", "rules", "tasks")

    def __init__(self, tasks: list[Task], graph: TaskGraph) -> None:
        self.tasks = tasks
        self.graph = graph
        self.blocked = bytearray(len(tasks))
        self.rules: dict[int, str] = {}
        if rules_given():
            for i, task in enumerate(tasks):
                if task.run_when is not ALL_SUCCEEDED:
                    self.rules[i] = task.run_when
                    self.blocked[i] |= HAS_RULE
        self.causes: dict[int, int] = {}

    def add_items(self, mapped: int, count: int) -> None:
        """``count`` items of the task at ``mapped`` get positions after the others'. They
        pass no gate of their own but the run's stops; under fail-fast, those of a task
        with a rule still start, as it would."""
        first = len(self.blocked)
        self.blocked.extend(bytes(count))
        if mapped in self.rules:
            self.rules.update(dict.fromkeys(range(first, first + count), ALL_DONE))

    def block(self, child: int, cause: int | None) -> None:
        """An upstream task of ``child`` did not succeed; ``cause`` errored at its root."""
        self.blocked[child] |= UPSTREAM_FAILED
        if cause is not None:
            known = self.causes.get(child)
            if known is None or cause < known:
                self.causes[child] = cause

    def is_reused(self, i: int, entries: Sequence[TaskReportEntry | None]) -> bool:
        """Whether task ``i`` takes its result from the resumed run, which holds one
        (whether or not this run is stopping).

        A task with a rule (a cleanup, a compensation) is reused only when all its
        upstream tasks are: one that runs again must be cleaned up after again. Any other
        task is reused unless an upstream task fails now.
        """
        flags = self.blocked[i]
        if not flags & REUSED:
            return False
        if flags & HAS_RULE:
            return self.upstream_run_again(i, entries) is None
        return not flags & UPSTREAM_FAILED

    def upstream_run_again(self, i: int, entries: Sequence[TaskReportEntry | None]) -> int | None:
        """The first upstream task of ``i`` not reused in this run, or None."""
        for up in self.graph.upstreams[i]:
            entry = entries[up]
            if entry is None or not entry.reused:
                return up
        return None

    def why_runs_again(self, i: int, entries: Sequence[TaskReportEntry | None]) -> str:
        """Why task ``i`` with a rule, which succeeded in the resumed run, starts now."""
        up = self.upstream_run_again(i, entries)
        assert up is not None  # else it would have been reused
        return (
            f"its upstream task {self.tasks[up].name!r} runs again, so this "
            f"run_when={self.rules[i]!r} task runs again after it"
        )

    def why_not(
        self,
        i: int,
        stopped_by: StopReason | None,
        entries: Sequence[TaskReportEntry | None],
    ) -> tuple[SkipReason, int | None] | None:
        """Why task ``i`` may not start, and the root failure if one is why; None if it may.

        Under fail-fast a task with a rule still starts as its rule says (cleanup runs);
        after the deadline, Ctrl-C or SIGTERM nothing does.
        """
        rule = self.rules.get(i, ALL_SUCCEEDED) if self.rules else ALL_SUCCEEDED
        upstream_failed = self.blocked[i] & UPSTREAM_FAILED
        if rule is ALL_SUCCEEDED and upstream_failed:
            cause = self.causes.get(i)
            if cause is not None:
                return SkipReason.UPSTREAM_FAILED, cause
            return self._inherited_reason(i, entries), None
        if rule is ANY_FAILED and not upstream_failed:
            return SkipReason.CONDITION_NOT_MET, None
        if stopped_by is not None and (
            stopped_by is not StopReason.FAIL_FAST or rule is ALL_SUCCEEDED
        ):
            return SKIPPED_BY[stopped_by], None
        return None

    def _inherited_reason(self, i: int, entries: Sequence[TaskReportEntry | None]) -> SkipReason:
        """An upstream task was skipped though nothing failed: its reason holds here too."""
        for up in self.graph.upstreams[i]:
            entry = entries[up]
            if entry is not None and entry.skip_reason is not None:
                return entry.skip_reason
        return SkipReason.UPSTREAM_FAILED

    def keeps_retries(self, i: int, stopped_by: StopReason | None) -> bool:
        """Under fail-fast a task with a rule (cleanup, compensation) keeps its retries."""
        return stopped_by is StopReason.FAIL_FAST and i in self.rules

    def impact(self, i: int) -> list[int]:
        """The tasks skipped because task ``i`` errored, in topological order.

        Every task downstream through tasks that wait for success: a task with a rule
        (``all_done``, ``any_failed``) runs after a failure, so neither it nor what
        follows it is skipped because of this one. Linear in the tasks and edges reached.
        """
        rules = self.rules
        if not rules:
            return self.graph.all_dependants(i)
        dependants = self.graph.dependants
        seen: set[int] = set()
        stack = [child for child in dependants[i] if child not in rules]
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(child for child in dependants[node] if child not in rules)
        return sorted(seen)
