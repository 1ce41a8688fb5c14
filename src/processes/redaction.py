"""Which names look secret, and how their values are kept out of every report.

Imports nothing from the package; capture applies it where a failure happens, so logs,
reports, JSON, emails and webhooks never hold the value.
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
import types
import urllib.parse
import uuid
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
    "creds",
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
_MASKED_INSIDE_WORDS = 8  # a shorter value ("open") is masked only where it is a word
_MOST_ITEMS_SEARCHED = 5_000  # per failure: a frame may hold a huge dict or object
_SMALLEST_MASKED_INT = 100_000  # line numbers and counts are smaller
_LONGEST_MASKED_INT_BITS = 10_000  # str() of longer ints is refused by Python


class Redactor:
    """Hide the values of secret-looking names, and those values wherever they reappear."""

    __slots__ = ("_hash", "_pattern")

    def __init__(self, patterns: Iterable[str] = DEFAULT_REDACT) -> None:
        # Lower-case words matched against lower-cased text: re.IGNORECASE scans
        # megabytes of text ten times slower.
        words = [re.escape(p.lower()) for p in patterns if p]
        self._pattern = re.compile("|".join(words)) if words else None
        self._hash = hash(self._key())  # a cache key of every task's capture settings

    def is_secret(self, name: str) -> bool:
        return self._pattern is not None and self._pattern.search(name.lower()) is not None

    # Redactors are values: tasks built with the same patterns share caches.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Redactor):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return self._hash

    def _key(self) -> str | None:
        return None if self._pattern is None else self._pattern.pattern

    def scrub(self, value: Any, secrets: list[str], depth: int = 0) -> Any:
        """Return ``value`` with secret-named keys of nested dicts masked (copies, not edits).

        Strings are masked by shape too (``mask_shapes``); what is nested deeper than a few
        levels is hidden whole, since it was not looked at. The hidden values are appended
        to ``secrets`` so that they can be masked in text.
        """
        if self._pattern is None or type(value) in _ATOMS:
            return value
        if isinstance(value, str):
            return self.mask_shapes(value)
        if isinstance(value, Mapping | list | tuple) and depth >= _MAX_DEPTH:
            return REDACTED  # fail closed: what was not looked at is not shown
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

    def scrub_args(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """Return ``args`` with what their dicts and strings hold under secret names masked."""
        if self._pattern is None:
            return args
        for arg in args:
            if type(arg) not in _ATOMS:
                break
        else:  # numbers only: the common case of results passed along
            return args
        scrubbed = tuple([self.scrub(arg, []) for arg in args])
        return args if scrubbed == args else scrubbed

    def mask_shapes(self, text: str) -> str:
        """Mask what looks like a credential by its shape, whatever its value.

        A URL's password (``postgresql://user:[redacted]@host``), an ``Authorization``
        credential (``Basic ...``, ``Bearer ...``) and a value written next to a
        secret-looking name (``password='...'``, ``"token": "..."``, ``api_key=...``):
        values nobody registered, such as a literal in a traceback's source line or a
        field in an object's repr.
        """
        if self._pattern is None:
            return text
        # Each pass only where it can find something: results can be megabytes of text.
        if "://" in text:
            text = _URL_PASSWORD.sub(_mask_url_password, text)
        if "Basic " in text or "Bearer " in text:
            text = _CREDENTIAL.sub(_mask_credential, text)
        return self._mask_assignments(text)

    def _mask_assignments(self, text: str) -> str:
        """Mask the values written next to secret-looking names, found by those names."""
        assert self._pattern is not None
        pieces: list[str] = []
        kept = 0  # text[:kept] is in pieces
        # ASCII-only lower-casing keeps every position where it was.
        for word in self._pattern.finditer(text.translate(_ASCII_LOWER)):
            if word.start() < kept:
                continue
            written = _WRITTEN_AFTER_NAME.match(text, word.end())
            if written is None or written["value"].strip("'\"") in ("", REDACTED):
                continue
            value = written["value"]
            quote = value[0] if value[0] in "'\"" else ""
            pieces += [text[kept : written.start("value")], quote, REDACTED, quote]
            kept = written.end()
        return "".join([*pieces, text[kept:]]) if pieces else text

    def collect(self, values: Iterable[Any], secrets: list[str]) -> None:
        """Remember what ``values`` hold under secret-looking keys or attribute names.

        For the locals of frames that are not traced: nothing is copied, and huge dicts
        or deep objects cost at most a bounded number of steps, all of them together.
        """
        if self._pattern is None:
            return
        budget = _MOST_ITEMS_SEARCHED
        pending = [(value, 0) for value in values]
        while pending and budget > 0:
            current, depth = pending.pop()
            if type(current) in _ATOMS or isinstance(current, str | bytes):
                continue
            try:
                for key, item in _fields_of(current):
                    budget -= 1
                    if budget <= 0:
                        break
                    if isinstance(key, str) and self.is_secret(key):
                        remember_secret(item, secrets)
                    elif depth < _MAX_DEPTH:
                        pending.append((item, depth + 1))
            except Exception:  # an exotic object is skipped: capture goes on
                continue


def _fields_of(value: Any) -> Iterable[tuple[Any, Any]]:
    """The named parts of a dict or of a plain object; the items of a list or tuple."""
    if isinstance(value, Mapping):
        return value.items()
    if isinstance(value, list | tuple | set | frozenset):
        return ((None, item) for item in value)
    if isinstance(value, type | types.ModuleType | types.FunctionType):
        return ()  # their namespaces are code, not data
    if dataclasses.is_dataclass(value):
        return ((f.name, getattr(value, f.name, None)) for f in dataclasses.fields(value))
    if not type(value).__dictoffset__:  # no instance dict: nothing to look at
        return ()
    namespace = object.__getattribute__(value, "__dict__")  # no proxy's __getattr__ runs
    return namespace.items() if isinstance(namespace, dict) else ()


_ATOMS = frozenset({int, float, bool, type(None), complex})
_URL_PASSWORD = re.compile(r"(?P<head>://[^/\s:@]*:)(?P<password>[^@\s/]+)@")
_CREDENTIAL = re.compile(r"\b(?P<scheme>Basic|Bearer) (?P<credential>[\w.~+/=-]{8,})")
# After a secret-looking word: the rest of the name, then name='...', name: "...",
# "name": "..." or name=value (no spaces: query strings, log lines, keyword arguments).
_WRITTEN_AFTER_NAME = re.compile(
    r"[\w-]*"
    r"(?:['\"]?\s*[:=]\s*(?=['\"])|=)"
    r"(?P<value>'[^'\n]*'|\"[^\"\n]*\"|[^\s&,;'\"()<>\[\]{}]+)"
)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _mask_url_password(found: re.Match[str]) -> str:
    return f"{found['head']}{REDACTED}@"


def _mask_credential(found: re.Match[str]) -> str:
    credential = found["credential"]
    if credential.isalpha() and credential.islower():  # "Basic configuration": prose
        return found[0]
    return f"{found['scheme']} {REDACTED}"


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
    elif isinstance(value, uuid.UUID):  # a session id: as str() and as .hex show it
        secrets.extend((str(value), value.hex))
    elif depth < _MAX_DEPTH:
        if isinstance(value, Mapping):
            value = value.values()
        if isinstance(value, list | tuple | set | frozenset | type({}.values())):
            for item in value:
                remember_secret(item, secrets, depth + 1)


def secret_forms(text: str) -> list[str]:
    """The ways ``text`` can appear in other text: as is, escaped by repr() or JSON, and
    percent-encoded as in a URL."""
    escaped = (
        repr(text)[1:-1],
        json.dumps(text)[1:-1],
        urllib.parse.quote(text, safe=""),
        urllib.parse.quote_plus(text, safe=""),
    )
    return list(dict.fromkeys((text, *escaped)))


def mask(text: str, secrets: list[str]) -> str:
    """Replace every occurrence of a secret value in ``text``.

    A value shorter than 8 characters only where it stands as a word: a variable
    ``session_state = "open"`` must not turn ``opened.txt`` into ``[redacted]ed.txt``.
    """
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret not in text:
            continue
        if len(secret) >= _MASKED_INSIDE_WORDS:
            text = text.replace(secret, REDACTED)
        else:
            text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", REDACTED, text)
    return text


DEFAULT_REDACTOR = Redactor()
