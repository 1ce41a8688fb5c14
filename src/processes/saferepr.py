"""``repr`` that never raises and never runs away: failure capture and JSON rely on it,
and the limits past which a report shows a value as that ``repr``.

Imports nothing from the package.
"""

from __future__ import annotations

import reprlib

#: Longest ``repr`` kept for one value; longer ones are cut and marked.
MAX_REPR_CHARS = 2_000

_TRUNCATED = "... [truncated {} chars]"

# The limits of a report's JSON form, here so that the report's writer and the masking of
# a report's values (below the report) agree on what is written whole.
#: Containers nested deeper than this are written as their ``repr``.
MAX_JSON_DEPTH = 50
# Python refuses str() of ints longer than 4300 digits (about 14,000 bits) by default.
LONGEST_JSON_INT_BITS = 14_000


def safe_repr(value: object, limit: int = MAX_REPR_CHARS) -> str:
    """Return ``repr(value)``, a placeholder if that raises, cut to ``limit`` characters."""
    try:
        text = _limited_repr(value, limit)
    except BaseException as exc:  # a broken __repr__ must never break capture
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return f"<unrepresentable {type(value).__qualname__}: repr raised {type(exc).__name__}>"
    if not isinstance(text, str):
        return f"<unrepresentable {type(value).__qualname__}>"
    return truncate(text, limit)


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


_SHALLOW = reprlib.Repr()
_SHALLOW.maxstring = MAX_REPR_CHARS
_SHALLOW.maxother = MAX_REPR_CHARS
_SHALLOW.maxlist = _SHALLOW.maxtuple = _SHALLOW.maxset = _SHALLOW.maxdict = 200
_SHALLOW.maxlevel = 6


def _limited_repr(value: object, limit: int) -> str:
    # Containers go through reprlib so a list of ten million rows is not rendered in full
    # before being cut; everything else uses its own __repr__.
    if isinstance(value, list | tuple | set | frozenset | dict) and len(value) > 200:
        return _SHALLOW.repr(value)
    return repr(value)
