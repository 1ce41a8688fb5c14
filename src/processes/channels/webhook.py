"""POST the report as signed JSON: the config, the HTTP transport and the channel.

The chat channels (``channels.chat``) reuse the transport, so every HTTP channel shares
its URL rules, retries and secrecy. Imports ``processes.report`` only for type checking.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.utils
import http.client
import random
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any

from processes.channels.base import ReportChannel
from processes.checks import check_choice, check_count, check_seconds, check_text, check_type
from processes.content import ReportContent
from processes.errors import ProcessesError
from processes.redaction import REDACTED, mask, remember_secret
from processes.rendering.findings import render_finding_webhook
from processes.rendering.webhook import (
    MAX_BODY_BYTES,
    fit_payload,
    render_webhook_payload,
    serialise_payload,
)
from processes.signing import HMAC_SHA256, SCHEMES, STANDARD_WEBHOOKS, sign_payload
from processes.signing import standard_webhooks_key as _standard_webhooks_key

if TYPE_CHECKING:
    from processes.report import Finding, ProcessExecutionReport

__all__ = [
    "HttpTransport",
    "WebhookChannel",
    "WebhookConfig",
    "WebhookDeliveryError",
    "mask_payload",
    "redact_url",
    "url_secrets",
]

#: A server's ``Retry-After`` is honoured up to this many seconds, never longer.
MAX_RETRY_AFTER_SECONDS = 60.0
#: Backoff before retry n (from 1) is BACKOFF_BASE * 2**(n-1), capped, with jitter.
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0

_ALLOWED_SCHEMES = ("http", "https")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_EXCERPT_BYTES = 2048
# Header values masked wherever they could surface; other headers ("X-Team: data") are not.
_SENSITIVE_HEADER = re.compile(r"auth|token|key|secret|cookie|signature|pass|session", re.I)
_EXCERPT_CHARS = 200
# "Bearer tok_...", "Basic dXNlcjpwYXNz", "Token abc", "Bot ...": RFC 9110 §11.4's scheme
# and one credential.
_SCHEME_AND_CREDENTIAL = re.compile(r"(?P<scheme>[A-Za-z][\w.+-]*)[ \t]+(?P<credential>\S+)")
# Shorter path segments ("hooks", "v1", "services") are routing, not tokens.
_SHORTEST_SECRET_SEGMENT = 8
_LONGEST_PLAIN_WORD = 16
# A query parameter named like these holds a secret whatever its value looks like (R2's
# names, plus the "key" and "sig" that API keys and signed URLs use).
_SECRET_PARAMETER = re.compile(
    r"pass|pwd|secret|token|key|auth|credential|session|cookie|csrf|xsrf|signature|bearer"
    r"|(?:^|[-_.])sig(?:$|[-_.])",
    re.I,
)
# ...except a flag: "?auth=true" names no secret, and "true" is in every other report.
_FLAG_VALUES = frozenset({"", "true", "false", "yes", "no", "on", "off", "none", "null"})


class WebhookDeliveryError(ProcessesError):
    """An HTTP endpoint did not accept a report.

    The message names the host only, never the URL's path or query nor any secret.
    ``status`` is the last HTTP status (None when no response came), ``attempts`` how many
    requests were made.
    """

    def __init__(self, message: str, *, status: int | None, attempts: int) -> None:
        self.status = status
        self.attempts = attempts
        super().__init__(message)


# -- URLs ---------------------------------------------------------------------------------


def redact_url(url: str) -> str:
    """Return ``scheme://host[:port]/…``: webhook URLs carry their token in the path."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    scheme = parts.scheme.lower() or "?"
    return f"{scheme}://{netloc}/…"


