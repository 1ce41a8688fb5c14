"""Secrets known by their value (the environment's) and by their shape, through every output.

The two snippets of issue 14, every credential shape of SPEC §5 and the environment's
secret values, held by innocently named variables, arguments and results, through the
report's views, its files, a real SMTP server (aiosmtpd), a webhook and the three chat
services (pytest-httpserver), and the log file. The samples are fake, built to the
vendors' published formats.
"""

from __future__ import annotations

import email
import json
import os
import urllib.parse
from concurrent.futures import ProcessPoolExecutor
from email import policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer

from leaks import Inbox, everything, free_port
from processes import (
    DiscordChannel,
    EmailChannel,
    FileChannel,
    Process,
    ProcessExecutionReport,
    SlackChannel,
    SMTPConfig,
    Task,
    TeamsChannel,
    WebhookChannel,
    WebhookConfig,
)

pytestmark = pytest.mark.integration

SHAPES = {
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "stripe restricted": "rk_live_" + "51H8sLmKZ0bq2xY7wQe3R9tU",
    "github": "ghp_" + "x1Y2z3A4b5C6d7E8f9G0h1I2j3K4l5M6n7O8",
    "github oauth": "gho_" + "16C7e42F292c6912E7710c838347Ae178B4a",
    "github server": "ghs_" + "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5",
    "github fine-grained": "github_pat_11ABCDEFG0123456789abc_" + "Zz9" * 19 + "xy",
    "slack": "xoxb-" + "17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
    "aws": "AKIA" + "IOSFODNN7EXAMPLE",
    "google": "AIza" + "SyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI",
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "pem": "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "-----END RSA PRIVATE KEY-----",
}
# Parts that must never show: a mask keeps a vendor's prefix, never the rest.
SHAPE_SECRETS = {
    name: sample.split("_", 2)[-1] if name.startswith(("stripe", "github f")) else sample[4:]
    for name, sample in SHAPES.items()
}
SHAPE_SECRETS["pem"] = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
SHAPE_SECRETS["jwt"] = SHAPES["jwt"][3:]
SHAPE_SECRETS["slack"] = SHAPES["slack"][5:]

ENVIRONMENT = {
    "STRIPE_KEY": SHAPES["stripe"],
    "DB_PASSWORD": "correct-horse-99",
    "SENTRY_DSN": "https://abc123def456@o1.ingest.sentry.io/42",
    "SMTP_PW": "Pw-for-smtp/2024",
    "PAYMENTS_API_KEY": "pay 'quoted' \\ key",
    "QUEUE_PW": "Qp9z",  # shorter than 8: masked only where it stands as a word
}


def forms(value: str) -> list[str]:
    """``value`` as text, repr(), JSON and a URL may write it."""
    return [
        value,
        repr(value)[1:-1],
        json.dumps(value)[1:-1],
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value, safe=""),
    ]


def forbidden() -> dict[str, list[str]]:
    found = {f"shape {name}": forms(part) for name, part in SHAPE_SECRETS.items()}
    found.update({f"env {name}": forms(value) for name, value in ENVIRONMENT.items()})
    del found["env QUEUE_PW"]  # a word: checked on its own
    return found


def assert_clean(where: str, text: str) -> None:
    for what, written in forbidden().items():
        for form in written:
            assert form not in text, f"{what} shows in {where}"
    words = text.replace("\\n", " ").split()
    assert not any(word.strip(".,:;'\"()[]{}") == "Qp9z" for word in words), where


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():  # as a script sets them before run()
        monkeypatch.setenv(name, value)


# -- the tasks: every secret held under an innocent name ------------------------------------


def charge() -> None:
    """The first snippet of issue 14."""
    key = os.environ["STRIPE_KEY"]
    raise RuntimeError(f"stripe refused request with key {key}")


def connect() -> None:
    """The second snippet of issue 14."""
    pw = os.environ["DB_PASSWORD"]
    raise RuntimeError(f"database refused the login with {pw}")


def relay(values: list[str]) -> None:
    first = values[0]
    queue = os.environ["QUEUE_PW"]
    url = "smtp://mailer:" + urllib.parse.quote(os.environ["SMTP_PW"], safe="") + "@mx"
    raise ValueError(f"upstream said {first!r}; {' | '.join(values)} (queue {queue}, {url})")


def describe() -> dict[str, Any]:
    return {
        "dsn": os.environ["SENTRY_DSN"],
        "note": f"paid with {os.environ['PAYMENTS_API_KEY']!r}",
        "shapes": list(SHAPES.values()),
    }


def echo(text: str) -> str:
    return f"echo: {text}"


class Flaky:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError(f"reset while sending {os.environ['SMTP_PW']}")
        return "sent"


def build(log_path: Path) -> Process:
    return Process(
        [
            Task("charge", charge, log_path),
            Task("connect", connect, log_path),
            Task("relay", relay, log_path, args=(list(SHAPES.values()),)),
            Task("describe", describe, log_path),
            Task("echo", echo, log_path, args=(SHAPES["aws"],)),
            Task("flaky", Flaky(), log_path, retries=1),
        ],
        name="billing",
    )


def test_the_issues_snippets_are_masked(environment: None) -> None:
    with Process([Task("charge", charge), Task("connect", connect)]) as process:
        report = process.run()
    charge_error = report.entries["charge"].error
    connect_error = report.entries["connect"].error
    assert charge_error is not None
    assert connect_error is not None
    assert charge_error.headline == "RuntimeError: stripe refused request with key [redacted]"
    assert connect_error.headline == "RuntimeError: database refused the login with [redacted]"
    assert charge_error.traced_vars["key"] == "'[redacted]'"
    assert connect_error.traced_vars["pw"] == "'[redacted]'"
    for view in (report.to_json(), report.to_text(color=False), report.to_html()):
        assert_clean("a view", view)
        assert "stripe refused request with key" in view


