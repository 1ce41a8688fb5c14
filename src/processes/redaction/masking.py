"""Masking values already known to be secret, shared by every strategy: the placeholder,
the forms a value takes in other text, and replacing them wherever they appear.

Imports nothing from the package.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from collections import deque
from collections.abc import ItemsView, KeysView, Mapping, ValuesView
from typing import Any

__all__ = [
    "MASKED_INSIDE_WORDS",
    "MAX_DEPTH",
    "REDACTED",
    "SHORTEST_MASKED_VALUE",
    "SMALLEST_MASKED_INT",
    "mask",
    "remember_secret",
    "secret_forms",
]

#: What a report shows in place of a hidden value.
REDACTED = "[redacted]"

#: How deep into nested containers a value is searched or remembered.
MAX_DEPTH = 5
SHORTEST_MASKED_VALUE = 4  # masking "ab" inside every traceback would garble it
MASKED_INSIDE_WORDS = 8  # a shorter value ("open") is masked only where it is a word
SMALLEST_MASKED_INT = 100_000  # line numbers and counts are smaller
_LONGEST_MASKED_INT_BITS = 10_000  # str() of longer ints is refused by Python


def remember_secret(
    value: Any, secrets: list[str], depth: int = 0, *, shortest: int = SHORTEST_MASKED_VALUE
) -> None:
    """Keep the text of ``value`` (or of what it holds) for masking wherever it reappears.

    Strings and bytes long enough to be told apart (``shortest``), integers of six digits
    or more (a PIN-like token), and the values inside dicts, lists, tuples and sets.
    """
    if isinstance(value, str):
        if len(value) >= shortest:
            secrets.extend(secret_forms(value))
    elif isinstance(value, bytes | bytearray):
        if len(value) >= shortest:  # as text, as repr() shows it, and as hex
            secrets.extend(secret_forms(value.decode(errors="replace")))
            secrets.extend((repr(bytes(value))[2:-1], value.hex()))
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= SMALLEST_MASKED_INT and value.bit_length() < _LONGEST_MASKED_INT_BITS:
            secrets.append(str(value))
    elif isinstance(value, uuid.UUID):  # a session id: as str() and as .hex show it
        secrets.extend((str(value), value.hex))
    elif depth < MAX_DEPTH:
        if isinstance(value, Mapping):
            value = value.values()
        if isinstance(value, ItemsView):
            value = [item for pair in value for item in pair]
        if isinstance(value, list | tuple | set | frozenset | deque | KeysView | ValuesView):
            for item in value:
                remember_secret(item, secrets, depth + 1, shortest=shortest)


def secret_forms(text: str) -> list[str]:
    """The ways ``text`` can appear in other text: as is, escaped by repr() or JSON, as
    the repr() of its UTF-8 bytes, and percent-encoded as in a URL (by ``quote()`` and
    ``quote_plus()``, with their defaults and with nothing kept safe)."""
    escaped = (
        repr(text)[1:-1],
        json.dumps(text)[1:-1],
        repr(text.encode(errors="surrogatepass"))[2:-1],
        urllib.parse.quote(text, safe=""),
        urllib.parse.quote(text),  # its default keeps "/" as it is
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
        if len(secret) >= MASKED_INSIDE_WORDS:
            text = text.replace(secret, REDACTED)
        else:
            text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", REDACTED, text)
    return text
