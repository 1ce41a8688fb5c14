"""Which names look secret (``DEFAULT_REDACT``), and the names a value's parts go by.

The by-name strategy's vocabulary: the ``Redactor`` and the environment's reading judge
names with it. Imports nothing from the package.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import types
from collections import deque
from collections.abc import ItemsView, Iterable, KeysView, Mapping, ValuesView
from typing import Any

__all__ = [
    "DEFAULT_REDACT",
    "fields_of",
    "has_fields",
    "is_default_secret_name",
    "name_of",
    "secret_name_pattern",
]

#: Substrings (case-insensitive) of variable and key names whose values are hidden.
DEFAULT_REDACT: tuple[str, ...] = (
    "pass",  # password, passwd, passphrase
    "pwd",
    "secret",
    "token",
    "api_key",
    "api-key",
    "apikey",
    "auth",  # auth, authorization, oauth (and "author": a safe false positive)
    "credential",
    "private_key",
    "private-key",
    "privatekey",
    "creds",
    "cookie",
    "session",
    "csrf",
    "xsrf",
    "signature",
    "bearer",
)


def secret_name_pattern(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One search for every word of ``patterns``, run on a lower-cased name; None for none."""
    # Lower-case words matched against lower-cased text: re.IGNORECASE scans
    # megabytes of text ten times slower.
    words = [re.escape(p.lower()) for p in patterns if p]
    return re.compile("|".join(words)) if words else None


_DEFAULT_PATTERN = secret_name_pattern(DEFAULT_REDACT)


def is_default_secret_name(name: str) -> bool:
    """True when ``name`` holds one of ``DEFAULT_REDACT``'s words, in any case."""
    return _DEFAULT_PATTERN is not None and _DEFAULT_PATTERN.search(name.lower()) is not None


def name_of(key: Any) -> str | None:
    """A key as a name: a ``str``, or ``bytes`` as a Redis hash gives them."""
    if isinstance(key, str):
        return key
    if isinstance(key, bytes):
        return key.decode("latin-1")
    return None


def fields_of(value: Any) -> Iterable[tuple[Any, Any]]:
    """The named parts of a dict or of a plain object; the items of a list or tuple."""
    if isinstance(value, Mapping):
        return value.items()
    if isinstance(value, ItemsView):  # a dict's items(): named like the dict's
        return iter(value)
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):  # a namedtuple
        return zip(type(value)._fields, value, strict=False)  # type: ignore[attr-defined]
    if isinstance(value, list | tuple | set | frozenset | deque | KeysView | ValuesView):
        return ((None, item) for item in value)
    if isinstance(value, type | types.ModuleType | types.FunctionType):
        return ()  # their namespaces are code, not data
    if dataclasses.is_dataclass(value):
        return ((f.name, getattr(value, f.name, None)) for f in dataclasses.fields(value))
    return itertools.chain(_slots_of(value), _instance_dict_of(value))


def has_fields(value: Any) -> bool:
    """True for an object whose attributes ``collect`` can look at."""
    kind = type(value)
    return (
        dataclasses.is_dataclass(kind)
        or bool(kind.__dictoffset__)
        or any("__slots__" in vars(cls) for cls in kind.__mro__[:-1])
    )


def _instance_dict_of(value: Any) -> Iterable[tuple[Any, Any]]:
    if not type(value).__dictoffset__:
        return ()
    namespace = object.__getattribute__(value, "__dict__")  # no proxy's __getattr__ runs
    return namespace.items() if isinstance(namespace, dict) else ()


def _slots_of(value: Any) -> Iterable[tuple[str, Any]]:
    for cls in type(value).__mro__[:-1]:
        slots = vars(cls).get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            try:
                yield name, object.__getattribute__(value, name)
            except AttributeError:  # a slot never set
                continue
