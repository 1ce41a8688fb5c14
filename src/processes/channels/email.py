"""The report by email: SMTP settings, a pure message builder, and a thin SMTP transport.

``build_message`` does no I/O; ``EmailChannel`` only sends what it builds. TLS follows
NOTIFY.md B: certificates verified by default, STARTTLS whenever ``secure`` is set and never
silently skipped, no login in clear text to another machine, and the password kept out
of every repr, log line and error. Imports the report and rendering modules, never the
scheduler.
"""

from __future__ import annotations

import base64
import html
import ipaddress
import logging
import os
import re
import smtplib
import socket
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import TYPE_CHECKING

from processes.channels.base import ReportChannel
from processes.checks import check_flag, check_seconds, check_type, type_error
from processes.content import ReportContent
from processes.errors import ProcessesError
from processes.redaction import mask, remember_secret
from processes.rendering.email_html import HTMLEmailStyle, render_email_html, subject_line
from processes.rendering.locales import get_locale
from processes.rendering.text import render_text

if TYPE_CHECKING:
    from processes.report import ProcessExecutionReport

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


class EmailDeliveryError(ProcessesError):
    """The SMTP server could not be reached, refused us, or refused recipients.

    The message names the server, never a password.
    """


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
    operation.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: an address is malformed or holds a line break or control character,
            ``toaddrs`` is empty, ``timeout`` is not positive, or ``secure`` names a
            client certificate while ``ssl_context`` is given.
    """

    __slots__ = (
        "_password",
        "allow_insecure_auth",
        "fromaddr",
        "host",
        "implicit_tls",
        "mailhost",
        "port",
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
    ) -> None:
        check_flag("implicit_tls", implicit_tls, owner="SMTPConfig")
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
            f"allow_insecure_auth={self.allow_insecure_auth!r})"
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
    text = render_text(
        report, color=False, content=content, language=style.language, errors_only=errors_only
    )
    markup = render_email_html(report, content, style, errors_only=errors_only)
    secrets = _secret_forms(config)
    text, markup = mask(text, secrets), mask(markup, secrets)

    message = EmailMessage(policy=policy.default)
    message["Subject"] = f"{subject} | {day}"
    message["From"] = config.fromaddr
    message["To"] = ", ".join(config.toaddrs)
    message["Date"] = format_datetime(now if now.tzinfo else now.astimezone())
    message["Message-ID"] = make_msgid(domain=_domain(config.fromaddr))
    # RFC 3834: an automated report; vacation responders should not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, charset="utf-8")
    message.add_alternative(markup, subtype="html", charset="utf-8")
    return message


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


# -- the transport: thin -------------------------------------------------------------------


def send_message(message: EmailMessage, config: SMTPConfig) -> None:
    """Send ``message`` as ``config`` says; raise ``EmailDeliveryError`` if it did not go.

    Every recipient must be accepted: one refused recipient fails the delivery (the
    others have been sent the message by then).
    """
    where = f"{config.host}:{config.port}"
    cleartext_login = config.credentials is not None and not config.uses_tls
    if cleartext_login and not (_is_loopback(config.host) or config.allow_insecure_auth):
        raise EmailDeliveryError(
            f"refusing to send SMTP credentials unencrypted to {where}: set secure=() "
            "for STARTTLS or implicit_tls=True (or allow_insecure_auth=True to accept "
            "the risk)"
        )
    try:
        refused = _converse(message, config)
    except EmailDeliveryError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        raise EmailDeliveryError(
            f"{where} refused every recipient: {_describe_refused(exc.recipients)}"
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise EmailDeliveryError(
            f"TLS certificate of {where} could not be verified ({exc.verify_message}); "
            "pass ssl_context= to trust a private CA"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        message_text = _scrub(f"{type(exc).__name__}: {exc}", config)
        raise EmailDeliveryError(f"could not send the report via {where}: {message_text}") from None
    if refused:
        raise EmailDeliveryError(
            f"{where} refused some recipients: {_describe_refused(refused)}; "
            "the others were sent the report"
        )
    logger.info(
        "Sent the report %r to %d recipient(s) via %s",
        message["Subject"],
        len(config.toaddrs),
        where,
    )


def _converse(message: EmailMessage, config: SMTPConfig) -> dict[str, tuple[int, bytes]]:
    context = config.tls_context() if config.uses_tls else None
    smtp: smtplib.SMTP
    # Without local_hostname smtplib asks socket.getfqdn(), a reverse DNS lookup that can
    # stall each send for seconds; the real name is set once the local address is known,
    # before the first EHLO.
    if config.implicit_tls:
        smtp = smtplib.SMTP_SSL(
            config.host,
            config.port,
            local_hostname=_EHLO_UNKNOWN,
            timeout=config.timeout,
            context=context,
        )
    else:
        smtp = smtplib.SMTP(
            config.host, config.port, local_hostname=_EHLO_UNKNOWN, timeout=config.timeout
        )
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
        return smtp.send_message(message)


_EHLO_UNKNOWN = "localhost"  # anything but None: smtplib would call socket.getfqdn()
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)


def _ehlo_name(local_address: str) -> str:
    """Name this machine for EHLO without asking DNS."""
    # RFC 5321 §4.1.4 wants the primary domain name, else an address literal: the host
    # name when it is fully qualified, else our end of the connection, [192.0.2.1] or
    # [IPv6:2001:db8::1].
    name = socket.gethostname()
    labels = name.split(".")
    if (
        len(labels) >= 2
        and len(name) <= 253
        and all(_DNS_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()  # an IPv4 address is not a name
        and labels[0].lower() != "localhost"  # localhost.localdomain names no one
    ):
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
    except TimeoutError:
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

    def __repr__(self) -> str:
        return f"EmailChannel({self.smtp_config!r}, {self.style!r}, {self.content!r})"

    def secret_values(self) -> list[str]:
        return _secret_forms(self.smtp_config)

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        """Build the message and send it; raise ``EmailDeliveryError`` when it did not go."""
        message = build_message(report, self.smtp_config, self.style, self.content, errors_only)
        send_message(message, self.smtp_config)
