"""The dependency graph: validation, topological order and dependants.

Pure data over task names; knows nothing of how tasks run.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from processes.errors import CircularDependencyError, DependencyNotFoundError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


class TaskGraph:
    """Tasks as names with upstream names; validated and ordered when built.

    ``order`` is a topological order in which tasks that could go either way keep the
    order they were given in.
    """

    __slots__ = ("dependants", "order", "position", "upstreams")

    def __init__(self, upstreams: Mapping[str, tuple[str, ...]]) -> None:
        self.upstreams = upstreams
        dependants: dict[str, list[str]] = {name: [] for name in upstreams}
        for name, ups in upstreams.items():
            for up in ups:
                children = dependants.get(up)
                if children is None:
                    raise DependencyNotFoundError(name, up)
                children.append(name)
        self.dependants = dependants
        self.order = _ordered(upstreams, dependants)
        self.position = {name: i for i, name in enumerate(self.order)}

    def dependants_of(self, name: str) -> list[str]:
        """Return every task downstream of ``name``, transitively, in topological order."""
        seen: set[str] = set()
        stack = list(self.dependants[name])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(self.dependants[node])
        return sorted(seen, key=self.position.__getitem__)


def _ordered(
    upstreams: Mapping[str, tuple[str, ...]], dependants: dict[str, list[str]]
) -> list[str]:
    """Kahn's algorithm, taking the earliest-given ready task first."""
    position = {name: i for i, name in enumerate(upstreams)}
    waiting = {name: len(ups) for name, ups in upstreams.items()}
    ready = [position[name] for name, count in waiting.items() if count == 0]
    names = list(upstreams)
    order: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        order.append(name)
        for child in dependants[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, position[child])
    if len(order) < len(names):
        raise CircularDependencyError.from_cycle(_find_cycle(upstreams, set(order)))
    return order


def _find_cycle(upstreams: Mapping[str, tuple[str, ...]], ordered: Iterable[str]) -> list[str]:
    """Return one cycle among the tasks Kahn's algorithm could not order, closed."""
    done = set(ordered)
    # Every unordered task has an unordered upstream: walking upstream must loop.
    start = next(name for name in upstreams if name not in done)
    path: list[str] = []
    index: dict[str, int] = {}
    node = start
    while node not in index:
        index[node] = len(path)
        path.append(node)
        node = next(up for up in upstreams[node] if up not in done)
    cycle = path[index[node] :]
    cycle.reverse()  # upstream first, in the direction the work would flow
    return [*cycle, cycle[0]]
