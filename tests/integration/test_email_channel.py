"""EmailChannel against real SMTP servers (aiosmtpd) on 127.0.0.1, plain and with TLS.

Certificates come from a private CA made at test time (trustme). Every assertion is on
what the server received.
"""

from __future__ import annotations

import asyncio
import base64
import email
import re
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from factories import orders_report
from processes import EmailChannel, HTMLEmailStyle, Process, SMTPConfig, Task
from processes.channels import email as email_module
from processes.channels.email import EmailDeliveryError

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"
USER, PASSWORD = "pipeline-bot", "correct-horse-battery-staple"
FROM, TO = "pipeline@example.test", "oncall@example.test"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    peer_cert: Any
    authenticated: bool | None
    ehlo_name: str | None


class Recorder:
    """An aiosmtpd handler that keeps what it was sent and refuses chosen recipients."""

    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.received: list[Received] = []
        self.refuse = set(refuse)
        self.quits = 0
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                tls=session.ssl is not None,
                peer_cert=(session.ssl or {}).get("peercert"),
                authenticated=session.authenticated,
                ehlo_name=session.host_name,
            )
        )
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.quits += 1
        return "221 Bye"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok)


class LoopbackController(Controller):
    """aiosmtpd on 127.0.0.1 and a port the kernel picks, so tests never collide."""

    def __init__(self, handler: Recorder, **kwargs: Any) -> None:
        super().__init__(handler, hostname=HOST, port=0, server_hostname="smtp.test", **kwargs)

    def _trigger_server(self) -> None:
        server = cast("asyncio.Server", self.server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST, "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


StartServer = Callable[..., tuple[Recorder, int]]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    controllers: list[LoopbackController] = []

    def start(refuse: tuple[str, ...] = (), **kwargs: Any) -> tuple[Recorder, int]:
        recorder = Recorder(refuse)
        kwargs.setdefault("authenticator", recorder.authenticate)
        controller = LoopbackController(recorder, **kwargs)
        controller.start()
        controllers.append(controller)
        return recorder, controller.port

    yield start
    for controller in controllers:
        controller.stop()


def config(port: int, **kwargs: Any) -> SMTPConfig:
    kwargs.setdefault("toaddrs", [TO])
    return SMTPConfig((HOST, port), FROM, **kwargs)


def assert_is_the_orders_report(received: Received) -> None:
    message = received.message
    assert message["Subject"].startswith("Failed: orders-pipeline | ")
    assert message["From"] == FROM
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert "FAILED   charge_payments" in plain.get_content()
    assert "ship_orders" in html.get_content()


# -- delivered ------------------------------------------------------------------------------


def test_plain_smtp_delivers_the_report(start_server: StartServer) -> None:
    recorder, port = start_server()
    deliveries = orders_report().notify(
        EmailChannel(config(port, toaddrs=[TO, "lead@example.test"]))
    )
    assert [d.ok for d in deliveries] == [True]
    (received,) = recorder.received
    assert received.mail_from == FROM
    assert received.rcpt_tos == [TO, "lead@example.test"]
    assert received.tls is False
    assert_is_the_orders_report(received)
    assert recorder.quits == 1


def test_starttls_with_auth_required_after_tls(
    start_server: StartServer, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    recorder, port = start_server(
        tls_context=server_tls, require_starttls=True, auth_required=True, auth_require_tls=True
    )
    channel = EmailChannel(
        config(port, credentials=(USER, PASSWORD), secure=(), ssl_context=client_tls),
        HTMLEmailStyle("slate", "de"),
    )
    channel.send_report(orders_report(), errors_only=False)
    (received,) = recorder.received
    assert received.tls is True
    assert received.authenticated is True
    assert recorder.logins == [(USER.encode(), PASSWORD.encode())]
    assert received.message["Subject"].startswith("Fehlgeschlagen: orders-pipeline | ")
    assert "FEHLGESCHLAGEN" in received.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert recorder.quits == 1


def test_starttls_without_credentials_still_encrypts(
    start_server: StartServer, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    recorder, port = start_server(tls_context=server_tls, require_starttls=True)
    EmailChannel(config(port, secure=(), ssl_context=client_tls)).send_report(
        orders_report(), errors_only=False
    )
    (received,) = recorder.received
    assert received.tls is True
    assert received.authenticated is None


def test_implicit_tls(
    start_server: StartServer, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    recorder, port = start_server(ssl_context=server_tls)
    channel = EmailChannel(config(port, implicit_tls=True, ssl_context=client_tls))
    channel.send_report(orders_report(), errors_only=False)
    (received,) = recorder.received
    assert_is_the_orders_report(received)
    assert recorder.quits == 1


@pytest.fixture
def client_cert_server(start_server: StartServer, ca: trustme.CA) -> tuple[Recorder, int]:
    """A STARTTLS server that asks for a client certificate signed by ``ca``."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(server)
    server.verify_mode = ssl.CERT_OPTIONAL
    ca.configure_trust(server)
    return start_server(tls_context=server, require_starttls=True)


def client_cert_files(ca: trustme.CA, folder: Path) -> tuple[Path, Path]:
    client_cert = ca.issue_cert("pipeline@example.test")
    key, cert = folder / "client.key", folder / "client.pem"
    client_cert.private_key_pem.write_to_path(key)
    client_cert.cert_chain_pems[0].write_to_path(cert)
    return key, cert


def assert_presented_the_client_certificate(received: Received) -> None:
    assert received.tls is True
    assert received.peer_cert, "the server saw no client certificate"
    names = [value for rdn in received.peer_cert["subjectAltName"] for value in rdn]
    assert "pipeline@example.test" in names


@pytest.mark.parametrize("one_file", [False, True])
def test_client_certificate_from_secure(
    client_cert_server: tuple[Recorder, int],
    ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    one_file: bool,
) -> None:
    # No ssl_context: the library's own default context holds the certificate, and trusts
    # the test CA the way a system store would.
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    recorder, port = client_cert_server
    key, cert = client_cert_files(ca, tmp_path)
    if one_file:
        both = tmp_path / "both.pem"
        both.write_bytes(key.read_bytes() + cert.read_bytes())
        secure: tuple[str] | tuple[str, str] = (str(both),)
    else:
        secure = (str(key), str(cert))
    channel = EmailChannel(config(port, secure=secure))
    channel.send_report(orders_report(), errors_only=False)
    channel.send_report(orders_report(), errors_only=False)
    assert len(recorder.received) == 2
    for received in recorder.received:
        assert_presented_the_client_certificate(received)


def test_client_certificate_loaded_by_the_caller_into_its_own_context(
    client_cert_server: tuple[Recorder, int], ca: trustme.CA, tmp_path: Path
) -> None:
    recorder, port = client_cert_server
    key, cert = client_cert_files(ca, tmp_path)
    shared = ssl.create_default_context()
    ca.configure_trust(shared)
    shared.load_cert_chain(cert, key)
    EmailChannel(config(port, secure=(), ssl_context=shared)).send_report(
        orders_report(), errors_only=False
    )
    (received,) = recorder.received
    assert_presented_the_client_certificate(received)
    # Loading secure's certificate would change the caller's context, perhaps shared with
    # another config that must present another certificate: refused up front.
    with pytest.raises(ValueError, match="mutually exclusive"):
        config(port, secure=(str(key), str(cert)), ssl_context=shared)


@pytest.mark.parametrize(
    ("security", "hostname", "fqdn", "ehlo_name"),
    [
        ("none", "relay-7.example.test", None, "relay-7.example.test"),  # no DNS asked
        (
            "none",
            "build-runner-7",
            "build-runner-7.corp.example.com",
            "build-runner-7.corp.example.com",
        ),
        ("none", "build-runner-7", "build-runner-7", "[127.0.0.1]"),  # no name: a literal
        ("none", "build-runner-7", "localhost", "[127.0.0.1]"),
        ("none", "localhost.localdomain", "localhost.localdomain", "[127.0.0.1]"),
        ("none", "10.0.0.7", "10.0.0.7", "[127.0.0.1]"),
        ("none", "bad_name.example.test", "bad_name.example.test", "[127.0.0.1]"),
        (
            "starttls",
            "build-runner-7",
            "build-runner-7.corp.example.com",
            "build-runner-7.corp.example.com",
        ),
        ("starttls", "build-runner-7", "build-runner-7", "[127.0.0.1]"),
        ("implicit", "relay-7.example.test", None, "relay-7.example.test"),
    ],
)
def test_ehlo_names_this_machine_by_its_fully_qualified_name(
    start_server: StartServer,
    server_tls: ssl.SSLContext,
    client_tls: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
    security: str,
    hostname: str,
    fqdn: str | None,
    ehlo_name: str,
) -> None:
    # RFC 5321 §4.1.4: the client's fully qualified name, else an address literal. A host
    # name that is already fully qualified needs no DNS; socket.getfqdn() (which may ask
    # DNS) is asked only otherwise, once per process.
    asked: list[str] = []

    def getfqdn(name: str = "") -> str:
        asked.append(name)
        assert fqdn is not None, "socket.getfqdn() was called"
        return fqdn

    monkeypatch.setattr(socket, "getfqdn", getfqdn)
    monkeypatch.setattr(socket, "gethostname", lambda: hostname)
    email_module._machine_name.cache_clear()
    monkeypatch.setattr(email_module, "_machine_name", email_module._machine_name)
    if security == "starttls":
        recorder, port = start_server(tls_context=server_tls, require_starttls=True)
        smtp = config(port, secure=(), ssl_context=client_tls)
    elif security == "implicit":
        recorder, port = start_server(ssl_context=server_tls)
        smtp = config(port, implicit_tls=True, ssl_context=client_tls)
    else:
        recorder, port = start_server()
        smtp = config(port)
    channel = EmailChannel(smtp)
    channel.send_report(orders_report(), errors_only=False)
    channel.send_report(orders_report(), errors_only=False)
    assert [received.ehlo_name for received in recorder.received] == [ehlo_name, ehlo_name]
    assert len(asked) <= 1
    email_module._machine_name.cache_clear()


def test_errors_only_sends_only_the_failures(start_server: StartServer) -> None:
    recorder, port = start_server()
    deliveries = orders_report().notify(EmailChannel(config(port)), only_errors=True)
    assert deliveries[0].ok
    (received,) = recorder.received
    assert received.message["Subject"].startswith("Process errors orders-pipeline | ")
    plain = received.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "charge_payments" in plain
    assert "fetch_inventory" not in plain
    # The totals cover the whole run, so they agree with what the failure skipped.
    assert "Tasks 5 | Succeeded 3 | Failed 1 | Skipped 1" in plain
    assert "Skipped because of it: ship_orders" in plain
    markup = received.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    cells = re.findall(r">(\d+)</div>\s*<div[^>]*>(\w+)</div>", markup)
    assert cells == [("5", "Tasks"), ("3", "Succeeded"), ("1", "Failed"), ("1", "Skipped")]


# -- refused ------------------------------------------------------------------------------


def test_a_server_without_starttls_is_a_failure_not_a_downgrade(start_server: StartServer) -> None:
    recorder, port = start_server()
    channel = EmailChannel(config(port, secure=()))
    with pytest.raises(EmailDeliveryError, match="does not offer STARTTLS"):
        channel.send_report(orders_report(), errors_only=False)
    assert recorder.received == []
    assert recorder.quits == 1


@pytest.mark.parametrize("implicit", [False, True])
def test_an_untrusted_certificate_is_refused_and_nothing_is_sent(
    start_server: StartServer, implicit: bool
) -> None:
    stranger = trustme.CA()  # not in the system's store, and the client trusts nothing else
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    stranger.issue_cert(HOST).configure_cert(server)
    if implicit:
        recorder, port = start_server(ssl_context=server)
        smtp = config(port, implicit_tls=True, credentials=(USER, PASSWORD))
    else:
        recorder, port = start_server(tls_context=server, auth_required=True)
        smtp = config(port, secure=(), credentials=(USER, PASSWORD))
    with pytest.warns(UserWarning, match="EmailChannel failed") as warned:
        deliveries = orders_report().notify(EmailChannel(smtp))
    assert deliveries[0].ok is False
    assert isinstance(deliveries[0].error, EmailDeliveryError)
    assert "could not be verified" in str(deliveries[0].error)
    assert recorder.received == []
    assert recorder.logins == []
    (warning,) = warned
    text = str(warning.message)
    assert "EmailChannel" in text
    assert PASSWORD not in text
    assert PASSWORD not in repr(deliveries[0])


def test_no_cleartext_login_to_another_host() -> None:
    # Refused before any connection is opened: nothing leaves this machine.
    smtp = SMTPConfig(("mail.example.test", 25), FROM, [TO], credentials=(USER, PASSWORD))
    with pytest.raises(EmailDeliveryError, match="refusing to send SMTP credentials unencrypted"):
        EmailChannel(smtp).send_report(orders_report(), errors_only=False)


def test_cleartext_login_on_loopback_is_allowed(start_server: StartServer) -> None:
    recorder, port = start_server(auth_require_tls=False)
    EmailChannel(config(port, credentials=(USER, PASSWORD))).send_report(
        orders_report(), errors_only=False
    )
    (received,) = recorder.received
    assert received.tls is False
    assert received.authenticated is True


def test_a_refused_recipient_is_a_failure(start_server: StartServer) -> None:
    recorder, port = start_server(refuse=("nobody@example.test",))
    channel = EmailChannel(config(port, toaddrs=[TO, "nobody@example.test"]))
    with pytest.raises(
        EmailDeliveryError, match=r"refused some recipients: nobody@example\.test \(550"
    ):
        channel.send_report(orders_report(), errors_only=False)
    (received,) = recorder.received
    assert received.rcpt_tos == [TO]
    assert recorder.quits == 1


def test_every_recipient_refused(start_server: StartServer) -> None:
    recorder, port = start_server(refuse=(TO,))
    with pytest.warns(UserWarning, match="refused every recipient"):
        deliveries = orders_report().notify(EmailChannel(config(port)))
    assert deliveries[0].ok is False
    assert recorder.received == []
    assert recorder.quits == 1


def test_a_server_that_is_down() -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    # The port is closed again: connecting is refused at once.
    with pytest.raises(EmailDeliveryError, match=rf"127\.0\.0\.1:{port}.*(Refused|refused)"):
        EmailChannel(config(port)).send_report(orders_report(), errors_only=False)


def test_a_server_slower_than_the_timeout() -> None:
    # A listening socket that nobody accepts from: the kernel completes the handshake,
    # then the greeting never comes.
    with socket.socket() as silent:
        silent.bind((HOST, 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        channel = EmailChannel(config(port, timeout=0.5))
        started = time.monotonic()
        with pytest.raises(EmailDeliveryError, match=r"(timed out|Timeout)"):
            channel.send_report(orders_report(), errors_only=False)
        elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 5


def test_a_secret_local_of_a_failing_task_never_reaches_the_mailbox(
    start_server: StartServer,
) -> None:
    def charge() -> None:
        password = "hunter2-very-secret"
        api_token = "tok-abcdef-123456"
        raise ConnectionError(f"gateway refused {len(password) + len(api_token)} bytes")

    with Process([Task("charge", charge)], name="secrets") as process:
        run = process.run()
    recorder, port = start_server()
    assert run.notify(EmailChannel(config(port)))[0].ok
    (received,) = recorder.received
    for part in received.message.iter_parts():
        body = part.get_content()
        assert "gateway refused" in body
        assert "password" in body  # the variable is listed...
        assert "hunter2-very-secret" not in body  # ...its value is not
        assert "tok-abcdef-123456" not in body


# -- a server echoing what AUTH sent --------------------------------------------------------


class EchoingAuth(socketserver.StreamRequestHandler):
    """Offers one AUTH mechanism and refuses it, quoting every line the client sent for it."""

    mechanism = b"PLAIN"

    def handle(self) -> None:
        self.wfile.write(b"220 smtp.test ESMTP\r\n")
        sent: list[bytes] = []
        while line := self.rfile.readline():
            words = line.split()
            verb = words[0].upper() if words else b""
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250-smtp.test\r\n250 AUTH " + self.mechanism + b"\r\n")
            elif verb == b"AUTH":
                sent.append(words[-1])
                if self.mechanism == b"LOGIN":
                    self.wfile.write(b"334 " + base64.b64encode(b"Password:") + b"\r\n")
                    sent.append(self.rfile.readline().strip())
                self.wfile.write(b"535 5.7.8 rejected: " + b" ".join(sent) + b"\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("mechanism", [b"PLAIN", b"LOGIN"])
def test_a_refused_login_echoing_the_auth_base64_shows_no_password(mechanism: bytes) -> None:
    handler = type("Handler", (EchoingAuth,), {"mechanism": mechanism})
    with socketserver.ThreadingTCPServer((HOST, 0), handler) as smtp:
        smtp.daemon_threads = True
        threading.Thread(target=smtp.serve_forever, daemon=True).start()
        try:
            channel = EmailChannel(config(smtp.server_address[1], credentials=(USER, PASSWORD)))
            with pytest.warns(UserWarning, match="535") as caught:
                (delivery,) = orders_report().notify(channel)
        finally:
            smtp.shutdown()
    shown = str(caught[0].message) + str(delivery.error)
    for secret in (b64(f"\0{USER}\0{PASSWORD}"), b64(PASSWORD), PASSWORD):
        assert secret not in shown
    assert "[redacted]" in shown
    if mechanism == b"LOGIN":
        assert b64(USER) in shown  # the user name is no secret: left as the server said it
