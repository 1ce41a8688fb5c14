"""``repr`` that never raises and never runs away: failure capture and JSON rely on it,
and the limits past which a report shows a value as that ``repr``.

Imports nothing from the package.
"""

from __future__ import annotations

import itertools
import reprlib
from collections import deque
from typing import Any

#: Longest ``repr`` kept for one value; longer ones are cut and marked.
MAX_REPR_CHARS = 2_000

_TRUNCATED = "... [truncated {} chars]"
#: The marker of a ``repr`` cut before it was built whole: how long it is is not known.
_CUT_SHORT = "... [truncated]"

# The limits of a report's JSON form, here so that the report's writer and the masking of
# a report's values (below the report) agree on what is written whole.
#: Containers nested deeper than this are written as their ``repr``.
MAX_JSON_DEPTH = 50
# Python refuses str() of ints longer than 4300 digits (about 14,000 bits) by default.
LONGEST_JSON_INT_BITS = 14_000


def safe_repr(value: object, limit: int = MAX_REPR_CHARS) -> str:
    """Return ``repr(value)``, a placeholder if that raises, cut to ``limit`` characters."""
    try:
        return _limited_repr(value, limit)
    except BaseException as exc:  # a broken __repr__ must never break capture
        if not isinstance(exc, Exception):  # Ctrl-C, SIGTERM, the deadline: they go on
            raise
        return f"<unrepresentable {type(value).__qualname__}: repr raised {type(exc).__name__}>"


def truncate(text: str, limit: int = MAX_REPR_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with a marker saying how much was cut."""
    if len(text) > limit:
        return text[:limit] + _TRUNCATED.format(len(text) - limit)
    return text


#: How much of a failure's message and of its traceback is kept (SPEC §17): past it, the
#: head and the tail, the cut said in the middle.
MAX_FAILURE_TEXT_BYTES = 64 * 1024


def keep_ends(text: str, limit: int = MAX_FAILURE_TEXT_BYTES) -> str:
    """``text`` when it holds at most ``limit`` characters; else its first and last parts
    with a line in the middle saying how much was cut (where the error is, and where it
    came from, are the ends)."""
    if len(text) <= limit:
        return text
    half = limit // 2
    cut = len(text) - 2 * half
    return f"{text[:half]}\n[... {cut:,} characters cut here ...]\n{text[-half:]}"


#: Items of one container shown before the rest is elided; levels of nesting shown.
_MOST_ITEMS = 200
_DEEPEST = 50
_ELIDED = "..."
_CONTAINERS = (list, tuple, set, frozenset, dict, deque)
_TEXTS = (str, bytes, bytearray)
# A subclass that keeps its base's __repr__ is shown as its base shows it.
_PLAIN = {list.__repr__: list, tuple.__repr__: tuple, dict.__repr__: dict}
_BRACKETS: dict[type, tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
    deque: ("deque([", "])"),
}


class _Bounded(reprlib.Repr):
    """``repr`` built piece by piece, never much longer than ``budget`` characters:
    past it, and past ``_MOST_ITEMS`` items of a container, the rest is elided, so the
    ``repr`` of a list of ten million rows costs what its first characters cost. What
    fits is exactly ``repr()``: dicts and sets in their own order, a container inside
    itself as ``[...]``, other objects by their own ``__repr__`` (whose error propagates)."""

    def __init__(self, budget: int) -> None:
        super().__init__()
        self.maxstring = self.maxother = budget
        self.left = budget
        self.cut = False  # something was elided: the text is not the whole repr
        self._path: set[int] = set()

    def repr1(self, x: object, level: int) -> str:
        if self.left <= 0:
            self.cut = True
            return _ELIDED
        kind = _kind(x)
        if kind in _CONTAINERS:
            text = self._container(x, kind, level)
        elif kind in _TEXTS:
            text = self._text(x)  # type: ignore[arg-type]
        else:
            text = repr(x)
        self.left -= len(text)
        return text

    def _text(self, x: str | bytes | bytearray) -> str:
        if len(x) <= self.left:
            return repr(x)
        self.cut = True
        return repr(x[: max(self.left, 0)]) + _ELIDED  # never the whole of a huge one

    def _container(self, x: Any, kind: type, level: int) -> str:
        if not x:
            return "{}" if kind is dict else repr(x)
        if id(x) in self._path:  # inside itself, as repr() shows it
            return "{...}" if kind is dict else f"{_BRACKETS[kind][0]}...{_BRACKETS[kind][1]}"
        if level <= 0:
            self.cut = True
            return _ELIDED
        self._path.add(id(x))
        left = self.left
        try:
            pieces = []
            if kind is dict:
                for key, value in itertools.islice(x.items(), _MOST_ITEMS):
                    pieces.append(f"{self.repr1(key, level - 1)}: {self.repr1(value, level - 1)}")
            else:
                pieces = [self.repr1(item, level - 1) for item in itertools.islice(x, _MOST_ITEMS)]
        finally:
            self._path.discard(id(x))
            self.left = left  # the caller counts the container's text whole
        if len(x) > _MOST_ITEMS:
            self.cut = True
            pieces.append(_ELIDED)
        if kind is dict:
            return "{" + ", ".join(pieces) + "}"
        if kind is tuple and len(pieces) == 1:
            return f"({pieces[0]},)"
        if kind is deque and x.maxlen is not None:
            return f"deque([{', '.join(pieces)}], maxlen={x.maxlen})"
        opening, closing = _BRACKETS[kind]
        return opening + ", ".join(pieces) + closing


def _kind(x: object) -> type:
    """The type ``x`` is shown as: its own, or the base whose ``__repr__`` it keeps."""
    kind = type(x)
    if kind in _CONTAINERS or kind in _TEXTS:
        return kind
    plain: type = _PLAIN.get(kind.__repr__, kind)
    return plain


def _limited_repr(value: object, limit: int) -> str:
    """``repr(value)``, or its first ``limit`` characters or so and a marker when it is
    longer: containers, strings and bytes are never rendered whole before being cut."""
    kind = _kind(value)
    if kind not in _CONTAINERS and kind not in _TEXTS:
        text = repr(value)
        if not isinstance(text, str):  # pragma: no cover - repr() itself refuses
            return f"<unrepresentable {type(value).__qualname__}>"
        return truncate(text, limit)  # its own __repr__: the rest of the text cuts it
    bounded = _Bounded(limit + 1)
    text = bounded.repr1(value, _DEEPEST)
    if bounded.cut:  # items left out, even when what is left is short: say so
        return text[:limit] + _CUT_SHORT
    return truncate(text, limit)
