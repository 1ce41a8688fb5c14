"""The report by email: SMTP settings, a pure message builder, and a thin SMTP transport.

``build_message`` does no I/O; ``EmailChannel`` only sends what it builds. TLS follows
NOTIFY.md B: certificates verified by default, STARTTLS whenever ``secure`` is set and never
silently skipped, no login in clear text to another machine, and the password kept out
of every repr, log line and error. Imports the report and rendering modules, never the
scheduler.
"""

from __future__ import annotations

import base64
import copy
import functools
import hmac
import html
import ipaddress
import logging
import os
import random
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from email import policy
from email.errors import HeaderParseError
from email.header import Header
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import TYPE_CHECKING

from processes.channels.base import ReportChannel
from processes.channels.webhook import BACKOFF_BASE_SECONDS, BACKOFF_MAX_SECONDS
from processes.checks import check_count, check_flag, check_seconds, check_type, type_error
from processes.content import ReportContent
from processes.errors import ProcessesError
from processes.redaction import mask, remember_secret
from processes.rendering.email_html import PALETTES, HTMLEmailStyle, render_email, subject_line
from processes.rendering.findings import finding_title, render_finding_html, render_finding_text
from processes.rendering.locales import get_locale

if TYPE_CHECKING:
    from processes.report import Finding, ProcessExecutionReport

__all__ = [
    "EmailChannel",
    "EmailDeliveryError",
    "HTMLEmailStyle",
    "SMTPConfig",
    "build_message",
    "send_message",
]

logger = logging.getLogger(__name__)

# Anything that could end a header line or hide in one: C0 controls (tab included), DEL,
# C1 controls and the Unicode line and paragraph separators.
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SMTP_PORT = 25
_Path = str | os.PathLike[str]
_Secure = tuple[()] | tuple[_Path] | tuple[_Path, _Path]
_SMTPS_PORT = 465


#: An SMTP session (connecting, TLS, every command and reply) ends within this many
#: ``timeout``s in all, whatever the server sends.
SESSION_TIMEOUTS = 10
#: The most a server's reply may hold (a multi-line reply included) before we give up.
_MAX_REPLY_BYTES = 64 * 1024


