"""The ``Redactor``: one task's redaction settings, which hides what secret-named fields
hold (``scrub``, ``collect``) and masks text by every strategy (``mask_text``).

Imports the other ``redaction`` modules and ``saferepr``.
"""

from __future__ import annotations

import itertools
import re
import string
from collections import deque
from collections.abc import ItemsView, Iterable, KeysView, Mapping, ValuesView
from typing import Any

from processes.redaction.environment import environment_secrets, is_secret_environment_name
from processes.redaction.masking import (
    MASKED_INSIDE_WORDS,
    MAX_DEPTH,
    REDACTED,
    SHORTEST_MASKED_VALUE,
    mask,
    remember_secret,
)
from processes.redaction.names import (
    DEFAULT_REDACT,
    fields_of,
    has_fields,
    name_of,
    secret_name_pattern,
)
from processes.redaction.shapes import mask_credential_shapes, mask_url_and_authorization
from processes.saferepr import safe_repr

__all__ = ["DEFAULT_REDACTOR", "Redactor"]

_MOST_ITEMS_SEARCHED = 20_000  # per search: a frame may hold a huge dict or object
_MOST_NAMES_PER_CONTAINER = 5_000  # names are cheap to look at
_MOST_ITEMS_PER_CONTAINER = 200  # so that one huge container leaves the others their turn
_MOST_ITEMS_SCRUBBED = 20_000  # per result or argument; bigger ones are shown cut
_LONGEST_TEXT_SCRUBBED = 1_000_000


