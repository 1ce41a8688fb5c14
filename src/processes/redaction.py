"""Which names look secret, and how their values are kept out of every report.

Imports nothing from the package; capture applies it where a failure happens, so logs,
reports, JSON, emails and webhooks never hold the value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

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
    "cookie",
    "session",
    "csrf",
    "xsrf",
    "signature",
    "bearer",
)

REDACTED = "[redacted]"

_MAX_DEPTH = 5
_SHORTEST_MASKED_VALUE = 4  # masking "ab" inside every traceback would garble it
_SMALLEST_MASKED_INT = 100_000  # line numbers and counts are smaller
_LONGEST_MASKED_INT_BITS = 10_000  # str() of longer ints is refused by Python


class Redactor:
    """Hide the values of secret-looking names, and those values wherever they reappear."""

    __slots__ = ("_pattern",)

    def __init__(self, patterns: Iterable[str] = DEFAULT_REDACT) -> None:
        words = [re.escape(p.lower()) for p in patterns if p]
        self._pattern = re.compile("|".join(words), re.IGNORECASE) if words else None

    def is_secret(self, name: str) -> bool:
        return self._pattern is not None and self._pattern.search(name) is not None

    # Redactors are values: tasks built with the same patterns share caches.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Redactor):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> str | None:
        return None if self._pattern is None else self._pattern.pattern

    def scrub(self, value: Any, secrets: list[str], depth: int = 0) -> Any:
        """Return ``value`` with secret-named keys of nested dicts masked (copies, not edits).

        The hidden values are appended to ``secrets`` so that they can be masked in text.
        """
        if self._pattern is None or depth > _MAX_DEPTH:
            return value
        if isinstance(value, Mapping):
            clean: dict[Any, Any] = {}
            for key, item in value.items():
                if isinstance(key, str) and self.is_secret(key):
                    remember_secret(item, secrets)
                    clean[key] = REDACTED
                else:
                    clean[key] = self.scrub(item, secrets, depth + 1)
            return clean
        if isinstance(value, list | tuple):
            items = [self.scrub(item, secrets, depth + 1) for item in value]
            return items if isinstance(value, list) else tuple(items)
        return value

    def scrub_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Return ``kwargs`` unchanged when nothing in it looks secret, else a masked copy."""
        if self._pattern is None or not kwargs:
            return kwargs
        return dict(self.scrub(kwargs, []))


def remember_secret(value: Any, secrets: list[str], depth: int = 0) -> None:
    """Keep the text of ``value`` (or of what it holds) for masking wherever it reappears.

    Strings and bytes long enough to be told apart, integers of six digits or more (a
    PIN-like token), and the values inside dicts, lists, tuples and sets.
    """
    if isinstance(value, str):
        if len(value) >= _SHORTEST_MASKED_VALUE:
            secrets.extend(secret_forms(value))
    elif isinstance(value, bytes):
        if len(value) >= _SHORTEST_MASKED_VALUE:  # as text, as repr() shows it, and as hex
            secrets.extend(secret_forms(value.decode(errors="replace")))
            secrets.extend((repr(value)[2:-1], value.hex()))
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= _SMALLEST_MASKED_INT and value.bit_length() < _LONGEST_MASKED_INT_BITS:
            secrets.append(str(value))
    elif depth < _MAX_DEPTH:
        if isinstance(value, Mapping):
            value = value.values()
        if isinstance(value, list | tuple | set | frozenset | type({}.values())):
            for item in value:
                remember_secret(item, secrets, depth + 1)


def secret_forms(text: str) -> list[str]:
    """The ways ``text`` can appear in other text: as is, and escaped by repr() or JSON."""
    forms = [text]
    for escaped in (repr(text)[1:-1], json.dumps(text)[1:-1]):
        if escaped not in forms:
            forms.append(escaped)
    return forms


def mask(text: str, secrets: list[str]) -> str:
    """Replace every occurrence of a secret value in ``text``."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


DEFAULT_REDACTOR = Redactor()