@pytest.mark.parametrize("parallel", [False, True])
def test_every_view_and_the_log_file_hold_no_secret(
    environment: None, tmp_path: Path, parallel: bool
) -> None:
    log_path = tmp_path / "billing.log"
    with build(log_path) as process:
        report = process.run(parallel=parallel)
    assert set(report.errored) == {"charge", "connect", "relay"}
    assert set(report.successes) == {"describe", "echo", "flaky"}
    log = log_path.read_text(encoding="utf-8")
    assert "Attempt 1/2 failed: ConnectionError: reset while sending [redacted]" in log
    assert "ERROR" in log
    assert_clean("the log file", log)
    assert_clean("the report", everything(report))
    restored = ProcessExecutionReport.from_json(report.to_json())
    assert_clean("the report read back", everything(restored))
    # What is not secret stays readable.
    relay_error = report.entries["relay"].error
    assert relay_error is not None
    # The Stripe key is the environment's STRIPE_KEY too: masked whole, as a known value.
    assert relay_error.headline.startswith("ValueError: upstream said '[redacted]'; [redacted] |")
    assert "rk_live_[redacted] | ghp_[redacted] | gho_[redacted]" in relay_error.exception
    assert "(queue [redacted], smtp://mailer:[redacted]@mx)" in relay_error.exception
    assert report.entries["echo"].result == "echo: AKIA[redacted]"
    assert report.entries["echo"].args == ("AKIA[redacted]",)
    described = report.entries["describe"].result
    assert described["dsn"] == "[redacted]"
    assert described["note"] == 'paid with "[redacted]"'  # repr() chose double quotes
    assert report.entries["flaky"].attempt_errors == (
        "ConnectionError: reset while sending [redacted]",
    )


def test_every_channel_receives_no_secret(
    environment: None, tmp_path: Path, httpserver: HTTPServer
) -> None:
    with build(tmp_path / "billing.log") as process:
        report = process.run()
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    for path in ("/hook", "/slack", "/discord", "/teams"):
        httpserver.expect_request(path, method="POST").respond_with_data("ok")
    try:
        deliveries = report.notify(
            EmailChannel(SMTPConfig(("127.0.0.1", port), "ci@example.test", ["ops@example.test"])),
            WebhookChannel(WebhookConfig(httpserver.url_for("/hook"), secret="whk")),
            SlackChannel(httpserver.url_for("/slack")),
            DiscordChannel(httpserver.url_for("/discord")),
            TeamsChannel(httpserver.url_for("/teams")),
            FileChannel(tmp_path / "report.html"),
            FileChannel(tmp_path / "report.json", format="json"),
            FileChannel(tmp_path / "report.txt", format="text"),
        )
    finally:
        controller.stop()
    assert [d.ok for d in deliveries] == [True] * 8

    (raw,) = inbox.raw
    message = email.message_from_bytes(raw, policy=policy.default)
    parts = [part.get_content() for part in message.walk() if not part.is_multipart()]
    assert [part.get_content_type() for part in message.walk()][1:] == ["text/plain", "text/html"]
    assert_clean("the email as sent", raw.decode("utf-8", errors="replace"))
    for part in parts:
        assert_clean("an email part", part)
        assert "stripe refused request with key [redacted]" in part
    bodies = {request.path: request.get_data(as_text=True) for request, _ in httpserver.log}
    assert set(bodies) == {"/hook", "/slack", "/discord", "/teams"}
    for path, body in bodies.items():
        assert_clean(f"the body POSTed to {path}", body)
        assert_clean(f"the JSON POSTed to {path}", json.dumps(json.loads(body), ensure_ascii=False))
        assert "[redacted]" in body, path
    for name in ("report.html", "report.json", "report.txt"):
        assert_clean(name, (tmp_path / name).read_text(encoding="utf-8"))
    assert_clean("the mermaid graph", report.to_mermaid())


def test_task_run_alone_masks_the_environment_too(environment: None) -> None:
    outcome = Task("charge", charge).run()
    assert outcome.error_data is not None
    assert outcome.error_data.exception.endswith("key [redacted]")
    assert SHAPES["stripe"] not in str(outcome.exception)


def test_a_value_set_by_the_script_just_before_run_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    with Process([Task("connect", connect)]) as process:
        monkeypatch.setenv("DB_PASSWORD", "set-just-before-run-1")  # after the process was built
        report = process.run()
    error = report.entries["connect"].error
    assert error is not None
    assert error.headline == "RuntimeError: database refused the login with [redacted]"


def test_redact_off_shows_the_values(environment: None) -> None:
    with Process([Task("connect", connect, redact=())]) as process:
        report = process.run()
    error = report.entries["connect"].error
    assert error is not None
    assert error.exception.endswith(ENVIRONMENT["DB_PASSWORD"])


def fail_with(text: str) -> None:
    raise RuntimeError(f"worker refused {text}")


def test_a_process_pool_worker_that_never_saw_the_value_is_masked_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with ProcessPoolExecutor(1) as pool:
        pool.submit(os.getpid).result()  # the worker starts before the value exists
        monkeypatch.setenv("BILLING_TOKEN", "tok-only-in-the-parent-77")
        with Process([Task("post", fail_with, args=("tok-only-in-the-parent-77",))]) as process:
            report = process.run(executor=pool)
    error = report.entries["post"].error
    assert error is not None
    assert error.headline == "RuntimeError: worker refused [redacted]"
    assert "tok-only-in-the-parent-77" not in everything(report)
