"""A secret held by a failing task never leaves it: not in logs, JSON, email or webhooks."""

from __future__ import annotations

import email
import email.policy
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiosmtpd.controller import Controller

from leaks import Inbox, free_port
from processes import (
    EmailChannel,
    FileChannel,
    Process,
    ProcessFailedError,
    SlackChannel,
    SMTPConfig,
    Task,
    WebhookChannel,
    WebhookConfig,
)

if TYPE_CHECKING:
    from pytest_httpserver import HTTPServer

pytestmark = pytest.mark.integration

PASSWORD = "correct-horse-battery-staple"
TOKEN = "tok_9f8e7d6c5b4a"


def connect_to_billing(account: str) -> None:
    password = PASSWORD
    api_token = TOKEN
    settings = {"host": "billing.internal", "auth": {"token": api_token}}
    raise PermissionError(f"login as {account} with {password} refused ({settings})")


def test_secret_locals_never_reach_any_output(tmp_path: Path, httpserver: HTTPServer) -> None:
    log_file = tmp_path / "billing.log"
    with Process([Task("billing", connect_to_billing, log_file, args=("ops",))]) as process:
        report = process.run()

    error = report.errored["billing"].error
    assert error is not None
    assert error.traced_vars["password"] == "[redacted]"
    assert error.traced_vars["api_token"] == "[redacted]"
    assert "billing.internal" in error.traced_vars["settings"]  # the rest stays useful

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    try:
        deliveries = report.notify(
            EmailChannel(SMTPConfig(("127.0.0.1", port), "ci@example.test", ["ops@example.test"])),
            WebhookChannel(WebhookConfig(httpserver.url_for("/hook"), secret="whk")),
            FileChannel(tmp_path / "report.html"),
            FileChannel(tmp_path / "report.json", format="json"),
            FileChannel(tmp_path / "report.txt", format="text"),
        )
    finally:
        controller.stop()

    assert [d.ok for d in deliveries] == [True] * 5
    (mail,) = inbox.raw
    decoded = email.message_from_bytes(mail, policy=email.policy.default)
    parts = [part.get_content() for part in decoded.walk() if not part.is_multipart()]
    ((request, _),) = httpserver.log
    outputs = {
        "log": log_file.read_text(),
        "json": report.to_json(),
        "text": report.to_text(),
        "html": report.to_html(),
        "mermaid": report.to_mermaid(),
        "email": "".join(parts),
        "webhook": request.get_data(as_text=True),
        "files": "".join(
            (tmp_path / n).read_text() for n in ("report.html", "report.json", "report.txt")
        ),
    }
    for where, text in outputs.items():
        assert PASSWORD not in text, where
        assert TOKEN not in text, where
    assert "PermissionError" in outputs["log"]
    assert "billing" in outputs["email"]


def _post(url: str, k: str) -> None:
    raise ConnectionError(f"POST {url} refused key {k}")


def charge_through_a_helper() -> None:
    api_key = r"sk_live_ab\cd_998877"
    _post("https://pay.example.test", api_key)


def test_a_secret_passed_down_a_call_is_masked_everywhere() -> None:
    report = Process([Task("charge", charge_through_a_helper)]).run()

    error = report.errored["charge"].error
    assert error is not None
    assert error.traced_vars["k"] == "'[redacted]'"
    texts = [report.to_json(), error.exception, error.traceback_str, report.to_text()]
    assert not any("sk_live" in text for text in texts)
    with pytest.raises(ProcessFailedError) as raised:
        report.raise_for_errors()
    shown = "".join(traceback.format_exception(raised.value))
    assert "sk_live" not in shown
    assert "refused key [redacted]" in shown  # the cause is still there, masked


def login(user: str, password: str) -> str:
    return f"logged in as {user}"


def test_a_secret_given_to_a_secret_named_parameter_is_hidden_even_on_success() -> None:
    report = Process([Task("login", login, args=("bob", "hunter2-hunter2"))]).run()

    assert report.entries["login"].args == ("bob", "[redacted]")
    assert "hunter2" not in report.to_json()


SLACK_HOOK_PATH = "T0000/B0000/XXXXsecretXXXXtoken"


def post_status(message: str) -> None:
    endpoint = f"https://hooks.slack.example.test/services/{SLACK_HOOK_PATH}"
    raise ConnectionError(f"could not post {message!r} to {endpoint}")


def test_a_channels_own_secret_held_by_a_task_reaches_no_other_channel(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    report = Process([Task("announce", post_status, args=("deploy done",))]).run()
    assert SLACK_HOOK_PATH in report.errored["announce"].error.exception  # type: ignore[union-attr]

    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    httpserver.expect_request(f"/services/{SLACK_HOOK_PATH}", method="POST").respond_with_data("ok")
    slack = SlackChannel(httpserver.url_for(f"/services/{SLACK_HOOK_PATH}"))
    deliveries = report.notify(
        WebhookChannel(WebhookConfig(httpserver.url_for("/hook"))),
        slack,
        FileChannel(tmp_path / "report.json", format="json"),
    )

    assert [d.ok for d in deliveries] == [True, True, True]
    bodies = [request.get_data(as_text=True) for request, _ in httpserver.log]
    assert len(bodies) == 2
    for body in [*bodies, (tmp_path / "report.json").read_text()]:
        assert SLACK_HOOK_PATH not in body
        assert "[redacted]" in body
    # The report itself is untouched: only what the channels received is masked.
    assert SLACK_HOOK_PATH in report.errored["announce"].error.exception  # type: ignore[union-attr]


def collect_rows(count: int, endpoint: str) -> list[str]:
    rows = [f"row {n:04d} " + "." * 40 for n in range(count)]
    return [*rows, f"posted to {endpoint}"]


def test_a_channel_url_past_the_cut_of_a_results_repr_is_masked_in_the_json_file(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    url = httpserver.url_for(f"/services/{SLACK_HOOK_PATH}")
    report = Process([Task("collect", collect_rows, args=(60, url))]).run()
    result = report.entries["collect"].result
    assert isinstance(result, list)
    assert len(repr(result)) > 3000
    httpserver.expect_request(f"/services/{SLACK_HOOK_PATH}", method="POST").respond_with_data("ok")

    deliveries = report.notify(
        SlackChannel(url), FileChannel(tmp_path / "report.json", format="json")
    )

    assert [d.ok for d in deliveries] == [True, True]
    written = (tmp_path / "report.json").read_text()
    assert url not in written
    assert SLACK_HOOK_PATH not in written
    assert "[redacted]" in written
    assert "row 0000" in written  # the rows before it are kept as they were
    assert SLACK_HOOK_PATH in result[-1]  # the report itself is untouched