class Redactor:
    """Hide the values of secret-looking names, and those values wherever they reappear."""

    __slots__ = ("_hash", "_pattern")

    def __init__(self, patterns: Iterable[str] = DEFAULT_REDACT) -> None:
        self._pattern = secret_name_pattern(patterns)
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

    def scrub(self, value: Any, secrets: list[str]) -> Any:
        """Return ``value`` as a report may show it: the original object when nothing in it
        looks secret, else a copy with what secret-named keys hold masked.

        Strings are masked by value and by shape (``mask_text``); a namedtuple or a dict with
        secret-named fields (``str`` or ``bytes`` keys) gets them masked; an object with
        secret-named attributes is shown as its ``repr``, masked. Below a few levels of
        nesting a container is searched instead: hidden whole unless the search could see
        all of it and found nothing. A value too big to look at in full (or one that
        raises when looked at) is shown as its ``repr``, cut and masked by shape, as the
        views would show it anyway. The hidden values are appended to ``secrets``.
        """
        if self._pattern is None or type(value) in UNSCRUBBED_TYPES:
            return value
        budget = [_MOST_ITEMS_SCRUBBED]
        try:
            return self._scrub(value, secrets, 0, budget)
        except Exception:  # too big, or exotic: what the views show, masked
            found: list[str] = []
            self.collect((value,), found, shortest=SHORTEST_MASKED_VALUE)
            secrets.extend(found)
            return mask(self.mask_text(safe_repr(value)), found)

    def _scrub(self, value: Any, secrets: list[str], depth: int, budget: list[int]) -> Any:
        if type(value) in UNSCRUBBED_TYPES:
            return value
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooBigToScrub
        if isinstance(value, str):
            if len(value) > _LONGEST_TEXT_SCRUBBED:
                raise _TooBigToScrub
            return self.mask_text(value)
        if isinstance(value, bytes | bytearray):
            return self._scrub_bytes(value)
        if isinstance(value, _CONTAINERS):
            if depth >= MAX_DEPTH:
                found: list[str] = []
                complete = self.collect((value,), found, shortest=SHORTEST_MASKED_VALUE)
                clean = complete and not found and self._texts_are_clean(value)
                return value if clean else REDACTED  # fail closed
            return self._scrub_container(value, secrets, depth, budget)
        if isinstance(value, memoryview) or not has_fields(value):
            return value
        found = []
        self.collect((value,), found, shortest=SHORTEST_MASKED_VALUE)
        text = safe_repr(value)
        shown = mask(self.mask_text(text), found)
        if shown == text and not found:
            return value
        secrets.extend(found)
        return shown

    def _scrub_container(
        self, value: Any, secrets: list[str], depth: int, budget: list[int]
    ) -> Any:
        if isinstance(value, Mapping):
            return self._scrub_fields(value.items(), value, secrets, depth, budget, keys=True)
        if isinstance(value, ItemsView):  # shown as what it holds, masked
            shown = self._scrub_fields(value, value, secrets, depth, budget, keys=True)
            return value if shown is value else f"dict_items({safe_repr(list(shown.items()))})"
        if hasattr(type(value), "_fields"):  # a namedtuple: its fields have names
            fields = zip(type(value)._fields, value, strict=False)
            return self._scrub_fields(fields, value, secrets, depth, budget)
        if isinstance(value, list | tuple):
            return self._scrub_items(value, secrets, depth, budget)
        items = [self._scrub(item, secrets, depth + 1, budget) for item in value]
        if all(item is original for item, original in zip(items, value, strict=True)):
            return value
        if isinstance(value, deque):
            return deque(items, maxlen=value.maxlen)
        if isinstance(value, set | frozenset):
            try:
                return frozenset(items) if isinstance(value, frozenset) else set(items)
            except TypeError:  # an item shown as something unhashable
                return items
        return f"{type(value).__name__}({safe_repr(items)})"  # dict_keys, dict_values

    def _scrub_bytes(self, value: bytes | bytearray) -> bytes | bytearray:
        """Bytes with the known secrets and credential shapes their text shows masked."""
        if len(value) > _LONGEST_TEXT_SCRUBBED:
            raise _TooBigToScrub
        text = value.decode("utf-8", "surrogateescape")  # any bytes, ASCII kept as text
        shown = self.mask_text(text)
        if shown == text:
            return value
        masked = shown.encode("utf-8", "surrogateescape")
        return bytearray(masked) if isinstance(value, bytearray) else masked

    def _scrub_fields(
        self,
        fields: Iterable[tuple[Any, Any]],
        value: Any,
        secrets: list[str],
        depth: int,
        budget: list[int],
        *,
        keys: bool = False,
    ) -> Any:
        """The fields with what secret names hold hidden, and (``keys``) the keys masked."""
        clean: dict[Any, Any] = {}
        changed = False
        for key, item in fields:
            name = name_of(key)
            shown_key = self._scrub(key, secrets, depth + 1, budget) if keys else key
            changed = changed or shown_key is not key
            if name is not None and self.is_secret(name):
                remember_secret(item, secrets)
                clean[shown_key] = REDACTED
                changed = True
            else:
                clean[shown_key] = shown = self._scrub(item, secrets, depth + 1, budget)
                changed = changed or shown is not item
        if not changed:
            return value  # an OrderedDict, a defaultdict or a namedtuple stays one
        if isinstance(value, tuple):  # a namedtuple
            return type(value)._make(clean.values())  # type: ignore[attr-defined]
        return clean

    def _scrub_items(
        self, value: list[Any] | tuple[Any, ...], secrets: list[str], depth: int, budget: list[int]
    ) -> Any:
        items = []
        after_secret_flag = False  # ["tool", "--password", "hunter2"]
        for item in value:
            if after_secret_flag:
                remember_secret(item, secrets)
                items.append(REDACTED)
            else:
                items.append(self._scrub(item, secrets, depth + 1, budget))
            after_secret_flag = (
                isinstance(item, str) and item.startswith("-") and self.is_secret(item)
            )
        if all(item is original for item, original in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)

    def scrub_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Return ``kwargs`` unchanged when nothing in it looks secret, else a masked copy."""
        if self._pattern is None or not kwargs:
            return kwargs
        shown: dict[str, Any] = {}
        for name, value in kwargs.items():  # each on its own: a huge one stays in its place
            shown[name] = REDACTED if self.is_secret(name) else self.scrub(value, [])
        if all(shown[name] is value for name, value in kwargs.items()):
            return kwargs
        return shown

    def scrub_args(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """Return ``args`` with what their dicts and strings hold under secret names masked."""
        if self._pattern is None:
            return args
        for arg in args:
            if type(arg) not in UNSCRUBBED_TYPES:
                break
        else:  # numbers only: the common case of results passed along
            return args
        scrubbed = [self.scrub(arg, []) for arg in args]
        if all(shown is arg for shown, arg in zip(scrubbed, args, strict=True)):
            return args
        return tuple(scrubbed)

    def mask_command_line(self, argv: Iterable[str]) -> list[str]:
        """A command line as a record may keep it: the values of secret-named options
        hidden (``--password x``, ``--api-key=x``, and options named like a secret
        environment variable: ``--dsn``, ``--key``), and every argument masked by value
        and by shape (``-p "$DB_PASSWORD"``, ``postgres://u:[redacted]@h/db``)."""
        shown: list[str] = []
        hide_next = False
        for argument in argv:
            if hide_next:
                shown.append(REDACTED)
                hide_next = False
                continue
            name, equals, _ = argument.partition("=")
            if name.startswith("-") and self._is_secret_option(name):
                shown.append(f"{name}={REDACTED}" if equals else argument)
                hide_next = not equals
                continue
            shown.append(self.mask_text(argument))
        return shown

    def _is_secret_option(self, name: str) -> bool:
        if self._pattern is None:
            return False
        as_variable = "_" + name.lstrip("-").replace("-", "_").upper()  # --dsn: _DSN
        return self.is_secret(name) or is_secret_environment_name(as_variable)

    def known_values(self) -> tuple[str, ...]:
        """The forms of the secret values known before anything failed (the environment's
        secret-named variables), or none when this redactor is off."""
        return () if self._pattern is None else environment_secrets().forms

    def mask_text(self, text: str) -> str:
        """Mask the run's known secret values (the environment's), then credential shapes."""
        if self._pattern is None:
            return text
        return self.mask_shapes(environment_secrets().mask(text))

    def mask_shapes(self, text: str) -> str:
        """Mask what looks like a credential by its shape, whatever its value.

        A URL's password (``postgresql://user:[redacted]@host``), an ``Authorization``
        credential (``Basic ...``, ``Bearer ...``), a value written next to a
        secret-looking name (``password='...'``, ``"token": "..."``, ``api_key=...``) and
        a token in a vendor's published format (``CREDENTIAL_SHAPES``): values nobody
        registered, such as a literal in a traceback's source line or a field in an
        object's repr. The same string object comes back when nothing was masked.
        """
        if self._pattern is None:
            return text
        text = mask_url_and_authorization(text)
        return mask_credential_shapes(self._mask_assignments(text))

    def _texts_are_clean(self, value: Any) -> bool:
        """True when no string in ``value`` (searched within a budget) shows a secret."""
        budget = _MOST_ITEMS_SCRUBBED
        pending = [value]
        while pending:
            current = pending.pop()
            budget -= 1
            if budget < 0:
                return False
            if isinstance(current, str):
                if len(current) > _LONGEST_TEXT_SCRUBBED or self.mask_text(current) != current:
                    return False
            elif isinstance(current, bytes | bytearray):
                if len(current) > _LONGEST_TEXT_SCRUBBED or self._scrub_bytes(current) != current:
                    return False
            elif isinstance(current, Mapping):
                items = itertools.chain.from_iterable(current.items())
                pending.extend(itertools.islice(items, budget))
            elif isinstance(current, _COLLECTIONS):
                pending.extend(itertools.islice(current, budget))
        return True

    def _mask_assignments(self, text: str) -> str:
        """Mask the values written next to secret-looking names, found by those names."""
        assert self._pattern is not None
        pieces: list[str] = []
        kept = 0  # text[:kept] is in pieces
        # ASCII-only lower-casing keeps every position where it was (so a pattern with
        # a non-ASCII capital, such as "CONTRASEÑA", is found in lower case only).
        looked = 0  # text[:looked] needs no second look
        for word in self._pattern.finditer(text.translate(_ASCII_LOWER)):
            if word.start() < looked:
                continue
            rest = _REST_OF_NAME.match(text, word.end())  # always matches, maybe empty
            name_end = rest.end() if rest else word.end()
            looked = name_end  # another word in the same name finds the same value
            written = _WRITTEN_AFTER_NAME.match(text, name_end)
            if written is None or not _looks_like_a_secret(written["value"]):
                continue
            if written["spaced"] is not None and _is_code_or_prose(text, word.start(), written):
                continue
            value = written["value"]
            opening = len(value) - len(value.lstrip("bBrRuUfF"))  # b'...', f"..."
            quote = value[opening] if value[opening:][:1] in ("'", '"') else ""
            prefix = value[:opening] if quote else ""
            pieces += [text[kept : written.start("value")], prefix, quote, REDACTED, quote]
            kept = looked = written.end()
        return "".join([*pieces, text[kept:]]) if pieces else text

    def collect(
        self, values: Iterable[Any], secrets: list[str], *, shortest: int = MASKED_INSIDE_WORDS
    ) -> bool:
        """Remember what ``values`` hold under secret-looking keys or attribute names;
        return True when nothing was left unseen.

        For the locals of frames that are not traced: nothing is copied; the search goes
        breadth-first, looks at the names of a container's first few thousand fields and
        into its first 200 values, so a huge dict costs a bounded number of steps and
        leaves the others their turn. Values shorter than ``shortest`` are not
        remembered: deep in ordinary objects, ``author = "Smith"`` is more likely than a
        password.
        """
        if self._pattern is None:
            return True
        budget = _MOST_ITEMS_SEARCHED
        complete = True
        pending = deque((value, 0) for value in values)
        while pending:
            current, depth = pending.popleft()
            if type(current) in UNSCRUBBED_TYPES or isinstance(current, str | bytes):
                continue
            try:
                for index, (key, item) in enumerate(fields_of(current)):
                    budget -= 1
                    if budget < 0 or index >= _MOST_NAMES_PER_CONTAINER:
                        return False
                    name = name_of(key)
                    if name is not None and self.is_secret(name):
                        remember_secret(item, secrets, shortest=shortest)
                    elif type(item) in UNSCRUBBED_TYPES:
                        continue
                    elif depth < MAX_DEPTH and index < _MOST_ITEMS_PER_CONTAINER:
                        pending.append((item, depth + 1))
                    else:
                        complete = False
            except Exception:  # an exotic object is skipped: capture goes on
                complete = False
        return complete


class _TooBigToScrub(Exception):
    """Raised inside ``scrub`` when a value is too big to look at in full."""


#: What ``Redactor.scrub`` returns as it is, whatever the patterns: no text in it.
UNSCRUBBED_TYPES = frozenset({int, float, bool, type(None), complex})
# What ``scrub`` looks into item by item besides mappings (dict views included).
_COLLECTIONS = (list, tuple, set, frozenset, deque, KeysView, ValuesView, ItemsView)
_CONTAINERS = (Mapping, *_COLLECTIONS)
_REST_OF_NAME = re.compile(r"[\w-]*")
# After a secret-looking name: name='...', name: "...", "name": "...", '--name', '...'
# (a command line), name=value (no spaces: query strings, log lines, keyword arguments),
# name = value (an INI or .env file, ~/.aws/credentials) or name: value (a header, YAML),
# whatever the value. A quoted value may carry a b/f/r prefix. The last two, ``spaced``,
# are also how code and messages are written: ``_is_code_or_prose`` tells them apart.
_WRITTEN_AFTER_NAME = re.compile(
    r"(?:['\"]?\s*[:=]\s*(?=[bBrRuUfF]{0,2}['\"])|['\"],\s*(?=['\"])"
    r"|(?P<spaced>[ \t]*=(?!=)[ \t]+|[ \t]+=(?!=)[ \t]*|:[ \t]+)|=(?!=))"
    r"(?P<value>[bBrRuUfF]{0,2}(?:'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")"
    r"|[^\s&,;'\"()<>\[\]{}=]+)"
)
# Values after "name: " or "name = " that are code, not a secret: a type in an annotation
# (``password: str``), a constant, or an auth scheme already followed by its masked
# credential (``Authorization: Basic [redacted]``).
_NOT_A_VALUE = frozenset(
    {"str", "bytes", "int", "float", "bool", "object", "Any", "None", "True", "False"}
    | {"SecretStr", "SecretBytes", "Optional", "Union", "Basic", "Bearer", "Token", "Digest"}
)
# An exception's class before its message ("InvalidTokenError: Signature has expired"):
# the name of a kind of failure, not a field.
_FAILURE_CLASS_ENDINGS = ("Error", "Exception", "Warning", "Failed", "Failure", "Denied")
_ATTRIBUTE_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")  # self.token: code


def _is_code_or_prose(text: str, name_start: int, written: re.Match[str]) -> bool:
    """True when ``name = value`` or ``name: value`` is a line of code (an annotation, a
    call, an attribute) or an exception's class and message, not a value given."""
    value = written["value"]
    following = text[written.end() : written.end() + 1]
    if value in _NOT_A_VALUE or following in ("(", "[") or _ATTRIBUTE_PATH.fullmatch(value):
        return True
    if ":" not in written["spaced"]:
        return False
    name = text[name_start : written.start()]
    return name.endswith(_FAILURE_CLASS_ENDINGS) or text.startswith(" =", written.end())


_SMALL_NUMBER = re.compile(r"\d{1,5}")  # a count or a port (max_tokens=512), not a secret
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _looks_like_a_secret(value: str) -> bool:
    bare = value.strip("'\"")
    return bare not in ("", REDACTED) and not _SMALL_NUMBER.fullmatch(bare)


DEFAULT_REDACTOR = Redactor()
