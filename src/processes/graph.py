"""The dependency graph: validation, topological order and dependants.

Pure data over task names; knows nothing of how tasks run. Once built, a task is its
position in the topological order, and the edges are tuples of positions: a run walks
them without a single name lookup, and a process of 100,000 tasks holds no per-task
list or dict. Imports only ``errors``.
"""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING

from processes.errors import CircularDependencyError, DependencyNotFoundError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: Tasks given by their positions in the topological order.
Positions = tuple[int, ...]


class TaskGraph:
    """Tasks as names with upstream names; validated and ordered when built.

    ``order`` is a topological order in which tasks that could go either way keep the
    order they were given in; every other field is indexed by position in it:
    ``upstream_names[i]`` as given, ``upstreams[i]`` the same tasks as positions (in the
    same order, so they line up with the task's dependencies), and
    ``dependants[i]`` the positions of the tasks that depend on task ``i`` directly.
    """

    __slots__ = ("dependants", "order", "position", "upstream_names", "upstreams")

    def __init__(self, upstreams: Mapping[str, Iterable[str]]) -> None:
        names = list(upstreams)
        position = {name: i for i, name in enumerate(names)}
        upstream_names = [tuple(ups) for ups in upstreams.values()]
        upstreams_at = _positions(names, upstream_names, position)
        if not all(up < i for i, ups in enumerate(upstreams_at) for up in ups):
            # Not given in dependency order (the common case is, and costs one pass).
            given_order = _topological_order(upstreams_at, _dependants(upstreams_at))
            if len(given_order) < len(names):
                ordered = set(given_order)
                raise CircularDependencyError.from_cycle(_find_cycle(names, upstreams_at, ordered))
            names = [names[k] for k in given_order]
            upstream_names = [upstream_names[k] for k in given_order]
            position = {name: i for i, name in enumerate(names)}
            upstreams_at = _positions(names, upstream_names, position)
        self.order = names
        self.position = position
        self.upstream_names = upstream_names
        self.upstreams = upstreams_at
        self.dependants = _dependants(upstreams_at)

    def all_dependants(self, i: int) -> list[int]:
        """Return every task downstream of task ``i``, transitively, in topological order."""
        seen: set[int] = set()
        stack = list(self.dependants[i])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(self.dependants[node])
        return sorted(seen)


def _positions(
    names: list[str], upstream_names: list[tuple[str, ...]], position: dict[str, int]
) -> list[Positions]:
    """Return each task's upstream tasks as positions, in the order they are listed."""
    upstreams_at = []
    for name, upstreams in zip(names, upstream_names, strict=True):
        try:
            upstreams_at.append(tuple([position[up] for up in upstreams]))
        except KeyError as missing:
            raise DependencyNotFoundError(name, missing.args[0]) from None
    return upstreams_at


def _dependants(upstreams: list[Positions]) -> list[Positions]:
    """Invert the edges: for each task, the tasks that list it, ascending (the shared
    empty tuple for a leaf).

    A counting sort into one flat list: no list per task, whose allocations would make
    CPython's collector walk every task built so far once more.
    """
    counts = [0] * len(upstreams)
    for ups in upstreams:
        for up in ups:
            counts[up] += 1
    starts = list(itertools.accumulate(counts, initial=0))
    flat = [0] * starts[-1]
    free = starts[:-1]  # the next free place of each task's dependants in ``flat``
    for i, ups in enumerate(upstreams):
        for up in ups:
            flat[free[up]] = i
            free[up] += 1
    return [
        tuple(flat[start:end]) if start < end else () for start, end in itertools.pairwise(starts)
    ]


def _topological_order(upstreams: list[Positions], dependants: list[Positions]) -> list[int]:
    """Order by Kahn's algorithm, taking the earliest-given ready task first; tasks on or
    behind a cycle are left out."""
    waiting = [len(ups) for ups in upstreams]
    ready = [i for i, count in enumerate(waiting) if count == 0]
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for child in dependants[i]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    return order


def _find_cycle(names: list[str], upstreams: list[Positions], ordered: set[int]) -> list[str]:
    """Return one cycle among the tasks Kahn's algorithm could not order, closed."""
    # Every unordered task has an unordered upstream: walking upstream must loop.
    node = next(i for i in range(len(names)) if i not in ordered)
    path: list[int] = []
    seen_at: dict[int, int] = {}
    while node not in seen_at:
        seen_at[node] = len(path)
        path.append(node)
        node = next(up for up in upstreams[node] if up not in ordered)
    cycle = [names[i] for i in path[seen_at[node] :]]
    cycle.reverse()  # upstream first, in the direction the work would flow
    return [*cycle, cycle[0]]
