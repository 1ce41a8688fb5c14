"""Which names look secret, and how their values are kept out of every report.

Secrets are found by name (a variable, key or parameter), by value (the environment's
secret-named variables, read once per run) and by shape (published credential formats).
Imports only ``saferepr``; capture applies it where a failure happens, so logs,
reports, JSON, emails and webhooks never hold the value.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import string
import types
import urllib.parse
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from processes.saferepr import safe_repr

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
_MOST_ITEMS_SEARCHED = 20_000  # per search: a frame may hold a huge dict or object
_MOST_NAMES_PER_CONTAINER = 5_000  # names are cheap to look at
_MOST_ITEMS_PER_CONTAINER = 200  # so that one huge container leaves the others their turn
_MOST_ITEMS_SCRUBBED = 20_000  # per result or argument; bigger ones are shown cut
_LONGEST_TEXT_SCRUBBED = 1_000_000
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
        if self._pattern is None or type(value) in _ATOMS:
            return value
        budget = [_MOST_ITEMS_SCRUBBED]
        try:
            return self._scrub(value, secrets, 0, budget)
        except Exception:  # too big, or exotic: what the views show, masked
            found: list[str] = []
            self.collect((value,), found, shortest=_SHORTEST_MASKED_VALUE)
            secrets.extend(found)
            return mask(self.mask_text(safe_repr(value)), found)

    def _scrub(self, value: Any, secrets: list[str], depth: int, budget: list[int]) -> Any:
        if type(value) in _ATOMS:
            return value
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooBigToScrub
        if isinstance(value, str):
            if len(value) > _LONGEST_TEXT_SCRUBBED:
                raise _TooBigToScrub
            return self.mask_text(value)
        if isinstance(value, Mapping | list | tuple):
            if depth >= _MAX_DEPTH:
                found: list[str] = []
                complete = self.collect((value,), found, shortest=_SHORTEST_MASKED_VALUE)
                clean = complete and not found and self._texts_are_clean(value)
                return value if clean else REDACTED  # fail closed
            if isinstance(value, Mapping):
                return self._scrub_fields(value.items(), value, secrets, depth, budget)
            if hasattr(type(value), "_fields"):  # a namedtuple: its fields have names
                fields = zip(type(value)._fields, value, strict=False)  # type: ignore[union-attr]
                return self._scrub_fields(fields, value, secrets, depth, budget)
            return self._scrub_items(value, secrets, depth, budget)
        if isinstance(value, bytes | bytearray | memoryview) or not _has_fields(value):
            return value
        found = []
        self.collect((value,), found, shortest=_SHORTEST_MASKED_VALUE)
        text = safe_repr(value)
        shown = mask(self.mask_text(text), found)
        if shown == text and not found:
            return value
        secrets.extend(found)
        return shown

    def _scrub_fields(
        self,
        fields: Iterable[tuple[Any, Any]],
        value: Any,
        secrets: list[str],
        depth: int,
        budget: list[int],
    ) -> Any:
        clean: dict[Any, Any] = {}
        changed = False
        for key, item in fields:
            name = _name_of(key)
            if name is not None and self.is_secret(name):
                remember_secret(item, secrets)
                clean[key] = REDACTED
                changed = True
            else:
                clean[key] = shown = self._scrub(item, secrets, depth + 1, budget)
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
            if type(arg) not in _ATOMS:
                break
        else:  # numbers only: the common case of results passed along
            return args
        scrubbed = [self.scrub(arg, []) for arg in args]
        if all(shown is arg for shown, arg in zip(scrubbed, args, strict=True)):
            return args
        return tuple(scrubbed)

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
        # Each pass only where it can find something: results can be megabytes of text.
        if "://" in text:
            text = _URL_PASSWORD.sub(_mask_url_password, text)
        if "asic " in text or "earer " in text or "oken " in text:  # [Bb]asic, [Bb]earer, ...
            text = _CREDENTIAL.sub(_mask_credential, text)
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
            elif isinstance(current, Mapping):
                items = itertools.chain.from_iterable(current.items())
                pending.extend(itertools.islice(items, budget))
            elif isinstance(current, list | tuple):
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
            value = written["value"]
            opening = len(value) - len(value.lstrip("bBrRuUfF"))  # b'...', f"..."
            quote = value[opening] if value[opening:][:1] in ("'", '"') else ""
            prefix = value[:opening] if quote else ""
            pieces += [text[kept : written.start("value")], prefix, quote, REDACTED, quote]
            kept = looked = written.end()
        return "".join([*pieces, text[kept:]]) if pieces else text

    def collect(
        self, values: Iterable[Any], secrets: list[str], *, shortest: int = _MASKED_INSIDE_WORDS
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
            if type(current) in _ATOMS or isinstance(current, str | bytes):
                continue
            try:
                for index, (key, item) in enumerate(_fields_of(current)):
                    budget -= 1
                    if budget < 0 or index >= _MOST_NAMES_PER_CONTAINER:
                        return False
                    name = _name_of(key)
                    if name is not None and self.is_secret(name):
                        remember_secret(item, secrets, shortest=shortest)
                    elif type(item) in _ATOMS:
                        continue
                    elif depth < _MAX_DEPTH and index < _MOST_ITEMS_PER_CONTAINER:
                        pending.append((item, depth + 1))
                    else:
                        complete = False
            except Exception:  # an exotic object is skipped: capture goes on
                complete = False
        return complete


def _name_of(key: Any) -> str | None:
    """A key as a name: a ``str``, or ``bytes`` as a Redis hash gives them."""
    if isinstance(key, str):
        return key
    if isinstance(key, bytes):
        return key.decode("latin-1")
    return None


class _TooBigToScrub(Exception):
    """Raised inside ``scrub`` when a value is too big to look at in full."""


def _fields_of(value: Any) -> Iterable[tuple[Any, Any]]:
    """The named parts of a dict or of a plain object; the items of a list or tuple."""
    if isinstance(value, Mapping):
        return value.items()
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):  # a namedtuple
        return zip(type(value)._fields, value, strict=False)  # type: ignore[attr-defined]
    if isinstance(value, list | tuple | set | frozenset):
        return ((None, item) for item in value)
    if isinstance(value, type | types.ModuleType | types.FunctionType):
        return ()  # their namespaces are code, not data
    if dataclasses.is_dataclass(value):
        return ((f.name, getattr(value, f.name, None)) for f in dataclasses.fields(value))
    return itertools.chain(_slots_of(value), _instance_dict_of(value))


def _has_fields(value: Any) -> bool:
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


_ATOMS = frozenset({int, float, bool, type(None), complex})
# scheme://user:password@host, the password up to the last "@" before the host (one
# written unencoded may hold "/" or "@"); a port followed by a path is no password.
_URL_PASSWORD = re.compile(r"(?P<head>://[^/\s:@\"',]*:)(?P<password>[^\s\"',?#]+)@(?=[\w\[])")
_CREDENTIAL = re.compile(
    r"\b(?P<scheme>[Bb]asic|[Bb]earer|[Tt]oken) (?P<credential>[\w.~+/=-]{8,})"
)
_REST_OF_NAME = re.compile(r"[\w-]*")
# After a secret-looking name: name='...', name: "...", "name": "...", '--name', '...'
# (a command line), name=value (no spaces: query strings, log lines, keyword arguments)
# or name: value (a header line). A quoted value may carry a b/f/r prefix.
_WRITTEN_AFTER_NAME = re.compile(
    r"(?:['\"]?\s*[:=]\s*(?=[bBrRuUfF]{0,2}['\"])|['\"],\s*(?=['\"])|=(?!=)|: (?=\S*\d))"
    r"(?P<value>[bBrRuUfF]{0,2}(?:'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")"
    r"|[^\s&,;'\"()<>\[\]{}=]+)"
)
_SMALL_NUMBER = re.compile(r"\d{1,5}")  # a count or a port (max_tokens=512), not a secret
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _mask_url_password(found: re.Match[str]) -> str:
    port, slash, _ = found["password"].partition("/")
    if slash and port.isdigit():  # host:8080/path/@scope: a port, not a password
        return found[0]
    return f"{found['head']}{REDACTED}@"


def _mask_credential(found: re.Match[str]) -> str:
    credential = found["credential"]
    if credential.isalpha() and credential[1:].islower():  # "Basic Authentication": prose
        return found[0]
    return f"{found['scheme']} {REDACTED}"


def _looks_like_a_secret(value: str) -> bool:
    bare = value.strip("'\"")
    return bare not in ("", REDACTED) and not _SMALL_NUMBER.fullmatch(bare)


def remember_secret(
    value: Any, secrets: list[str], depth: int = 0, *, shortest: int = _SHORTEST_MASKED_VALUE
) -> None:
    """Keep the text of ``value`` (or of what it holds) for masking wherever it reappears.

    Strings and bytes long enough to be told apart (``shortest``), integers of six digits
    or more (a PIN-like token), and the values inside dicts, lists, tuples and sets.
    """
    if isinstance(value, str):
        if len(value) >= shortest:
            secrets.extend(secret_forms(value))
    elif isinstance(value, bytes):
        if len(value) >= shortest:  # as text, as repr() shows it, and as hex
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
                remember_secret(item, secrets, depth + 1, shortest=shortest)


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


# -- credentials known by their shape ---------------------------------------------------


class CredentialShape(NamedTuple):
    """A kind of credential recognised by its published format, wherever it appears.

    ``pattern`` runs only on text holding one of ``hints``; its ``kept`` group (a
    vendor's public prefix, telling which kind of credential it was) stays readable.
    """

    name: str
    hints: tuple[str, ...]
    pattern: re.Pattern[str]
    source: str


def _token(prefix: str, width: int, body: str) -> re.Pattern[str]:
    """A token: a literal ``prefix`` (a regex ``width`` characters wide) that starts a
    word, then ``body``.

    The prefix comes first, so that the regex engine searches for it as fast as ``in``
    does; the look-behind after it checks that no letter or digit stands before it
    (a ``\\n`` written by ``repr`` may). Every quantifier in ``body`` is possessive or
    bounded: no match attempt goes back over what it consumed, and attempts start only
    where a word starts, so a scan is linear in the length of the text.
    """
    before = f"(?:(?<![A-Za-z0-9_].{{{width}}})|(?<=\\\\[nrt].{{{width}}}))"
    return re.compile(f"(?P<kept>{prefix}){before}{body}")


#: The credentials masked by their shape (SPEC §5), with the documents that publish each
#: format. A token keeps its vendor's prefix (``sk_live_[redacted]``), so a reader can
#: tell which credential leaked and rotate it.
CREDENTIAL_SHAPES: tuple[CredentialShape, ...] = (
    CredentialShape(
        "Stripe secret or restricted key",
        ("k_live_", "k_test_"),
        _token("[sr]k_(?:live|test)_", 8, "[0-9A-Za-z]{16,}+"),
        "Stripe, API keys: https://docs.stripe.com/keys",
    ),
    CredentialShape(
        "GitHub token (personal, OAuth, user, server, refresh)",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        _token("gh[pousr]_", 4, "[0-9A-Za-z]{36}(?![0-9A-Za-z])"),
        "GitHub, Behind GitHub's new authentication token formats: "
        "https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/",
    ),
    CredentialShape(
        "GitHub fine-grained personal access token",
        ("github_pat_",),
        _token("github_pat_", 11, "[0-9A-Za-z_]{22,}+"),
        "GitHub, Managing your personal access tokens: https://docs.github.com/en/"
        "authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens",
    ),
    CredentialShape(
        "Slack token (bot, user, app, refresh, configuration)",
        ("xox",),
        _token("xox[abpors]-", 5, "[0-9A-Za-z-]{10,}+"),
        "Slack, Token types: https://api.slack.com/authentication/token-types",
    ),
    CredentialShape(
        "AWS access key id (long-term AKIA, temporary ASIA)",
        ("AKIA", "ASIA"),
        _token("A[KS]IA", 4, "[0-9A-Z]{16}(?![0-9A-Za-z])"),
        "AWS, IAM identifiers, unique ID prefixes: https://docs.aws.amazon.com/IAM/latest/"
        "UserGuide/reference_identifiers.html#identifiers-unique-ids",
    ),
    CredentialShape(
        "Google API key",
        ("AIza",),
        _token("AIza", 4, "[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
        "Google Cloud, Manage API keys: https://cloud.google.com/docs/authentication/api-keys",
    ),
    CredentialShape(
        "JSON Web Token (header.payload.signature, the header a JSON object)",
        ("eyJ",),
        # The header is base64url of '{"...': it starts "eyJ". Nothing of it is kept.
        re.compile(
            "(?P<kept>)eyJ(?:(?<![A-Za-z0-9_-]eyJ)|(?<=\\\\[nrt]eyJ))"
            r"[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]*+"
        ),
        "RFC 7519 (JWT) section 3 and RFC 7515 (JWS) section 7.1: "
        "https://www.rfc-editor.org/rfc/rfc7519#section-3",
    ),
    CredentialShape(
        "PEM or OpenPGP private-key block",
        ("PRIVATE KEY",),
        # BEGIN line, then the body up to the next "-----" (base64, headers such as
        # "Proc-Type: 4,ENCRYPTED", line breaks as they are or as repr() and JSON write
        # them), then the END line if it is there: a block cut short is hidden too.
        re.compile(
            r"(?P<kept>-----BEGIN (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)?-----)"
            r"(?:[A-Za-z0-9+/=\s:,.\\]|-(?!----))*+"
            r"(?P<end>-----END (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)?-----)?+"
        ),
        "RFC 7468 (textual encodings of PKIX, PKCS and CMS structures) sections 2 and 10, "
        "RFC 4880 (OpenPGP) section 6.2: https://www.rfc-editor.org/rfc/rfc7468",
    ),
)


def _mask_shape(found: re.Match[str]) -> str:
    return f"{found['kept']}{REDACTED}{found.groupdict().get('end') or ''}"


def mask_credential_shapes(text: str) -> str:
    """Mask every token of ``CREDENTIAL_SHAPES`` in ``text``; ``text`` itself when none.

    Each pattern runs only on text holding one of its hints, and one search for all the
    hints tells that ordinary text holds none: it costs a single scan.
    """
    if _SHAPE_HINTS.search(text) is None:
        return text
    for shape in CREDENTIAL_SHAPES:
        for hint in shape.hints:
            if hint in text:
                masked, count = shape.pattern.subn(_mask_shape, text)
                if count:
                    text = masked
                break
    return text


_SHAPE_HINTS = re.compile(
    "|".join(re.escape(hint) for shape in CREDENTIAL_SHAPES for hint in shape.hints)
)


# -- secrets known by their value: the environment's ------------------------------------

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
        self._long = tuple(f for f in self.forms if len(f) >= _MASKED_INSIDE_WORDS)
        self._short = tuple(
            (f, re.compile(rf"(?<!\w){re.escape(f)}(?!\w)"))
            for f in self.forms
            if len(f) < _MASKED_INSIDE_WORDS
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
            name.upper().endswith(SECRET_ENVIRONMENT_ENDINGS) or DEFAULT_REDACTOR.is_secret(name)
        )
        if len(_environment_names) < _MOST_NAMES_REMEMBERED:
            _environment_names[name] = verdict
    return verdict


_environment_names: dict[str, bool] = {}  # an environment's names change rarely
_MOST_NAMES_REMEMBERED = 10_000


def _is_secret_environment_value(value: str) -> bool:
    bare = value.strip()
    if len(bare) < _SHORTEST_MASKED_VALUE or bare.lower() in _SETTING_WORDS:
        return False
    return not (bare.isdigit() and len(bare) < len(str(_SMALLEST_MASKED_INT)))


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

DEFAULT_REDACTOR = Redactor()