class EmailDeliveryError(ProcessesError):
    """The SMTP server could not be reached, refused us, or refused recipients.

    The message names the server, never a password. ``transient`` is True for a failure
    worth trying again (the connection refused, a 4xx reply).
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def _check_header_text(field: str, value: str) -> str:
    if _HEADER_UNSAFE.search(value):
        raise ValueError(
            f"{field} contains a line break or control character, which would let it "
            f"inject email headers: {value!r}"
        )
    return value


_HEADERS = HeaderRegistry()


def _check_address(field: str, value: str) -> str:
    _check_header_text(field, value)
    # Parsed now: the header parser raises IndexError on some malformed addresses ("bot@",
    # "Bot <"), which would otherwise surface only at send time. A local mailbox without
    # a domain ("root") is kept, as a local relay delivers it.
    addresses: tuple[Address, ...] = ()
    try:
        header = _HEADERS("To", value)
    except (HeaderParseError, IndexError, ValueError):
        pass
    else:
        if isinstance(header, AddressHeader):
            addresses = header.addresses
    if not addresses or any(not address.username for address in addresses):
        raise ValueError(
            f"{field} must hold email addresses such as 'Name <user@example.com>', got {value!r}"
        )
    return value


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_and_port(mailhost: object, *, implicit_tls: bool) -> tuple[str, int]:
    if isinstance(mailhost, str):
        host, port = mailhost, _SMTPS_PORT if implicit_tls else _SMTP_PORT
    elif (
        isinstance(mailhost, tuple)
        and len(mailhost) == 2
        and isinstance(mailhost[0], str)
        and isinstance(mailhost[1], int)
        and not isinstance(mailhost[1], bool)
    ):
        host, port = mailhost
    else:
        raise type_error(
            "mailhost", mailhost, "a host name or a (host, port) tuple", owner="SMTPConfig"
        )
    if not host:
        raise ValueError("SMTPConfig mailhost must name a host, got ''")
    _check_header_text("mailhost", host)
    return host, port


def _recipients(toaddrs: object) -> tuple[str, ...]:
    if isinstance(toaddrs, str):
        recipients: tuple[object, ...] = (toaddrs,)
    elif isinstance(toaddrs, Iterable):
        recipients = tuple(toaddrs)
    else:
        raise type_error("toaddrs", toaddrs, "a str or a list of str", owner="SMTPConfig")
    if not recipients:
        raise ValueError("SMTPConfig toaddrs must name at least one recipient, got none")
    checked: list[str] = []
    for address in recipients:
        if not isinstance(address, str):
            raise type_error("toaddrs", address, "str addresses", owner="SMTPConfig")
        checked.append(_check_address("toaddrs", address))
    return tuple(checked)


class SMTPConfig:
    """Where and how to send: ``SMTPConfig(("smtp.example.com", 587), from, [to], secure=())``.

    ``mailhost`` is a host (port 25, or 465 with ``implicit_tls``) or ``(host, port)``;
    ``credentials`` is ``(username, password)``. ``secure=()`` requires STARTTLS,
    ``(keyfile,)`` or ``(keyfile, certfile)`` also presents a client certificate (one PEM
    file, or key and certificate apart). ``implicit_tls=True`` speaks TLS from the first
    byte (SMTPS). Certificates are verified against the system's CAs unless
    ``ssl_context`` says otherwise, e.g. ``ssl.create_default_context(cafile=...)`` for a
    private CA. The library never changes a caller's context (it may be shared), so a
    client certificate goes either in ``secure`` (loaded into a default context of the
    library's own) or, with ``ssl_context``, into that context by its owner, as smtplib
    also asks::

        context = ssl.create_default_context(cafile="ca.pem")
        context.load_cert_chain("client.pem", "client.key")
        SMTPConfig(("smtp.example.com", 587), sender, [to], secure=(), ssl_context=context)

    Credentials are refused on an unencrypted connection to any host but this machine,
    unless ``allow_insecure_auth=True``. ``timeout`` (seconds) bounds every network
    operation, and a whole SMTP session to ``10 * timeout``; a transient failure (the
    connection refused, a 4xx reply) is tried again up to ``retries`` times, after a
    backoff. A password may hold any character: it is sent as UTF-8 (RFC 4616).

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: an address is malformed or holds a line break or control character,
            ``toaddrs`` is empty, ``timeout`` is not positive, ``retries`` is negative,
            or ``secure`` names a client certificate while ``ssl_context`` is given.
    """

    __slots__ = (
        "_password",
        "allow_insecure_auth",
        "fromaddr",
        "host",
        "implicit_tls",
        "mailhost",
        "port",
        "retries",
        "secure",
        "ssl_context",
        "timeout",
        "toaddrs",
        "username",
    )

    def __init__(
        self,
        mailhost: str | tuple[str, int],
        fromaddr: str,
        toaddrs: str | Iterable[str],
        credentials: tuple[str, str] | None = None,
        secure: _Secure | None = None,
        timeout: float = 5,
        *,
        implicit_tls: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        allow_insecure_auth: bool = False,
        retries: int = 2,
    ) -> None:
        check_flag("implicit_tls", implicit_tls, owner="SMTPConfig")
        check_count("retries", retries, owner="SMTPConfig")
        host, port = _host_and_port(mailhost, implicit_tls=implicit_tls)
        check_type("fromaddr", fromaddr, str, owner="SMTPConfig")
        _check_address("fromaddr", fromaddr)
        recipients = _recipients(toaddrs)
        if credentials is not None and not (
            isinstance(credentials, tuple)
            and len(credentials) == 2
            and all(isinstance(part, str) for part in credentials)
        ):
            # The value is not shown: it may hold the password.
            raise type_error(
                "credentials",
                credentials,
                "a (username, password) tuple of str or None",
                owner="SMTPConfig",
                secret=True,
            )
        if secure is not None and not (isinstance(secure, tuple) and len(secure) <= 2):
            raise type_error(
                "secure",
                secure,
                "None, () for STARTTLS, (keyfile,) or (keyfile, certfile)",
                owner="SMTPConfig",
            )
        check_seconds("timeout", timeout, owner="SMTPConfig")
        check_flag("allow_insecure_auth", allow_insecure_auth, owner="SMTPConfig")
        check_type(
            "ssl_context",
            ssl_context,
            ssl.SSLContext,
            owner="SMTPConfig",
            allow_none=True,
            what="an ssl.SSLContext",
        )
        if secure and ssl_context is not None:
            # Loading the certificate would change a context the caller may share, and a
            # copy cannot carry everything the caller set on it: the caller loads it.
            raise ValueError(
                "secure=(keyfile, ...) and ssl_context are mutually exclusive: load the "
                "client certificate into your context with "
                "ssl_context.load_cert_chain(certfile, keyfile) and pass secure=()"
            )

        self.mailhost = mailhost
        self.host = host
        self.port = port
        self.fromaddr = fromaddr
        self.toaddrs = recipients
        self.username = credentials[0] if credentials else None
        self._password = credentials[1] if credentials else None
        self.secure = secure
        self.timeout = timeout
        self.implicit_tls = bool(implicit_tls)
        self.ssl_context = ssl_context
        self.allow_insecure_auth = bool(allow_insecure_auth)
        self.retries = retries

    @property
    def credentials(self) -> tuple[str, str] | None:
        if self.username is None or self._password is None:
            return None
        return (self.username, self._password)

    @property
    def uses_tls(self) -> bool:
        """True when the whole SMTP session after the greeting is encrypted."""
        return self.implicit_tls or self.secure is not None

    def __repr__(self) -> str:
        credentials = None if self.username is None else (self.username, "********")
        return (
            f"SMTPConfig(mailhost={self.mailhost!r}, fromaddr={self.fromaddr!r}, "
            f"toaddrs={list(self.toaddrs)!r}, credentials={credentials!r}, "
            f"secure={self.secure!r}, timeout={self.timeout!r}, "
            f"implicit_tls={self.implicit_tls!r}, ssl_context={self.ssl_context!r}, "
            f"allow_insecure_auth={self.allow_insecure_auth!r}, retries={self.retries!r})"
        )

    def tls_context(self) -> ssl.SSLContext:
        """Return the context to verify the server with: the caller's own, left unchanged.

        Without ``ssl_context``, a new default context holding ``secure``'s client
        certificate, read from disk at each call.
        """
        if self.ssl_context is not None:
            return self.ssl_context
        context = ssl.create_default_context()
        if self.secure:
            keyfile = self.secure[0]
            certfile = self.secure[1] if len(self.secure) == 2 else None
            if certfile is None:
                context.load_cert_chain(keyfile)  # one PEM with the key and the certificate
            else:
                context.load_cert_chain(certfile, keyfile)
        return context


# -- the message: pure ---------------------------------------------------------------------


def build_message(
    report: ProcessExecutionReport,
    config: SMTPConfig,
    style: HTMLEmailStyle | None = None,
    content: ReportContent | None = None,
    errors_only: bool = False,
    *,
    now: datetime | None = None,
) -> EmailMessage:
    """Build the report's email: a full plain-text report first, then its HTML twin.

    The subject reads ``<words> <process name> | YYYYMMDD``, dated by the run's start
    (``now`` when the report never ran, the current time by default); the words follow
    the outcome: failed, still failing, recovered or succeeded. With ``errors_only`` only
    the errored entries are detailed, under their own subject words; the totals still
    count every task.

    Raises:
        ValueError: the process name or an address holds a line break or a control
            character, which would otherwise inject headers, or an address is malformed.
    """
    style = HTMLEmailStyle() if style is None else style
    content = ReportContent() if content is None else content
    words = get_locale(style.language)
    now = datetime.now().astimezone() if now is None else now
    _check_header_text("process name", report.process_name)
    _check_address("fromaddr", config.fromaddr)
    for address in config.toaddrs:
        _check_address("toaddrs", address)
    day = (report.started_at or now).astimezone().strftime("%Y%m%d")
    subject = subject_line(report, words, errors_only=errors_only)

    # Rendered from the whole report: with errors_only the counts still cover every task
    # and only the details are limited to the errored ones.
    text, markup = render_email(report, content, style, errors_only=errors_only)
    secrets = _secret_forms(config)
    text, markup = mask(text, secrets), mask(markup, secrets)
    return _envelope(f"{subject} | {day}", text, markup, config, now)


def build_finding_message(
    finding: Finding,
    config: SMTPConfig,
    style: HTMLEmailStyle | None = None,
    *,
    now: datetime | None = None,
) -> EmailMessage:
    """Build the email of a finding of the watch (§14): subject ``Missed: nightly-etl |
    YYYYMMDD`` (the finding's words, the process name, the day it began), a plain-text
    part and its HTML twin saying what is wrong, since when, the last run and its outcome
    and the usual duration, in the style's language and palette.

    Raises:
        ValueError: as ``build_message``.
    """
    style = HTMLEmailStyle() if style is None else style
    now = datetime.now().astimezone() if now is None else now
    _check_header_text("process name", finding.process_name)
    _check_address("fromaddr", config.fromaddr)
    for address in config.toaddrs:
        _check_address("toaddrs", address)
    day = finding.since.astimezone().strftime("%Y%m%d")
    secrets = _secret_forms(config)
    text = mask(render_finding_text(finding, style.language), secrets)
    markup = mask(render_finding_html(finding, PALETTES[style.palette], style.language), secrets)
    subject = mask(finding_title(finding, style.language), secrets)
    return _envelope(f"{subject} | {day}", text, markup, config, now)


def _envelope(
    subject: str, text: str, markup: str, config: SMTPConfig, now: datetime
) -> EmailMessage:
    """The message around a text part and its HTML twin."""
    message = EmailMessage(policy=_POLICY)
    message["Subject"] = subject
    message["From"] = config.fromaddr
    message["To"] = ", ".join(config.toaddrs)
    message["Date"] = format_datetime(now if now.tzinfo else now.astimezone())
    message["Message-ID"] = make_msgid(domain=_domain(config.fromaddr))
    # RFC 3834: an automated report; vacation responders should not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, charset="utf-8")
    message.add_alternative(markup, subtype="html", charset="utf-8")
    return message


class _MailPolicy(policy.EmailPolicy):
    """``policy.default``, but a non-ASCII subject is folded by ``email.header``.

    Python 3.11 and 3.12 drop the space between two words when they fold a long header
    holding encoded words (fixed in 3.13); ``Header`` encodes the spaces inside the
    encoded words, which every version reads back as written.
    """

    def _fold(self, name: str, value: object, refold_binary: bool = False) -> str:
        text = str(value)
        if name.lower() != "subject" or text.isascii():
            folded: str = super()._fold(name, value, refold_binary)  # type: ignore[misc]
            return folded
        header = Header(text, "utf-8", maxlinelen=self.max_line_length, header_name=name)
        return f"{name}: {header.encode(linesep=self.linesep)}{self.linesep}"


_POLICY = _MailPolicy()


def _domain(address: str) -> str:
    # make_msgid() without a domain asks DNS for this machine's name, which can hang.
    _, addr = parseaddr(address)
    domain = addr.rpartition("@")[2]
    return domain if domain and _HEADER_UNSAFE.search(domain) is None else "localhost"


def _secret_forms(config: SMTPConfig) -> list[str]:
    """The password as written, as the HTML part escapes it, and as AUTH sends it.

    A server refusing a login may echo what it got: AUTH PLAIN's base64 of
    ``NUL user NUL password``, or AUTH LOGIN's base64 of the password alone (the user's is
    no secret). The password itself is left out when too short to tell apart.
    """
    forms: list[str] = []
    if config.credentials:
        username, password = config.credentials
        remember_secret(password, forms)
        for sent in (f"\0{username}\0{password}", password):
            remember_secret(base64.b64encode(sent.encode()).decode("ascii"), forms)
    return forms + [html.escape(form) for form in forms]


# -- the transport: thin, and bounded in time ----------------------------------------------


def send_message(
    message: EmailMessage, config: SMTPConfig, *, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Send ``message`` as ``config`` says; raise ``EmailDeliveryError`` if it did not go.

    Every recipient must be accepted: one refused recipient fails the delivery (the
    others have been sent the message by then). A transient failure (the connection
    refused, a 4xx reply) is tried again up to ``config.retries`` times after a backoff
    (``sleep``); each session lasts at most ``10 * config.timeout`` seconds.
    """
    where = f"{config.host}:{config.port}"
    cleartext_login = config.credentials is not None and not config.uses_tls
    if cleartext_login and not (_is_loopback(config.host) or config.allow_insecure_auth):
        raise EmailDeliveryError(
            f"refusing to send SMTP credentials unencrypted to {where}: set secure=() "
            "for STARTTLS or implicit_tls=True (or allow_insecure_auth=True to accept "
            "the risk)"
        )
    attempts = config.retries + 1
    for attempt in range(1, attempts + 1):
        try:
            _send_once(message, config, where)
        except EmailDeliveryError as exc:
            if not exc.transient or attempt == attempts:
                if attempt > 1:
                    raise EmailDeliveryError(f"{exc} (after {attempt} attempts)") from None
                raise
            delay = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** (attempt - 1))
            sleep(delay * (0.5 + random.random() / 2))
            continue
        logger.info(
            "Sent the report %r to %d recipient(s) via %s",
            message["Subject"],
            len(config.toaddrs),
            where,
        )
        return


