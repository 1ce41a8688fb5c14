"""The items of a run's mapped tasks (SPEC §15): listed, keyed, counted and summed up.

A mapped task runs once per item of one upstream result. Its items are positions of
their own after the declared tasks: the ledger runs them as it runs tasks, and this
keeps what is particular to them. Pure bookkeeping; imports the tasks' types only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from processes.life import TaskLife
    from processes.task import Task

_SHOWN_KEYS = 10  # failed keys a mapped task's failure names, then how many more


class ItemsError(Exception):
    """Why a mapped task could not list its items: ``kind`` is the exception it fails with."""

    def __init__(self, kind: type[Exception], message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class ItemGroup:
    """One mapped task's items while they run: positions ``first`` on, in item order.

    A group that maps item by item over another mapped task's (``over``) has the same
    keys; its item ``k`` waits for item ``k`` of ``over`` (``source_done``) and for the
    task's other upstream tasks (``others_left``).
    """

    __slots__ = (
        "count",
        "failed",
        "first",
        "followers",
        "left",
        "life",
        "mapped",
        "others_left",
        "over",
        "source_done",
    )

    def __init__(
        self, mapped: int, first: int, count: int, life: TaskLife, over: ItemGroup | None = None
    ) -> None:
        self.mapped = mapped
        self.first = first
        self.count = count
        self.left = count  # items not ended yet
        self.failed: list[int] = []  # positions of the items that did not succeed
        self.life = life  # the mapped task's own: its inputs (whole) and its start
        self.over = over
        self.followers: list[ItemGroup] = []  # the groups that map item by item over this
        self.others_left = 0
        self.source_done = bytearray(count if over is not None else 0)


class Items:
    """Every item of the run, by position (from ``declared`` on).

    ``for_each``: each mapped task's position -> the upstream task it maps over;
    ``keys``, ``values`` and ``of`` give each item's key, the item itself (until its
    entry is written) and its ``ItemGroup``, at ``position - declared``.
    """

    __slots__ = ("chained", "declared", "early", "for_each", "keys", "of", "values")

    def __init__(self, declared: int, for_each: dict[int, int]) -> None:
        self.declared = declared
        self.for_each = for_each
        self.keys: list[str] = []
        self.values: list[Any] = []
        self.of: list[ItemGroup] = []
        # A mapped task -> the mapped tasks that map over it item by item; and those whose
        # items were spawned with its own (before they were ready as tasks).
        self.chained: dict[int, list[int]] = {}
        for mapped, up in sorted(for_each.items()):
            if up in for_each:
                self.chained.setdefault(up, []).append(mapped)
        self.early: dict[int, ItemGroup] = {}

    def spawn(
        self, mapped: int, life: TaskLife, results: list[Any], tasks: list[Task]
    ) -> ItemGroup | None:
        """The items of the task at ``mapped``, listed from the result it maps over and
        keyed, their positions after every position given so far; None if there are
        none. ``ItemsError`` if they cannot be listed or keyed."""
        task = tasks[mapped]
        up = self.for_each[mapped]
        source = results[up]
        if up in self.for_each and isinstance(source, dict):
            # a mapped task's dict, whole (reused, or its items never started): item by
            # item, keeping its keys
            values, keys = list(source.values()), list(source)
        else:
            values = list_items(source, tasks[up].name)
            keys = item_keys(values, task.item_key)
        if not values:
            return None
        self._check_names(mapped, keys, tasks)
        return self._add(
            ItemGroup(mapped, self.declared + len(self.keys), len(values), life), keys, values
        )

    def spawn_over(self, mapped: int, over: ItemGroup, life: TaskLife) -> ItemGroup:
        """The items of the task at ``mapped``, one per item of ``over``, with its keys;
        each receives its item of ``over``'s result once that is known."""
        first = over.first - self.declared
        keys = self.keys[first : first + over.count]
        group = ItemGroup(mapped, self.declared + len(self.keys), over.count, life, over)
        over.followers.append(group)
        self.early[mapped] = group
        return self._add(group, keys, [None] * over.count)

    def _check_names(self, mapped: int, keys: list[str], tasks: list[Task]) -> None:
        """``ItemsError`` when an item of the task at ``mapped``, or of a task mapping
        item by item over it, would be named as a declared task is: the two entries
        would be one, and a name would stand for two tasks in the views and the history."""
        taken = {t.name.lower() for t in tasks[: self.declared] if t.name.endswith("]")}
        if not taken:  # no declared name looks like an item's: nothing to compare
            return
        waiting = [mapped]
        while waiting:
            position = waiting.pop()
            task = tasks[position]
            for key in keys:
                name = f"{task.name}[{key}]"
                if name.lower() in taken:
                    raise ItemsError(
                        ValueError,
                        f"the item {name!r} of {task.name!r} is named as a declared task is: "
                        "rename that task, or give the mapped task an item_key that makes "
                        "other keys",
                    )
            waiting.extend(self.chained.get(position, ()))

    def _add(self, group: ItemGroup, keys: list[str], values: list[Any]) -> ItemGroup:
        self.keys.extend(keys)
        self.values.extend(values)
        self.of.extend([group] * group.count)
        return group

    def group(self, i: int) -> ItemGroup:
        return self.of[i - self.declared]

    def key(self, i: int) -> str:
        return self.keys[i - self.declared]

    def value(self, i: int) -> Any:
        return self.values[i - self.declared]

    def forget_value(self, i: int) -> None:
        """Item ``i``'s entry is written: the run no longer holds the item itself."""
        self.values[i - self.declared] = None

    def ended(self, i: int, succeeded: bool) -> ItemGroup | None:
        """Item ``i`` ended; its group when it was the last of them to end."""
        group = self.of[i - self.declared]
        if not succeeded:
            group.failed.append(i)
        group.left -= 1
        return group if group.left == 0 else None

    def sum_up(self, group: ItemGroup, task: Task, results: list[Any]) -> tuple[Any, str]:
        """The mapped task's result (key -> result of each item that succeeded, in item
        order), or why it failed: more items failed than its ``max_failed`` allows."""
        first, count = group.first, group.count
        keys = self.keys[first - self.declared : first - self.declared + count]
        failed = len(group.failed)
        if failed > allowed_failures(task.max_failed, count):
            group.failed.sort()
            failed_keys = (self.key(p) for p in group.failed)
            return None, summary_message(task, failed_keys, failed, count)
        values = results[first : first + count]
        if not failed:
            return dict(zip(keys, values, strict=True)), ""
        not_ok = {p - first for p in group.failed}
        return {key: values[k] for k, key in enumerate(keys) if k not in not_ok}, ""