def check_url(url: object, *, what: str = "webhook URL") -> str:
    """Return ``url`` if an HTTP channel may POST to it.

    Raises:
        TypeError: not a str.
        ValueError: not ``http``/``https`` with a host, or credentials or control
            characters in it. The message shows at most the scheme and host.
    """
    if not isinstance(url, str):
        raise TypeError(f"{what} must be a str, got {type(url).__name__}")
    if _CONTROL.search(url):
        raise ValueError(f"{what} must not contain spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018  (parsing the port is what validates it)
    except ValueError:
        raise ValueError(f"{what} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _ALLOWED_SCHEMES:
        raise ValueError(f"{what} must use http or https, got scheme {scheme or '(none)'!r}")
    if not parts.hostname:
        raise ValueError(f"{what} must name a host, e.g. https://hooks.example.com/…")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            f"{what} must not hold credentials ({redact_url(url)}); send them in headers"
        )
    return url


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that must never appear in a message.

    The whole URL, each path segment or query value that looks like a token, as written
    and decoded, and the path, query or fragment that holds one: an error page that
    echoes ``token=...`` must not carry it into a warning. A token is 16 characters or
    more, or 8 or more mixing letters and digits; routing words ("services", "webhooks",
    "api") and plain values ("true", "json") are not, or every report showing them would
    be garbled when masked. A query value whose name looks secret (``api_key=``,
    ``sig=``, ``token=``) is one whatever its shape, unless it is a flag such as "true".
    """
    parts = urllib.parse.urlsplit(url)
    segments = [
        (segment, urllib.parse.unquote(segment), False) for segment in parts.path.split("/")
    ]
    found = [url]
    for section, pieces in (
        (parts.path, segments),
        (parts.query, _query_values(parts.query)),
        (parts.fragment, _query_values(parts.fragment)),
    ):
        tokens: list[str] = []
        for written, decoded, named in pieces:
            named_secret = named and decoded.lower() not in _FLAG_VALUES
            if named_secret or _looks_like_token(written) or _looks_like_token(decoded):
                tokens += [written, decoded]
        if tokens:
            # The section whole too, as a server may echo it: "/T0K3N/B4TCH".
            found += [section, *tokens]
    return [item for item in dict.fromkeys(found) if item]


def _looks_like_token(text: str) -> bool:
    if len(text) >= _LONGEST_PLAIN_WORD:
        return True
    return (
        len(text) >= _SHORTEST_SECRET_SEGMENT
        and any(char.isalpha() for char in text)
        and any(char.isdigit() for char in text)
    )


def _query_values(query: str) -> list[tuple[str, str, bool]]:
    """Each pair's value as written and decoded, and whether its name looks secret."""
    values = []
    for pair in re.split(r"[&;]", query):
        name, equals, value = pair.partition("=")
        if not equals:  # "?AbCd...": a bare value, judged by its shape alone
            name, value = "", pair
        named = bool(name) and _SECRET_PARAMETER.search(urllib.parse.unquote_plus(name))
        values.append((value, urllib.parse.unquote_plus(value), bool(named)))
    return values


def _header_secrets(value: str) -> list[str]:
    """The secrets in a sensitive header's value: the value whole and its credential.

    After an auth scheme word ("Bearer tok_...", "Basic ...", "Token ...") the credential
    alone, as a server that refuses it may echo just that; for Basic also the decoded
    ``user:password`` and the password.
    """
    found = [value]
    written = _SCHEME_AND_CREDENTIAL.fullmatch(value.strip())
    if written is None:
        return found
    credential = written["credential"]
    found.append(credential)
    if written["scheme"].lower() == "basic":
        try:
            decoded = base64.b64decode(credential, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return found
        found.append(decoded)
        _, colon, password = decoded.partition(":")
        if colon:
            found.append(password)
    return found


def mask_payload(value: Any, secrets: Iterable[str]) -> Any:
    """Return ``value`` with every secret masked in its keys and strings, nested included.

    Values too short to tell apart from ordinary words are left alone, as redaction does.
    """
    hidden: list[str] = []
    for secret in secrets:
        remember_secret(secret, hidden)
    if not hidden:
        return value

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return mask(item, hidden)
        if isinstance(item, Mapping):
            return {walk(key): walk(val) for key, val in item.items()}
        if isinstance(item, list | tuple):
            return [walk(val) for val in item]
        return item

    return walk(value)


# -- transport ----------------------------------------------------------------------------


class _Watchdog:
    """Ends an attempt's connections once its time is up, whatever the server sends.

    A socket timeout bounds each read, so a server answering one byte at a time could hold
    an attempt for ever. The watchdog shuts the attempt's sockets down at its deadline,
    which wakes any read or write blocked on them; ``expired`` then says why it failed.
    It shuts down its own duplicate of each socket, so a socket closed meanwhile (and its
    descriptor reused) is never touched.
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._done = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self._done:
                return
            try:
                duplicate = sock.dup()
            except OSError:
                return
            self._sockets.append(duplicate)
            if self.expired:
                self._shut(duplicate)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for duplicate in self._sockets:
                self._shut(duplicate)

    @staticmethod
    def _shut(duplicate: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed by the peer: nothing to wake
            duplicate.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._done = True
            for duplicate in self._sockets:
                duplicate.close()
            self._sockets.clear()


def _watched(
    base: type[http.client.HTTPConnection], watchdog: _Watchdog
) -> Callable[..., http.client.HTTPConnection]:
    """A connection factory for ``do_open`` whose sockets ``watchdog`` can end."""

    def create_connection(*args: Any, **kwargs: Any) -> socket.socket:
        sock = socket.create_connection(*args, **kwargs)
        watchdog.watch(sock)
        return sock

    def connection(*args: Any, **kwargs: Any) -> http.client.HTTPConnection:
        made = base(*args, **kwargs)
        # http.client keeps this hook so that the raw socket, made before any TLS
        # handshake or proxy tunnel, can be replaced: the watchdog sees every byte.
        made._create_connection = create_connection  # type: ignore[attr-defined]
        return made

    return connection


class _WatchedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(http.client.HTTPConnection, self._watchdog), req)


class _WatchedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__(context=ssl.create_default_context())
        self._watchdog = watchdog

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            _watched(http.client.HTTPSConnection, self._watchdog),
            req,
            context=self._context,  # type: ignore[attr-defined]
        )


def _opener(watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    # Not build_opener(): its defaults add file:, ftp: and data: handlers and follow
    # redirects (turning a POST into a GET that "succeeds"). Without HTTPErrorProcessor
    # every response comes back as it is, redirects included, and is judged here. The
    # ProxyHandler honours HTTP(S)_PROXY and NO_PROXY, as urlopen() does.
    opener = urllib.request.OpenerDirector()
    opener.add_handler(urllib.request.ProxyHandler())
    opener.add_handler(_WatchedHTTPHandler(watchdog))
    opener.add_handler(_WatchedHTTPSHandler(watchdog))
    return opener


def _is_retryable_status(status: int) -> bool:
    return status in (408, 429) or 500 <= status <= 599


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Parse ``Retry-After`` (delay in seconds or an HTTP-date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def _describe(exc: BaseException, timeout_seconds: float) -> str:
    reason: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout_seconds:g} s"
    if isinstance(reason, BaseException):
        detail = str(reason)
        return f"{type(reason).__name__}: {detail}" if detail else type(reason).__name__
    return str(reason)


def _is_transient(exc: BaseException) -> bool:
    reason: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ssl.SSLError | ssl.CertificateError):
        return False  # a certificate that fails once fails every time
    return isinstance(reason, OSError | http.client.HTTPException)


@dataclass(frozen=True, slots=True)
class HttpTransport:
    """POST bytes with a timeout and bounded retries; sleep, clock and jitter are injected.

    Retries follow connection errors, timeouts, 408, 429 and 5xx, after exponential
    backoff with jitter or the server's ``Retry-After`` (capped). Any other non-2xx fails
    at once, and a redirect is a failure that is never followed. ``timeout_seconds``
    bounds each attempt as a whole, so ``post`` returns or raises within
    ``(retries + 1) * timeout_seconds + retries * MAX_RETRY_AFTER_SECONDS`` seconds.
    """

    timeout_seconds: float = 5
    retries: int = 3
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    jitter: Callable[[], float] = random.random

    def backoff_seconds(self, retry: int) -> float:
        """Return the pause before retry number ``retry`` (1 for the first)."""
        delay = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** (retry - 1))
        return delay * (0.5 + self.jitter() / 2)

    def _exchange(
        self, request: urllib.request.Request
    ) -> tuple[int, str, str | None, str | None, bytes]:
        """One attempt: the status, reason, Retry-After, Location and an error's excerpt.

        ``timeout_seconds`` bounds the attempt as a whole (connecting, TLS, sending, the
        answer), not each socket read, so a server trickling bytes cannot stretch it: when
        the time is up the attempt raises ``TimeoutError``.
        """
        watchdog = _Watchdog(self.timeout_seconds)
        try:
            with _opener(watchdog).open(request, timeout=self.timeout_seconds) as response:
                status: int = response.status
                # A 2xx status is the verdict: a body that stalls or breaks off after it
                # must not turn a delivered report into a failure and a repost.
                delivered = 200 <= status <= 299
                excerpt = b"" if delivered else response.read(_EXCERPT_BYTES)
                if watchdog.expired and not delivered:
                    raise TimeoutError  # cut off mid-answer: its end never came
                return (
                    status,
                    response.reason or "",
                    response.headers.get("Retry-After"),
                    response.headers.get("Location"),
                    excerpt,
                )
        except Exception:
            if watchdog.expired:  # what a connection cut off raised says nothing of why
                raise TimeoutError from None
            raise
        finally:
            watchdog.finish()  # before any pause, so its timer never outlives the attempt

    def post(
        self,
        url: str,
        body: bytes,
        headers_for: Callable[[int], Mapping[str, str]],
        *,
        secrets: Iterable[str] = (),
    ) -> int:
        """POST ``body`` to ``url``; return the 2xx status.

        ``headers_for(timestamp)`` gives each attempt's headers, so a signature can carry
        a fresh timestamp while the body stays the same bytes.

        Raises:
            WebhookDeliveryError: the endpoint never accepted the body.
        """
        where = redact_url(url)
        hidden: list[str] = []
        for secret in [*url_secrets(url), *secrets]:
            remember_secret(secret, hidden)
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            headers = {"Content-Type": "application/json", "User-Agent": "processes"}
            headers.update(headers_for(int(self.clock())))
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            try:
                status, reason, retry_after, location, excerpt = self._exchange(request)
            except Exception as exc:  # any failure must leave here with a clean message
                problem = mask(_describe(exc, self.timeout_seconds), hidden)
                if not _is_transient(exc) or attempt == attempts:
                    raise WebhookDeliveryError(
                        f"POST {where} failed after {attempt} attempt(s): {problem}",
                        status=None,
                        attempts=attempt,
                    ) from None
                self.sleep(self.backoff_seconds(attempt))
                continue
            if 200 <= status <= 299:
                return status
            # The reason phrase and body come from the server and may echo the URL.
            answer = mask(f"HTTP {status} {reason}".strip(), hidden)
            if 300 <= status <= 399:
                target = redact_url(urllib.parse.urljoin(url, location)) if location else "nowhere"
                raise WebhookDeliveryError(
                    f"POST {where} answered {answer}, a redirect to {target} that was not "
                    "followed: configure the final URL",
                    status=status,
                    attempts=attempt,
                )
            if _is_retryable_status(status) and attempt < attempts:
                wait = retry_after_seconds(retry_after, self.clock())
                if wait is None:
                    wait = self.backoff_seconds(attempt)
                self.sleep(min(wait, MAX_RETRY_AFTER_SECONDS))
                continue
            # Mask before cutting, so that no cut can leave part of a secret unmasked.
            said = mask(" ".join(excerpt.decode("utf-8", "replace").split()), hidden)
            detail = f": {said[:_EXCERPT_CHARS]}" if said else ""
            raise WebhookDeliveryError(
                f"POST {where} failed after {attempt} attempt(s): {answer}{detail}",
                status=status,
                attempts=attempt,
            )
        raise AssertionError("unreachable: the last attempt returns or raises")


# -- the webhook channel ------------------------------------------------------------------


def _copy_headers(headers: object) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a mapping of str to str, got {type(headers).__name__}")
    copied: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("headers must be a mapping of str to str")
        if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
            raise ValueError(f"header name {name!r} is not a valid HTTP token")
        if re.search(r"[\x00-\x08\x0a-\x1f\x7f]", value):
            raise ValueError(f"header {name!r} must not contain CR, LF or control characters")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"header {name!r} must be latin-1 text") from None
        copied[name] = value
    return copied


@dataclass(frozen=True, init=False, eq=True)
class WebhookConfig:
    """Where and how a ``WebhookChannel`` POSTs the report.

    ``secret`` signs each request: by default an ``X-Signature-SHA256`` header holding the
    hex HMAC-SHA256 of the body (what v7 receivers check); with
    ``signing="standard-webhooks"`` the secret is ``whsec_<base64>`` and the request
    carries ``webhook-id``/``webhook-timestamp``/``webhook-signature``. ``nest_under="k"``
    moves the report's fields under ``"k"``; ``extra_payload`` keys stay top-level and win
    on a collision. ``retries`` bounds the retries after the first attempt, and
    ``timeout`` each attempt as a whole (not each read from the socket).

    Examples:
        >>> WebhookConfig("https://hooks.example.com/ci", secret="s3cr3t", nest_under="report")

    The repr shows neither the URL's path nor the secret nor header values.
    """

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 5
    secret: str | None = None
    extra_payload: Mapping[str, Any] = field(default_factory=dict)
    nest_under: str | None = None
    signing: str = HMAC_SHA256
    retries: int = 3

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5,
        secret: str | None = None,
        extra_payload: Mapping[str, Any] | None = None,
        nest_under: str | None = None,
        *,
        signing: str = HMAC_SHA256,
        retries: int = 3,
    ) -> None:
        owner = "WebhookConfig"
        check_url(url)
        check_seconds("timeout", timeout, owner=owner)
        check_text("secret", secret, owner=owner, allow_none=True, secret=True)
        extra = {} if extra_payload is None else extra_payload
        if not isinstance(extra, Mapping) or not all(isinstance(k, str) for k in extra):
            raise TypeError(f"{owner} extra_payload must be a mapping with str keys")
        check_type("nest_under", nest_under, str, owner=owner, allow_none=True)
        check_choice("signing", signing, SCHEMES, owner=owner)
        if signing == STANDARD_WEBHOOKS and secret is not None:
            _standard_webhooks_key(secret)
        check_count("retries", retries, owner=owner)
        set_ = object.__setattr__
        set_(self, "url", url)
        set_(self, "headers", _copy_headers({} if headers is None else headers))
        set_(self, "timeout", timeout)
        set_(self, "secret", secret)
        set_(self, "extra_payload", dict(extra))
        set_(self, "nest_under", nest_under)
        set_(self, "signing", signing)
        set_(self, "retries", retries)

    def __repr__(self) -> str:
        headers = {name: REDACTED for name in self.headers}
        secret = REDACTED if self.secret is not None else None
        return (
            f"WebhookConfig(url={redact_url(self.url)!r}, headers={headers!r}, "
            f"timeout={self.timeout!r}, secret={secret!r}, "
            f"extra_payload={self.extra_payload!r}, nest_under={self.nest_under!r}, "
            f"signing={self.signing!r}, retries={self.retries!r})"
        )

    def hidden_values(self) -> list[str]:
        """Everything this config holds that must never reach a message or a payload."""
        hidden = url_secrets(self.url)
        for name, value in self.headers.items():
            if _SENSITIVE_HEADER.search(name):
                hidden += _header_secrets(value)
        if self.secret:
            # "whsec_" is only a label: the base64 after it signs just as well on its own.
            hidden += dict.fromkeys([self.secret, self.secret.removeprefix("whsec_")])
        return hidden


class WebhookChannel(ReportChannel):
    """POST the report as JSON, signed when the config holds a secret.

    Every request carries a ``webhook-id`` that stays the same across retries, so a
    receiver can drop duplicates. ``sleep`` and ``clock`` are injectable for tests.
    """

    def __init__(
        self,
        webhook_config: WebhookConfig,
        content: ReportContent | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        owner = "WebhookChannel"
        # The value is not shown: a URL passed here by mistake is itself a secret.
        check_type("webhook_config", webhook_config, WebhookConfig, owner=owner, secret=True)
        check_type("content", content, ReportContent, owner=owner, allow_none=True)
        self.config = webhook_config
        self.content = content or ReportContent()
        self._transport = HttpTransport(
            timeout_seconds=webhook_config.timeout,
            retries=webhook_config.retries,
            sleep=sleep,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"WebhookChannel({self.config!r}, content={self.content!r})"

    def render(self, report: ProcessExecutionReport, *, errors_only: bool = False) -> bytes:
        """Return the exact body ``send_report`` would POST (useful to preview offline)."""
        payload = render_webhook_payload(
            report,
            content=self.content,
            errors_only=errors_only,
            nest_under=self.config.nest_under,
            extra_payload=self.config.extra_payload,
        )
        masked = mask_payload(payload, self.config.hidden_values())
        body = serialise_payload(masked)
        if len(body) > MAX_BODY_BYTES:  # cut after masking: what is measured is what is sent
            body = serialise_payload(fit_payload(masked, nest_under=self.config.nest_under))
        return body

    def secret_values(self) -> list[str]:
        return self.config.hidden_values()

    def render_finding(self, finding: Finding) -> bytes:
        """Return the exact body ``send_finding`` would POST: ``{"kind": "finding", ...}``."""
        payload = render_finding_webhook(
            finding, nest_under=self.config.nest_under, extra_payload=self.config.extra_payload
        )
        return serialise_payload(mask_payload(payload, self.config.hidden_values()))

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        self._post(self.render(report, errors_only=errors_only))

    def send_finding(self, finding: Finding) -> None:
        """POST a finding of the watch (§14), signed as a report is."""
        self._post(self.render_finding(finding))

    def _post(self, body: bytes) -> None:
        config = self.config
        webhook_id = f"msg_{uuid.uuid4().hex}"

        def headers_for(timestamp: int) -> dict[str, str]:
            headers = dict(config.headers)
            headers["webhook-id"] = webhook_id
            headers["webhook-timestamp"] = str(timestamp)
            if config.secret is not None:
                headers.update(
                    sign_payload(body, config.secret, webhook_id, timestamp, scheme=config.signing)
                )
            return headers

        self._transport.post(config.url, body, headers_for, secrets=config.hidden_values())
