"""Secrets known by their value: the environment's secret-named variables, read once
per run (``read_environment``) and masked in every form they take (``KnownSecrets``).

Imports ``redaction.masking`` and ``redaction.names``.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from processes.redaction.masking import (
    MASKED_INSIDE_WORDS,
    REDACTED,
    SHORTEST_MASKED_VALUE,
    SMALLEST_MASKED_INT,
    secret_forms,
)
from processes.redaction.names import is_default_secret_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "SECRET_ENVIRONMENT_ENDINGS",
    "KnownSecrets",
    "environment_secrets",
    "is_secret_environment_name",
    "read_environment",
]

#: Names of environment variables that hold secrets, besides those the default patterns
#: match: the endings ``*_KEY``, ``*_DSN`` (a connection string, password included) and
#: ``*_PW``.
SECRET_ENVIRONMENT_ENDINGS: tuple[str, ...] = ("_KEY", "_DSN", "_PW")
# Secret-looking names that by convention hold no secret: the working directory (PWD is
# in every traceback's paths), desktop-session settings, a program or socket that asks
# for one, and a place where one is kept (POSTGRES_PASSWORD_FILE names a file).
_NOT_SECRET_ENVIRONMENT = re.compile(
    r"(?:OLD)?PWD|XDG_SESSION_\w*|DESKTOP_SESSION|SESSION_MANAGER|\w*_ASKPASS\w*"
    r"|SSH_AUTH_SOCK|(?:\w*_)?AUTHOR(?:_\w*)?|TOKENIZERS_PARALLELISM|\w*_(?:FILE|PATH|DIR)",
    re.IGNORECASE,
)
# Values that are settings, not secrets: masking "false" or "3600" would garble reports.
_SETTING_WORDS = frozenset(
    {"true", "false", "yes", "no", "on", "off", "none", "null", "enabled", "disabled"}
)


class KnownSecrets:
    """Secret values known before anything failed, masked in every form they can take."""

    __slots__ = ("_any", "_long", "_short", "forms", "values")

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values = tuple(values)
        forms: list[str] = []
        for value in self.values:
            forms.extend(secret_forms(value))
        #: Longest first, so that a value is masked before a part of it is.
        self.forms = tuple(sorted(set(forms), key=len, reverse=True))
        self._long = tuple(f for f in self.forms if len(f) >= MASKED_INSIDE_WORDS)
        self._short = tuple(
            (f, re.compile(rf"(?<!\w){re.escape(f)}(?!\w)"))
            for f in self.forms
            if len(f) < MASKED_INSIDE_WORDS
        )
        # One search tells a short text (most results and arguments) holds none of them.
        self._any = re.compile("|".join(map(re.escape, self.forms))) if self.forms else None

    def __bool__(self) -> bool:
        return bool(self.forms)

    def mask(self, text: str) -> str:
        """Return ``text`` with every form of every value masked; ``text`` itself if none."""
        if self._any is None:
            return text
        if len(text) < _LONGEST_TEXT_SEARCHED_AT_ONCE and self._any.search(text) is None:
            return text
        for form in self._long:
            if form in text:
                text = text.replace(form, REDACTED)
        for form, word in self._short:
            if form in text:
                masked, count = word.subn(REDACTED, text)
                if count:
                    text = masked
        return text


# Past this length, one search for many values is slower than one ``in`` per value.
_LONGEST_TEXT_SEARCHED_AT_ONCE = 4_096


def is_secret_environment_name(name: str) -> bool:
    """True for an environment variable whose value is a secret, judged by its name."""
    verdict = _environment_names.get(name)
    if verdict is None:
        verdict = not _NOT_SECRET_ENVIRONMENT.fullmatch(name) and (
            name.upper().endswith(SECRET_ENVIRONMENT_ENDINGS) or is_default_secret_name(name)
        )
        if len(_environment_names) < _MOST_NAMES_REMEMBERED:
            _environment_names[name] = verdict
    return verdict


_environment_names: dict[str, bool] = {}  # an environment's names change rarely
_MOST_NAMES_REMEMBERED = 10_000


def _is_secret_environment_value(value: str) -> bool:
    bare = value.strip()
    if len(bare) < SHORTEST_MASKED_VALUE or bare.lower() in _SETTING_WORDS:
        return False
    return not (bare.isdigit() and len(bare) < len(str(SMALLEST_MASKED_INT)))


def read_environment(environ: Mapping[str, str] | None = None) -> KnownSecrets:
    """Read the secret values of the environment (``os.environ`` by default) for the
    run that starts now, and return them.

    Called once per run, not per task: a value the script set before ``run()`` counts,
    and a failure costs no look at the environment. A worker process that never saw a
    run reads its own environment at its first failure (``environment_secrets``).
    """
    global _environment
    if environ is None:
        environ = os.environ
    # A value written with a newline at its end (``$(cat key)``) is masked without it.
    values = tuple(
        dict.fromkeys(
            value.strip()
            for name, value in environ.items()
            if is_secret_environment_name(name) and _is_secret_environment_value(value)
        )
    )
    known = _environment
    if known is None or known.values != values:  # the same values: the same masks
        known = _environment = KnownSecrets(values)
    return known


def environment_secrets() -> KnownSecrets:
    """The environment's secret values, as read at the start of the latest run."""
    known = _environment
    return known if known is not None else read_environment()


_environment: KnownSecrets | None = None  # never read in this process yet