def list_items(source: Any, upstream: str) -> list[Any]:
    """The items of ``source``, the result of task ``upstream``, read once, in order."""
    try:
        iterator = iter(source)
    except TypeError:
        raise ItemsError(
            TypeError,
            f"the result of {upstream!r} is not iterable ({type(source).__name__}): "
            "a for_each dependency needs an iterable of items",
        ) from None
    try:
        return list(iterator)
    except Exception as exc:
        raise ItemsError(
            RuntimeError,
            f"iterating over the result of {upstream!r} raised {type(exc).__name__}: {exc}",
        ) from None


def item_keys(values: list[Any], item_key: Callable[[Any], str] | None) -> list[str]:
    """Each item's key: ``item_key(item)``, or by default ``str(item)`` for a str or an
    int, else its position. Unique, or an ``ItemsError`` naming the key and both items."""
    keys: list[str]
    if item_key is None:
        keys = [
            str(value) if isinstance(value, str | int) else str(k) for k, value in enumerate(values)
        ]
    else:
        keys = []
        for k, value in enumerate(values):
            try:
                key = item_key(value)
            except Exception as exc:
                raise ItemsError(
                    RuntimeError,
                    f"item_key raised {type(exc).__name__} for the item at position {k}: {exc}",
                ) from None
            if not isinstance(key, str):
                raise ItemsError(
                    TypeError,
                    f"item_key must return a str, got {type(key).__name__} "
                    f"for the item at position {k}",
                )
            keys.append(key)
    if len(set(keys)) < len(keys):
        seen: dict[str, int] = {}
        for k, key in enumerate(keys):
            if key in seen:
                raise ItemsError(
                    ValueError,
                    f"duplicate item key {key!r}: the items at positions {seen[key]} and {k} "
                    "have it; give the task an item_key that tells them apart",
                )
            seen[key] = k
    return keys


def allowed_failures(max_failed: float, count: int) -> float:
    """How many of ``count`` items may fail: a count, or a fraction of them."""
    return max_failed * count if isinstance(max_failed, float) else max_failed


def summary_message(task: Task, keys: Iterable[str], failed: int, count: int) -> str:
    """The failure of a mapped task whose items failed beyond its ``max_failed``."""
    shown: list[str] = []
    for key in keys:
        if len(shown) == _SHOWN_KEYS:
            shown.append(f"... and {failed - _SHOWN_KEYS} more")
            break
        shown.append(key)
    return (
        f"{failed:,} of {count:,} items did not succeed (max_failed={task.max_failed!r}): "
        + ", ".join(shown)
    )
