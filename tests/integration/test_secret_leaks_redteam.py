"""Red-team: ways a secret could reach what a user or a recipient sees.

Each test is an attack found in review and not covered elsewhere in ``tests/``: a leak
(or a garbling) that has been fixed, or one that was defended already. A new leak goes in
as an ``xfail(strict=True)`` test until it is fixed. Servers run on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import dataclasses
import socketserver
import threading
import traceback
import urllib.parse
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from leaks import everything
from processes import (
    EmailChannel,
    Process,
    ProcessExecutionReport,
    ProcessFailedError,
    ReportChannel,
    SMTPConfig,
    Task,
    TaskDependency,
    WebhookChannel,
    WebhookConfig,
)

pytestmark = pytest.mark.integration

# Deliberately not secret-named: a secret-named global is masked by its name wherever the
# code that uses it fails, which would hide the leaks these tests look for.
CANARY = "Hunter2-s3cret-XYZ"


# -- helpers --------------------------------------------------------------------------------


def run_one(task: Task) -> ProcessExecutionReport:
    with Process([task]) as process:
        return process.run(parallel=False)


class Recording(ReportChannel):
    """A channel that keeps the report notify() hands it."""

    def __init__(self) -> None:
        self.seen: list[ProcessExecutionReport] = []

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        self.seen.append(report)


class QuietWebhook(WebhookChannel):
    """A webhook channel with its real secrets, which posts nowhere."""

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        return None


# -- the task's own values: capture ---------------------------------------------------------


def use_config(config: dict[str, str]) -> None:
    raise ConnectionError(f"cannot reach {config['host']}")


def test_a_positional_dict_argument_with_a_secret_key(tmp_path: Path) -> None:
    log = tmp_path / "task.log"
    config = {"host": "db.internal", "password": CANARY}
    with Process([Task("connect", use_config, log, args=(config,))]) as process:
        report = process.run()
    assert CANARY not in everything(report)
    assert CANARY not in log.read_text(encoding="utf-8")


def fetch_session_token() -> str:
    return CANARY


def call_api(session_token: str) -> str:
    return "ok"


def test_an_upstream_result_fed_to_a_secret_parameter_is_not_shown_as_a_result() -> None:
    uses_token = TaskDependency(
        "login", use_result_as_additional_kwargs=True, additional_kwarg_name="session_token"
    )
    tasks = [Task("login", fetch_session_token), Task("api", call_api, dependencies=[uses_token])]
    with Process(tasks) as process:
        report = process.run()
    assert report.entries["api"].kwargs == {"session_token": "[redacted]"}  # holds
    assert CANARY not in everything(report)
    body = QuietWebhook(WebhookConfig("https://hooks.example.com/ci")).render(report)
    assert CANARY not in body.decode()


def connect_with_dsn() -> None:
    dsn = f"postgresql://admin:{CANARY}@db.internal:5432/prod"
    raise ConnectionError(f"could not connect to {dsn}")


def test_a_password_in_url_userinfo_is_masked() -> None:
    report = run_one(Task("connect", connect_with_dsn))
    error = report.errored["connect"].error
    assert error is not None
    assert "admin" in error.exception  # the rest of the URL stays useful
    assert CANARY not in everything(report)


def refuse_login(password: str) -> None:
    raise PermissionError(f"login refused with {password}")


def login_many_times() -> None:
    problems: list[Exception] = []
    try:
        refuse_login(CANARY)
    except PermissionError as exc:
        problems.append(exc)
    raise ExceptionGroup("every login failed", problems)


def test_a_secret_inside_an_exception_group_is_masked() -> None:
    report = run_one(Task("logins", login_many_times))
    assert CANARY not in everything(report)
    with pytest.raises(ProcessFailedError) as caught:
        report.raise_for_errors()
    assert CANARY not in "".join(traceback.format_exception(caught.value))


def authenticate(pair: tuple[str, str]) -> None:
    raise PermissionError(f"{pair[0]}:{pair[1]} was refused")


def login_with_auth_tuple() -> None:
    auth = ("admin", CANARY)  # requests-style auth=(user, password)
    authenticate(auth)


def raise_with(message: str) -> None:
    raise ConnectionError(message)


def describe_config_in_caller() -> None:
    config = {"host": "db.internal", "password": CANARY}
    raise_with(f"bad config {config}")


@pytest.mark.parametrize("job", [login_with_auth_tuple, describe_config_in_caller])
def test_a_secret_in_a_callers_container_is_masked_where_it_reappears(job: Any) -> None:
    report = run_one(Task("login", job))
    assert CANARY not in everything(report)


@dataclasses.dataclass
class DatabaseSettings:
    host: str
    password: str


def connect_with_objects() -> None:
    settings = DatabaseSettings("db.internal", CANARY)
    cli = argparse.Namespace(host="db.internal", api_key=CANARY)
    raise ConnectionError(f"cannot reach {settings.host} ({cli.host})")


def test_secret_fields_of_objects_in_traced_vars() -> None:
    report = run_one(Task("connect", connect_with_objects))
    error = report.errored["connect"].error
    assert error is not None
    assert CANARY not in error.traced_vars["settings"]
    assert CANARY not in error.traced_vars["cli"]


DEEP = {"services": {"db": {"primary": {"connection": {"options": {"password": CANARY}}}}}}


def load(settings: dict[str, Any]) -> None:
    raise ValueError("cannot load")


def test_a_secret_key_nested_deeper_than_the_scrub_depth() -> None:
    report = run_one(Task("load", load, kwargs={"settings": DEEP}))
    assert CANARY not in everything(report)


def issue_credentials() -> dict[str, str]:
    return {"user": "ci-bot", "access_token": CANARY}


def test_a_result_dict_with_a_secret_key() -> None:
    report = run_one(Task("issue", issue_credentials))
    assert CANARY not in everything(report)
    body = QuietWebhook(WebhookConfig("https://hooks.example.com/ci")).render(report)
    assert CANARY not in body.decode()


PERCENT_PASSWORD = "p@ss/w0rd&x=1"


def connect_percent_encoded() -> None:
    password = PERCENT_PASSWORD
    quoted = urllib.parse.quote(password, safe="")
    raise ConnectionError(f"cannot reach postgresql://admin:{quoted}@db.internal/prod")


def test_a_url_encoded_secret_is_masked() -> None:
    report = run_one(Task("connect", connect_percent_encoded))
    assert urllib.parse.quote(PERCENT_PASSWORD, safe="") not in everything(report)


def basic_auth_refused() -> None:
    user, password = "admin", CANARY
    header = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    raise PermissionError(f"server refused Authorization: {header}")


def test_a_basic_auth_header_is_masked() -> None:
    report = run_one(Task("call", basic_auth_refused))
    encoded = base64.b64encode(f"admin:{CANARY}".encode()).decode()
    assert encoded not in everything(report)


class ApiClient:
    def __init__(self, api_key: str) -> None:
        self._key = api_key

    def get(self) -> None:
        raise ConnectionError("api unreachable")


def call_with_literal_key() -> None:
    ApiClient(api_key="sk_live_51HxYzAbCdEf9876").get()


def test_a_secret_literal_in_a_traceback_source_line() -> None:
    report = run_one(Task("call", call_with_literal_key))
    assert "sk_live_51HxYzAbCdEf9876" not in everything(report)


SERVICE_TOKEN = "svc-tok-0a1b2c3d4e5f"


def use_global_token() -> None:
    raise PermissionError(f"token {SERVICE_TOKEN} was revoked")


def test_a_secret_named_global_is_masked_in_the_message() -> None:
    report = run_one(Task("call", use_global_token))
    assert SERVICE_TOKEN not in everything(report)


def expire_session() -> None:
    session_token = uuid.UUID("8c5b1e0a-4f6d-4c2b-9a7e-3d1f0b2c4e6a")
    raise PermissionError(f"session {session_token} expired")


def test_a_uuid_token_is_masked_in_the_message() -> None:
    report = run_one(Task("call", expire_session))
    assert "8c5b1e0a-4f6d-4c2b-9a7e-3d1f0b2c4e6a" not in everything(report)


def use_common_short_names() -> None:
    creds = ("admin", CANARY)
    pw = CANARY
    raise PermissionError(f"refused {creds[0]} ({len(pw)})")


def test_common_short_names_for_secrets() -> None:
    report = run_one(Task("call", use_common_short_names))
    assert CANARY not in everything(report)


# -- the task's own values: defended ----------------------------------------------------------


def fail_with_a_note() -> None:
    token = CANARY
    error = ValueError("request refused")
    error.add_note(f"sent with {token}")
    raise error


def test_a_secret_in_an_exception_note_is_masked() -> None:
    report = run_one(Task("call", fail_with_a_note))
    error = report.errored["call"].error
    assert error is not None
    assert "sent with [redacted]" in error.traceback_str
    assert CANARY not in everything(report)


def wrap_login_failure() -> None:
    try:
        refuse_login(CANARY)
    except PermissionError:
        raise RuntimeError("the login step failed") from None


def chain_login_failure() -> None:
    try:
        refuse_login(CANARY)
    except PermissionError as exc:
        raise RuntimeError("the login step failed") from exc


@pytest.mark.parametrize("job", [chain_login_failure, wrap_login_failure])
def test_a_secret_in_an_unwound_frame_of_a_chained_exception(job: Any) -> None:
    report = run_one(Task("login", job))
    assert CANARY not in everything(report)
    with pytest.raises(ProcessFailedError) as caught:
        report.raise_for_errors()
    assert CANARY not in "".join(traceback.format_exception(caught.value))


async def async_login() -> None:
    api_token = CANARY
    raise PermissionError(f"refused {api_token}")


def test_an_async_tasks_secret_local_is_masked() -> None:
    report = run_one(Task("login", async_login))
    error = report.errored["login"].error
    assert error is not None
    assert error.traced_vars.get("api_token") == "[redacted]"
    assert CANARY not in everything(report)


_flaky_calls = {"n": 0}


def flaky_login() -> None:
    _flaky_calls["n"] += 1
    password = CANARY
    raise ConnectionError(f"attempt {_flaky_calls['n']} with {password} timed out")


def test_retries_events_and_log_lines_never_show_a_secret(tmp_path: Path) -> None:
    _flaky_calls["n"] = 0
    log = tmp_path / "flaky.log"
    events: list[Any] = []
    task = Task("flaky", flaky_login, log, retries=2)
    with Process([task]) as process:
        report = process.run(on_event=events.append)
    entry = report.errored["flaky"]
    assert len(entry.attempt_errors) == 3
    assert all("[redacted]" in text for text in entry.attempt_errors)
    assert any(getattr(event, "error", None) for event in events)
    assert CANARY not in repr(events)
    assert CANARY not in log.read_text(encoding="utf-8")
    assert CANARY not in everything(report)


class Connector:
    def connect(self, host: str, password: str) -> None:
        raise ConnectionError(f"{host} refused {password}")


def test_a_secret_passed_positionally_to_a_bound_method() -> None:
    report = run_one(Task("connect", Connector().connect, args=("db", CANARY)))
    assert report.entries["connect"].args == ("db", "[redacted]")
    assert CANARY not in everything(report)


# -- channels: their own secrets ---------------------------------------------------------------


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    yield httpserver_ipv4
    httpserver_ipv4.clear()


def quiet_report() -> ProcessExecutionReport:
    return run_one(Task("noop", lambda: None))


def test_a_bearer_token_echoed_alone_by_the_server_never_reaches_the_warning(
    server: HTTPServer,
) -> None:
    token = "tok_live_7Hq2mZ9xW4"
    server.expect_request("/ci").respond_with_data(f"invalid token {token}", status=401)
    channel = WebhookChannel(
        WebhookConfig(server.url_for("/ci"), headers={"Authorization": f"Bearer {token}"})
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (delivery,) = quiet_report().notify(channel)
    assert not delivery.ok
    assert "HTTP 401" in str(caught[0].message)
    assert token not in str(caught[0].message)


def call_with_bearer() -> None:
    raise PermissionError("token tok_live_7Hq2mZ9xW4 is not allowed here")


def test_a_channels_bearer_token_held_by_a_task_reaches_no_channel() -> None:
    token = "tok_live_7Hq2mZ9xW4"
    webhook = QuietWebhook(
        WebhookConfig("https://hooks.example.com/ci", headers={"Authorization": f"Bearer {token}"})
    )
    recording = Recording()
    run_one(Task("call", call_with_bearer)).notify(webhook, recording)
    assert token not in everything(recording.seen[0])


def test_a_named_secret_query_parameter_echoed_by_the_server(server: HTTPServer) -> None:
    key = "QuietlyLongApi"  # letters only, shorter than 16: not "token-like" today
    server.expect_request("/ci").respond_with_data(f"unknown key {key}", status=403)
    channel = WebhookChannel(WebhookConfig(server.url_for("/ci") + f"?api_key={key}"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_report().notify(channel)
    assert "HTTP 403" in str(caught[0].message)
    assert key not in str(caught[0].message)


class _EchoingSmtp(socketserver.StreamRequestHandler):
    """Advertises AUTH PLAIN and refuses it, echoing what the client sent, as some do."""

    decode: bool = False

    def handle(self) -> None:
        self.wfile.write(b"220 smtp.test ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250-smtp.test\r\n250 AUTH PLAIN\r\n")
            elif verb == b"AUTH":
                sent = line.split()[-1]
                if self.decode:
                    with contextlib.suppress(binascii.Error):
                        sent = binascii.a2b_base64(sent).replace(b"\0", b" ")
                self.wfile.write(b"535 5.7.8 credentials rejected: " + sent + b"\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


@contextlib.contextmanager
def _echoing_smtp(decode: bool) -> Iterator[int]:
    """An SMTP server on a loopback port (yielded) that quotes back what AUTH sent."""
    handler = type("Handler", (_EchoingSmtp,), {"decode": decode})
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    smtp.daemon_threads = True
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    try:
        yield smtp.server_address[1]
    finally:
        smtp.shutdown()
        smtp.server_close()


def _notify_smtp(port: int, password: str) -> str:
    config = SMTPConfig(
        ("127.0.0.1", port),
        "ci@example.test",
        ["ops@example.test"],
        credentials=("ci-bot", password),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (delivery,) = quiet_report().notify(EmailChannel(config))
    assert not delivery.ok
    return str(caught[0].message) + repr(delivery)


def test_an_smtp_reply_echoing_the_password_is_masked() -> None:
    with _echoing_smtp(decode=True) as port:
        shown = _notify_smtp(port, CANARY)
    assert "535" in shown
    assert "[redacted]" in shown
    assert CANARY not in shown


def test_an_smtp_reply_echoing_the_auth_plain_base64_is_masked() -> None:
    with _echoing_smtp(decode=False) as port:
        shown = _notify_smtp(port, CANARY)
    assert "535" in shown
    encoded = base64.b64encode(f"\0ci-bot\0{CANARY}".encode()).decode()
    assert encoded not in shown


# -- over-redaction ------------------------------------------------------------------------------


def missing_hook_file() -> None:
    raise FileNotFoundError("/srv/app/hooks/deploy.py is missing")


def test_a_webhook_urls_plain_path_does_not_garble_other_reports() -> None:
    webhook = QuietWebhook(WebhookConfig("https://ci.example.com/hooks"))
    recording = Recording()
    run_one(Task("deploy", missing_hook_file)).notify(webhook, recording)
    error = recording.seen[0].entries["deploy"].error
    assert error is not None
    assert error.headline == "FileNotFoundError: /srv/app/hooks/deploy.py is missing"


def open_report(path: str) -> str:
    session_state = "open"  # a state, not a secret, under a secret-looking name
    with open(path) as handle:
        return f"{session_state}: {handle.read()}"


def test_a_short_value_under_a_secret_looking_name_does_not_garble_the_traceback() -> None:
    report = run_one(Task("read", open_report, args=("/nonexistent/opened.txt",)))
    error = report.errored["read"].error
    assert error is not None
    assert error.traced_vars["session_state"] == "[redacted]"  # the variable itself: fine
    assert "opened.txt" in error.exception
    assert "in open_report" in error.traceback_str
    # A value this short is still masked where it stands as a word: "with open(path)"
    # shows as "with [redacted](path)". Only parts of longer words are spared.
