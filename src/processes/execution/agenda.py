"""What a run starts next: tasks whose upstream tasks all finished, and retries by when
they are due.

Two heaps and a queue of positions, on the driver's clock; no task, no thread, no
clock of its own. Imports nothing from the package.
"""

from __future__ import annotations

import functools
import heapq
import itertools
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable


class Agenda:
    """The ready tasks (a heap of topological positions) and the retries waiting (a
    heap by due time) or due (first come, first started: before any ready task)."""

    __slots__ = ("_due", "_ready", "_retries", "_sequence", "add_ready")

    def __init__(self, ready: Iterable[int]) -> None:
        self._ready = list(ready)  # ascending already: a heap
        # Queue a ready task: ``heappush`` bound to the heap is a call into C, with no
        # frame of Python's per task.
        self.add_ready: Callable[[int], None] = functools.partial(heapq.heappush, self._ready)
        # (due, sequence, task, since, delay): when it is due, and after what wait
        self._retries: list[tuple[float, int, int, float, float]] = []
        self._due: deque[int] = deque()
        self._sequence = itertools.count()  # retries due at once keep their order

    def next(self, now: float) -> int:
        """A retry due at ``now``, else the first ready task; -1 if neither."""
        retries = self._retries
        while retries and retries[0][0] <= now:
            self._due.append(heapq.heappop(retries)[2])
        if self._due:
            return self._due.popleft()
        if self._ready:
            return heapq.heappop(self._ready)
        return -1

    def add_ready_last(self, positions: range) -> None:
        """Positions above any the heap holds: appended, the heap stays a heap."""
        self._ready.extend(positions)

    def add_retry(self, i: int, now: float, delay: float) -> None:
        heapq.heappush(self._retries, (now + delay, next(self._sequence), i, now, delay))

    def retry_first(self, i: int) -> None:
        """Task ``i``'s retry, taken out, goes back to the front of those due."""
        self._due.appendleft(i)

    def first_retry(self, now: float) -> tuple[int, float]:
        """Take out the retry due first, whenever that is, and the seconds left until
        then (its delay exactly, when no time passed since it was added)."""
        _, _, i, since, delay = heapq.heappop(self._retries)
        return i, delay - (now - since)

    def first_retry_at(self) -> float:
        return self._retries[0][0] if self._retries else float("inf")

    def has_retries(self) -> bool:
        return bool(self._retries or self._due)

    def drop_retries(self, keeps: Callable[[int], bool]) -> list[int]:
        """Take out every waiting or due retry but those ``keeps``; return them."""
        waiting = [*self._due, *(retry[2] for retry in self._retries)]
        dropped = [i for i in waiting if not keeps(i)]
        if dropped:
            kept_due = [i for i in self._due if keeps(i)]
            self._due.clear()
            self._due.extend(kept_due)
            self._retries[:] = [retry for retry in self._retries if keeps(retry[2])]
            heapq.heapify(self._retries)
        return dropped
