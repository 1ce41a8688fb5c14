"""Argument checks every constructor shares: TypeError for a wrong type, ValueError for a value.

Each message names the owner and field, the value (a secret's type only) and what was
expected. Imports nothing from the package but ``saferepr`` (which imports nothing).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from processes.saferepr import safe_repr

if TYPE_CHECKING:
    from collections.abc import Collection

#: Longest value a message shows: an argument may be a list of a million rows.
_SHOWN_CHARS = 200


def check_type(
    field: str,
    value: object,
    expected: type | tuple[type, ...],
    *,
    owner: str = "",
    allow_none: bool = False,
    what: str = "",
    secret: bool = False,
) -> None:
    """Raise ``TypeError`` unless ``value`` is an instance of ``expected`` (or None if allowed).

    ``what`` says what is expected when the type names alone do not read well ("an
    SMTPConfig"). A ``secret`` value (a password, a webhook URL, a signing secret, or a
    config where a URL is easily passed by mistake) is never shown: the message names
    its type only.
    """
    if allow_none and value is None:
        return
    if isinstance(value, expected):
        return
    if not what:
        types = expected if isinstance(expected, tuple) else (expected,)
        what = " or ".join(_a(kind.__name__) for kind in types)
    if allow_none:
        what += " or None"
    raise type_error(field, value, what, owner=owner, secret=secret)


def type_error(
    field: str, value: object, what: str, *, owner: str = "", secret: bool = False
) -> TypeError:
    """The ``TypeError`` the checks raise, for a caller that checks inline (a hot path).

    ``owner`` and ``field`` name the argument, ``what`` says what is expected: "Task
    name must be a str, got 5". A ``secret`` value is not shown, only its type.
    """
    return TypeError(_message(owner, field, what, value, secret=secret))


def check_flag(field: str, value: object, *, owner: str = "") -> None:
    """Raise ``TypeError`` unless ``value`` is True or False (not 1, not "no")."""
    if value is not True and value is not False:
        raise TypeError(_message(owner, field, "a bool", value))


def check_text(
    field: str, value: object, *, owner: str = "", allow_none: bool = False, secret: bool = False
) -> None:
    """Raise ``TypeError`` unless ``value`` is a str (or None), ``ValueError`` if it is empty."""
    what = "a non-empty str or None" if allow_none else "a non-empty str"
    if allow_none and value is None:
        return
    if not isinstance(value, str):
        raise TypeError(_message(owner, field, what, value, secret=secret))
    if not value:
        raise ValueError(_message(owner, field, what, value))  # '' gives nothing away


def check_seconds(
    field: str,
    value: object,
    *,
    owner: str = "",
    allow_none: bool = False,
    allow_infinite: bool = False,
) -> None:
    """Raise unless ``value`` is a positive int or float of seconds (never a bool).

    ``TypeError`` for another type; ``ValueError`` for zero, a negative number, NaN, and
    infinity unless ``allow_infinite`` (a deadline may be infinite, a socket timeout not).
    """
    if allow_none and value is None:
        return
    what = "a positive number of seconds" + (" or None" if allow_none else "")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(_message(owner, field, what, value))
    if math.isnan(value) or value <= 0 or (math.isinf(value) and not allow_infinite):
        raise ValueError(_message(owner, field, what, value))


def check_number(
    field: str,
    value: object,
    *,
    owner: str = "",
    minimum: float = 0,
    maximum: float | None = None,
) -> None:
    """Raise unless ``value`` is a finite int or float from ``minimum`` to ``maximum``.

    ``TypeError`` for another type (a bool too); ``ValueError`` for NaN, infinity or a
    number out of bounds.
    """
    if maximum is None:
        what = f"a finite number of at least {minimum}"
    else:
        what = f"a finite number from {minimum} to {maximum}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(_message(owner, field, "a number", value))
    if not math.isfinite(value) or value < minimum or (maximum is not None and value > maximum):
        raise ValueError(_message(owner, field, what, value))


def check_count(
    field: str,
    value: object,
    *,
    owner: str = "",
    minimum: int | None = 0,
    maximum: int | None = None,
) -> None:
    """Raise ``TypeError`` unless ``value`` is an int (never a bool), ``ValueError`` below
    ``minimum`` (None: any int) or above ``maximum``."""
    if minimum is None:
        what = "an int"
    elif minimum == 0:
        what = "a non-negative int"
    elif minimum == 1:
        what = "a positive int"
    else:
        what = f"an int of at least {minimum}"
    if maximum is not None:
        what += f" of at most {maximum:,}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(_message(owner, field, what, value))
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(_message(owner, field, what, value))


def check_choice(field: str, value: object, choices: Collection[str], *, owner: str = "") -> None:
    """Raise ``TypeError`` unless ``value`` is a str, ``ValueError`` unless one of ``choices``."""
    what = f"one of {', '.join(choices)}"
    if not isinstance(value, str):
        raise TypeError(_message(owner, field, f"a str, {what}", value))
    if value not in choices:
        raise ValueError(_message(owner, field, what, value))


def _message(owner: str, field: str, what: str, value: object, *, secret: bool = False) -> str:
    shown = type(value).__name__ if secret else safe_repr(value, _SHOWN_CHARS)
    subject = f"{owner} {field}" if owner else field
    return f"{subject} must be {what}, got {shown}"


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeio" else f"a {noun}"