def _send_once(message: EmailMessage, config: SMTPConfig, where: str) -> None:
    session = _Session(SESSION_TIMEOUTS * config.timeout)
    try:
        refused = _converse(message, config, session)
    except EmailDeliveryError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        raise EmailDeliveryError(
            f"{where} refused every recipient: {_describe_refused(exc.recipients)}",
            transient=all(400 <= code < 500 for code, _ in exc.recipients.values()),
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise EmailDeliveryError(
            f"TLS certificate of {where} could not be verified ({exc.verify_message}); "
            "pass ssl_context= to trust a private CA"
        ) from None
    except Exception as exc:  # any failure leaves as one clean message, never a password
        if session.expired:
            raise EmailDeliveryError(
                f"gave up on {where}: the SMTP session did not end within "
                f"{SESSION_TIMEOUTS * config.timeout:g} s ({SESSION_TIMEOUTS} x timeout)"
            ) from None
        message_text = _scrub(f"{type(exc).__name__}: {exc}", config)
        code = getattr(exc, "smtp_code", None)
        raise EmailDeliveryError(
            f"could not send the report via {where}: {message_text}",
            transient=isinstance(exc, ConnectionRefusedError)
            or (isinstance(code, int) and 400 <= code < 500),
        ) from None
    finally:
        session.end()
    if refused:
        raise EmailDeliveryError(
            f"{where} refused some recipients: {_describe_refused(refused)}; "
            "the others were sent the report"
        )


class _Session:
    """The deadline of one SMTP session: when it passes, the socket is shut down.

    A socket timeout bounds each read, not the session: a server answering a byte at a
    time would hold it for as long as it likes. Shutting the socket down wakes whatever
    waits on it (connecting, TLS, a reply) with an error. The file descriptor is used, as
    STARTTLS moves it into a new socket object; ``end`` forgets it before it is closed.
    """

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._fd = -1
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._fd = sock.fileno()
            if self.expired:
                self._shut_down()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut_down()

    def _shut_down(self) -> None:
        if self._fd < 0:
            return
        sock = socket.socket(fileno=self._fd)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            sock.detach()  # the fd still belongs to the SMTP connection, which closes it

    def end(self) -> None:
        with self._lock:
            self._timer.cancel()
            self._fd = -1


class _Bounded(smtplib.SMTP):
    """smtplib's client with a session deadline, replies of bounded size and UTF-8 AUTH."""

    session: _Session

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock: socket.socket = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        self.session.watch(sock)
        return sock

    def close(self) -> None:
        if hasattr(self, "session"):
            self.session.end()
        super().close()

    def getreply(self) -> tuple[int, bytes]:
        """Read one reply, as smtplib does, but give up once it passes 64 KB.

        smtplib keeps every line of a multi-line reply: a server sending ``220-`` lines
        without end would fill the memory before the deadline.
        """
        if self.file is None:
            self.file = self.sock.makefile("rb")  # type: ignore[union-attr]
        lines: list[bytes] = []
        size = 0
        while True:
            try:
                line = self.file.readline(_MAX_LINE + 1)
            except OSError as exc:
                self.close()
                raise smtplib.SMTPServerDisconnected(
                    f"Connection unexpectedly closed: {exc}"
                ) from None
            if not line:
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            size += len(line)
            if len(line) > _MAX_LINE or size > _MAX_REPLY_BYTES:
                self.close()
                raise smtplib.SMTPServerDisconnected(
                    f"the server's reply ran past {_MAX_REPLY_BYTES // 1024} KB"
                )
            lines.append(line[4:].strip(b" \t\r\n"))
            try:
                code = int(line[:3])
            except ValueError:
                code = -1
                break
            if line[3:4] != b"-":
                break
        return code, b"\n".join(lines)

    def auth(
        self,
        mechanism: str,
        authobject: Callable[..., str | None],
        *,
        initial_response_ok: bool = True,
    ) -> tuple[int, bytes]:
        """smtplib's AUTH, sending the credentials as UTF-8 (RFC 4616), not ASCII only."""
        mechanism = mechanism.upper()
        initial = authobject() if initial_response_ok else None
        # smtplib's auth_login() counts the challenges to tell the user's from the password's.
        if initial is not None:
            code, reply = self.docmd("AUTH", f"{mechanism} {_b64(initial)}")
            self._auth_challenge_count = 1
        else:
            code, reply = self.docmd("AUTH", mechanism)
            self._auth_challenge_count = 0
        for _ in range(5):  # a server asking again and again is refused below
            if code != 334:
                break
            self._auth_challenge_count += 1
            answer = authobject(base64.decodebytes(reply))
            code, reply = self.docmd(_b64(answer or ""))
        if code in (235, 503):
            return code, reply
        raise smtplib.SMTPAuthenticationError(code, reply)

    def auth_cram_md5(self, challenge: bytes | None = None) -> str | None:  # type: ignore[override]
        if challenge is None:
            return None
        password = (self.password or "").encode("utf-8")
        return f"{self.user} {hmac.HMAC(password, challenge, 'md5').hexdigest()}"


class _BoundedSSL(_Bounded, smtplib.SMTP_SSL):
    """SMTPS with the same bounds; the deadline watches the socket before TLS starts."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((host, port), timeout, self.source_address)
        self.session.watch(sock)
        return self.context.wrap_socket(sock, server_hostname=self._host)  # type: ignore[attr-defined]


_MAX_LINE = 8192  # smtplib's own limit on a line of a reply


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _converse(
    message: EmailMessage, config: SMTPConfig, session: _Session
) -> dict[str, tuple[int, bytes]]:
    context = config.tls_context() if config.uses_tls else None
    smtp: _Bounded
    # Not connected yet: the session's deadline must watch the socket from its start.
    if config.implicit_tls:
        smtp = _BoundedSSL(local_hostname=_EHLO_UNKNOWN, timeout=config.timeout, context=context)
    else:
        smtp = _Bounded(local_hostname=_EHLO_UNKNOWN, timeout=config.timeout)
    smtp.session = session
    smtp._host = config.host  # type: ignore[attr-defined]  # what TLS verifies; set by __init__ only
    try:
        smtp.connect(config.host, config.port)
    except BaseException:
        smtp.close()
        raise
    with _session(smtp):
        if smtp.sock is not None:  # always, once connected
            smtp.local_hostname = _ehlo_name(smtp.sock.getsockname()[0])
        if config.secure is not None and not config.implicit_tls:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise EmailDeliveryError(
                    f"{config.host}:{config.port} does not offer STARTTLS, which secure= "
                    "requires; the report was not sent in clear text"
                )
            smtp.starttls(context=context)
            smtp.ehlo()
        if config.credentials:
            smtp.login(*config.credentials)
        smtp.ehlo_or_helo_if_needed()
        return _send(smtp, message)


def _send(smtp: smtplib.SMTP, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """Send with ``BODY=8BITMIME`` when the body is 8-bit and the server takes it (RFC
    6152), else as quoted-printable: 8-bit data must not go to a server that did not say
    it accepts it."""
    eight_bit = any(part.get("Content-Transfer-Encoding") == "8bit" for part in message.walk())
    if not eight_bit:
        return smtp.send_message(message)
    if smtp.has_extn("8bitmime"):
        return smtp.send_message(message, mail_options=["BODY=8BITMIME"])
    return smtp.send_message(_seven_bit(message))


def _seven_bit(message: EmailMessage) -> EmailMessage:
    copied = copy.deepcopy(message)
    for part in copied.walk():
        if part.get("Content-Transfer-Encoding") == "8bit":
            text = part.get_content()
            part.set_content(
                text, subtype=part.get_content_subtype(), charset="utf-8", cte="quoted-printable"
            )
    return copied


_EHLO_UNKNOWN = "localhost"  # anything but None: smtplib would call socket.getfqdn()
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)


def _is_domain_name(name: str) -> bool:
    """Tell whether ``name`` is a fully qualified host name that names this machine."""
    labels = name.rstrip(".").split(".")
    return (
        len(labels) >= 2
        and len(name) <= 253
        and all(_DNS_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()  # an IPv4 address is not a name
        and labels[0].lower() != "localhost"  # localhost.localdomain names no one
        and labels[-1].lower() not in ("localdomain", "local", "localhost", "internal")
    )


@functools.cache
def _machine_name() -> str | None:
    """This machine's fully qualified name, asked once per process; None without one.

    The host name when it is already fully qualified (no DNS), else ``socket.getfqdn()``,
    which may ask DNS and so is asked once.
    """
    for ask in (socket.gethostname, socket.getfqdn):
        name = ask()
        if _is_domain_name(name):
            return name.rstrip(".")
    return None


def _ehlo_name(local_address: str) -> str:
    """Name this machine for EHLO: its fully qualified name, else an address literal."""
    # RFC 5321 §4.1.4 and §2.3.5: the client's primary host name, a fully qualified
    # domain name; a host without one sends an address literal, [192.0.2.1] or
    # [IPv6:2001:db8::1], rather than a bare name spam filters score (HELO_NO_DOMAIN).
    name = _machine_name()
    if name is not None:
        return name
    address = ipaddress.ip_address(local_address.partition("%")[0])  # drop an IPv6 zone
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return f"[IPv6:{address}]" if address.version == 6 else f"[{address}]"


@contextmanager
def _session(smtp: smtplib.SMTP) -> Iterator[None]:
    """Send QUIT on the way out, whatever happened, without hiding the first error."""
    timed_out = False
    try:
        yield
    except (TimeoutError, smtplib.SMTPServerDisconnected):
        timed_out = True  # a QUIT would only wait out the timeout once more
        raise
    finally:
        if timed_out:
            smtp.close()
        else:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _describe_refused(refused: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(
        f"{address} ({code} {reply.decode(errors='replace')})"
        for address, (code, reply) in refused.items()
    )


def _scrub(text: str, config: SMTPConfig) -> str:
    # Servers may echo what they were sent; the password never leaves in an error.
    return mask(text, _secret_forms(config))


class EmailChannel(ReportChannel):
    """Email one report per run: ``EmailChannel(SMTPConfig(...), HTMLEmailStyle("slate"))``.

    ``style`` picks the palette and language (``HTMLEmailStyle()`` by default) and
    ``content`` how much of each failure is shown (``ReportContent()``: everything).
    """

    def __init__(
        self,
        smtp_config: SMTPConfig,
        style: HTMLEmailStyle | None = None,
        content: ReportContent | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        owner = "EmailChannel"
        # The value is not shown: credentials or a password passed here by mistake.
        check_type(
            "smtp_config", smtp_config, SMTPConfig, owner=owner, what="an SMTPConfig", secret=True
        )
        check_type(
            "style", style, HTMLEmailStyle, owner=owner, allow_none=True, what="an HTMLEmailStyle"
        )
        check_type("content", content, ReportContent, owner=owner, allow_none=True)
        self.smtp_config = smtp_config
        self.style = HTMLEmailStyle() if style is None else style
        self.content = ReportContent() if content is None else content
        self._sleep = sleep  # between attempts; injectable for tests

    def __repr__(self) -> str:
        return f"EmailChannel({self.smtp_config!r}, {self.style!r}, {self.content!r})"

    def secret_values(self) -> list[str]:
        return _secret_forms(self.smtp_config)

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        """Build the message and send it; raise ``EmailDeliveryError`` when it did not go."""
        message = build_message(report, self.smtp_config, self.style, self.content, errors_only)
        send_message(message, self.smtp_config, sleep=self._sleep)

    def send_finding(self, finding: Finding) -> None:
        """Email a finding of the watch (§14); raise ``EmailDeliveryError`` when it did not go."""
        message = build_finding_message(finding, self.smtp_config, self.style)
        send_message(message, self.smtp_config, sleep=self._sleep)
