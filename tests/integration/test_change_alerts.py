"""A pipeline run five times: fail, the same failure, another failure, recover, succeed;
then a run that found the night before it dead (SPEC §13).

Twice: from reports built by hand as a history would fill them, and end to end, through
``process.run(history=...)`` on a real SQLite file.

With ``notify(only_changes=True)`` exactly the first, third and fourth runs alert, in every
channel: email over STARTTLS with AUTH (aiosmtpd, a private CA made by trustme), a
webhook, Slack, Discord and Teams (pytest-httpserver), each on 127.0.0.1. What the
servers received says what changed, in every language the email speaks.
"""

from __future__ import annotations

import asyncio
import email
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pytest_httpserver import HTTPServer

from factories import make_entry, make_error, make_report
from processes import (
    DiscordChannel,
    EmailChannel,
    HTMLEmailStyle,
    Process,
    ProcessExecutionReport,
    RunHistory,
    SlackChannel,
    SMTPConfig,
    Task,
    TaskDependency,
    TaskStatus,
    TeamsChannel,
    WebhookChannel,
    WebhookConfig,
)
from processes.outcome import CrashedRun, FailureStreak, TaskChange
from processes.rendering.changes import crash_notes
from processes.rendering.common import escape
from processes.rendering.locales import LANGUAGES, get_locale

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"
USER, PASSWORD = "pipeline-bot", "correct-horse-battery-staple"
FIRST = datetime(2024, 3, 15, 1, 0, tzinfo=UTC)


# -- the five runs, as a history would have told them ----------------------------------------


def nightly(
    night: int,
    failed: dict[str, str],
    changes: dict[str, TaskChange],
    streaks: dict[str, int] | None = None,
) -> ProcessExecutionReport:
    """Run ``night`` (0-based, an hour apart) of fetch -> charge -> ship, plus archive."""
    t0 = FIRST + timedelta(hours=night)

    def task(name: str, dependencies: tuple[str, ...] = ()) -> Any:
        if name in failed:
            error = make_error(name, failed[name])
            return make_entry(
                name,
                TaskStatus.ERRORED,
                attempts=2,
                error=error,
                dependencies=dependencies,
                attempt_errors=(failed[name], failed[name]),
                t0=t0,
            )
        if any(dep in failed for dep in dependencies):
            return make_entry(name, TaskStatus.SKIPPED, dependencies=dependencies, t0=t0)
        return make_entry(name, dependencies=dependencies, t0=t0)

    report = make_report(
        task("fetch"),
        task("charge", ("fetch",)),
        task("ship", ("charge",)),
        task("archive"),
        name="orders",
        t0=t0,
    )
    return replace(
        report,
        run_id=f"run-{night + 1}",
        host="batch-01",
        compared=True,  # as a history fills it
        changes=changes,
        streaks={
            name: FailureStreak(runs, FIRST + timedelta(hours=night - runs + 1))
            for name, runs in (streaks or {}).items()
        },
    )


REFUSED = "ConnectionError: payment gateway refused"
DISK = "OSError: disk full"
RUNS = [
    # 1. charge fails: new.
    nightly(0, {"charge": REFUSED}, {"charge": TaskChange.NEW_FAILURE}),
    # 2. the same failure: still failing, 2 runs, since the first.
    nightly(1, {"charge": REFUSED}, {"charge": TaskChange.STILL_FAILING}, {"charge": 2}),
    # 3. charge still fails, and archive fails too: a new failure beside the known one.
    nightly(
        2,
        {"charge": REFUSED, "archive": DISK},
        {"charge": TaskChange.STILL_FAILING, "archive": TaskChange.NEW_FAILURE},
        {"charge": 3},
    ),
    # 4. both fixed: recovered.
    nightly(3, {}, {"charge": TaskChange.RECOVERED, "archive": TaskChange.RECOVERED}),
    # 5. a clean run like any other.
    nightly(4, {}, {}),
]
ALERTED = [0, 2, 3]  # the runs that alert with only_changes=True


# -- servers ----------------------------------------------------------------------------------


@dataclass
class Received:
    message: EmailMessage
    tls: bool
    authenticated: bool | None


class Inbox:
    """An aiosmtpd handler keeping each message and whether it came over TLS, logged in."""

    def __init__(self) -> None:
        self.received: list[Received] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(message, session.ssl is not None, session.authenticated))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok)


class LoopbackController(Controller):
    def __init__(self, handler: Inbox, **kwargs: Any) -> None:
        super().__init__(handler, hostname=HOST, port=0, server_hostname="smtp.test", **kwargs)

    def _trigger_server(self) -> None:
        server = cast("asyncio.Server", self.server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@dataclass
class Smtp:
    inbox: Inbox
    port: int
    client_tls: ssl.SSLContext

    def channel(self, language: str) -> EmailChannel:
        config = SMTPConfig(
            (HOST, self.port),
            "pipeline@example.test",
            ["oncall@example.test"],
            credentials=(USER, PASSWORD),
            secure=(),
            ssl_context=self.client_tls,
        )
        return EmailChannel(config, HTMLEmailStyle("slate", language))


@pytest.fixture
def smtp(ca: trustme.CA) -> Iterator[Smtp]:
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    inbox = Inbox()
    controller = LoopbackController(
        inbox,
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=inbox.authenticate,
    )
    controller.start()
    yield Smtp(inbox, controller.port, client_tls)
    controller.stop()


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    for path in ("/hook", "/slack", "/discord", "/teams"):
        httpserver_ipv4.expect_request(path, method="POST").respond_with_data("ok")
    yield httpserver_ipv4
    httpserver_ipv4.clear()


def bodies(server: HTTPServer, path: str) -> list[dict[str, Any]]:
    return [json.loads(request.get_data()) for request, _ in server.log if request.path == path]


def since(hours: int) -> str:
    return (FIRST + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M UTC")


# -- the sequence -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_email_alerts_exactly_on_changes_with_the_right_words(smtp: Smtp, language: str) -> None:
    words = get_locale(language)
    channel = smtp.channel(language)
    sent = [report.notify(channel, only_changes=True)[0] for report in RUNS]
    assert [d.sent for d in sent] == [i in ALERTED for i in range(len(RUNS))]
    assert all(d.ok for d in sent)

    first, third, fourth = smtp.inbox.received
    assert all(r.tls and r.authenticated for r in smtp.inbox.received)
    assert [r.message["Subject"] for r in smtp.inbox.received] == [
        f"{words.subject_failed} orders | 20240315",
        f"{words.subject_failed} orders | 20240315",
        f"{words.subject_recovered} orders | 20240315",
    ]
    new = words.change[TaskChange.NEW_FAILURE]
    still = words.still_failing_since.format(since=since(0), runs=words.runs(3))
    recovered = words.change[TaskChange.RECOVERED]
    for received, expected in (
        (first, {"charge": new}),
        (third, {"charge": still, "archive": new}),
        (fourth, {"charge": recovered, "archive": recovered}),
    ):
        plain = received.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = received.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        for task, said in expected.items():
            (line,) = [
                ln for ln in plain.splitlines() if ln[:2] == "  " and ln.split()[1:2] == [task]
            ]
            assert f"[{said}]" in line, (task, line)
            assert said in html
        assert f"{words.label_run} run-" in plain
        assert f"{words.label_host} batch-01" in html
    assert words.heading_recovered in fourth.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    # The same error on both attempts is said once, with the count.
    repeated = words.attempts_all_same.format(attempts=words.attempts(2), error=REFUSED)
    assert repeated in first.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_without_only_changes_every_run_is_mailed_under_its_outcome(smtp: Smtp) -> None:
    channel = smtp.channel("en")
    for report in RUNS:
        report.notify(channel)
    subjects = [r.message["Subject"].split(" orders")[0] for r in smtp.inbox.received]
    assert subjects == ["Failed:", "Still failing:", "Failed:", "Recovered:", "Succeeded:"]


def test_webhook_and_chat_alert_exactly_on_changes(server: HTTPServer) -> None:
    channels = [
        WebhookChannel(WebhookConfig(server.url_for("/hook"), nest_under="report")),
        SlackChannel(server.url_for("/slack")),
        DiscordChannel(server.url_for("/discord")),
        TeamsChannel(server.url_for("/teams")),
    ]
    for index, report in enumerate(RUNS):
        deliveries = report.notify(*channels, only_changes=True)
        assert [d.sent for d in deliveries] == [index in ALERTED] * 4
        assert all(d.ok for d in deliveries)

    hooks = [body["report"] for body in bodies(server, "/hook")]
    assert [hook["run_id"] for hook in hooks] == ["run-1", "run-3", "run-4"]
    assert [hook["changes"] for hook in hooks] == [
        {"charge": "new_failure"},
        {"charge": "still_failing", "archive": "new_failure"},
        {"charge": "recovered", "archive": "recovered"},
    ]
    charge = hooks[1]["entries"]["charge"]
    assert charge["change"] == "still_failing"
    assert charge["failing_runs"] == 3
    assert charge["still_failing_since"] == FIRST.isoformat()
    assert hooks[2]["entries"]["archive"]["change"] == "recovered"
    assert all(hook["host"] == "batch-01" for hook in hooks)

    still = f"still failing since {since(0)} (3 runs)"
    slack = [json.dumps(body) for body in bodies(server, "/slack")]
    discord = [
        json.dumps(body).replace("\\\\[", "[").replace("\\\\]", "]")
        for body in bodies(server, "/discord")
    ]
    teams = [json.dumps(body) for body in bodies(server, "/teams")]
    for service in (slack, discord, teams):
        assert len(service) == 3
        first, third, fourth = service
        assert "[new]" in first
        assert f"[{still}]" in third
        assert "[new]" in third
        assert "Recovered (2)" in fourth
        assert "(2 recovered)" in fourth
        assert "run run-4" in fourth
    slack_titles = [body["text"] for body in bodies(server, "/slack")]
    assert slack_titles == [
        "orders: 1 of 4 tasks failed (1 new)",
        "orders: 2 of 4 tasks failed (1 new)",
        "orders: all 4 tasks succeeded (2 recovered)",
    ]


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_chat_alerts_speak_the_channel_language(server: HTTPServer, language: str) -> None:
    words = get_locale(language)
    channels = [
        SlackChannel(server.url_for("/slack"), language=language),
        DiscordChannel(server.url_for("/discord"), language=language),
        TeamsChannel(server.url_for("/teams"), language=language),
    ]
    for report in RUNS:
        report.notify(*channels, only_changes=True)
    still = words.still_failing_since.format(since=since(0), runs=words.runs(3))
    new = words.change[TaskChange.NEW_FAILURE]
    for path in ("/slack", "/discord", "/teams"):
        received = [
            json.dumps(body, ensure_ascii=False).replace("\\\\[", "[").replace("\\\\]", "]")
            for body in bodies(server, path)
        ]
        assert len(received) == 3, path
        first, third, fourth = received
        assert f"[{new}]" in first, path
        assert f"[{still}]" in third, path
        assert f"{words.label_recovered} (2)" in fourth, path
        assert words.chat_recovered_count.format(n=2) in fourth, path
        assert "tasks failed" not in first + third, path


# -- end to end: real runs recorded in a real SQLite file ------------------------------------

#: What each task raises this run ("" = it works); the runs below change it between runs.
BROKEN: dict[str, str] = {}


def _work(name: str, *upstream: object) -> str:
    if message := BROKEN.get(name):
        kind, _, text = message.partition(": ")
        raise {"ConnectionError": ConnectionError, "OSError": OSError}[kind](text)
    return name


def orders_process() -> Process:
    def task(name: str, *dependencies: str) -> Task:
        return Task(
            name,
            _work,
            args=(name,),
            dependencies=[
                TaskDependency(d, use_result_as_additional_args=True) for d in dependencies
            ],
            retries=1,
            retry_on=(ConnectionError,),
        )

    return Process(
        [task("fetch"), task("charge", "fetch"), task("ship", "charge"), task("archive")],
        name="orders",
    )


def test_recorded_runs_alert_exactly_on_changes(
    smtp: Smtp, server: HTTPServer, tmp_path: Path
) -> None:
    history = RunHistory(tmp_path / "runs.db")
    email_channel = smtp.channel("de")
    webhook = WebhookChannel(WebhookConfig(server.url_for("/hook")))
    breakages = [
        {"charge": REFUSED},
        {"charge": REFUSED},
        {"charge": REFUSED, "archive": DISK},
        {},
        {},
    ]
    sent = []
    try:
        for broken in breakages:
            BROKEN.clear()
            BROKEN.update(broken)
            with orders_process() as process:
                report = process.run(parallel=False, history=history)
            sent.append([d.sent for d in report.notify(email_channel, webhook, only_changes=True)])
        recorded = [run.run_id for run in history.runs(limit=10)]
    finally:
        BROKEN.clear()
        history.close()
    assert sent == [[True, True], [False, False], [True, True], [True, True], [False, False]]

    words = get_locale("de")
    subjects = [r.message["Subject"].split(" orders")[0] for r in smtp.inbox.received]
    assert subjects == [words.subject_failed, words.subject_failed, words.subject_recovered]
    third = smtp.inbox.received[1].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"[{words.change[TaskChange.NEW_FAILURE]}]" in third
    assert words.runs(3) in third  # charge: still failing, 3 runs in a row
    repeated = words.attempts_all_same.format(attempts=words.attempts(2), error=REFUSED)
    assert repeated in third

    hooks = bodies(server, "/hook")
    assert [hook["changes"] for hook in hooks] == [
        {"charge": "new_failure"},
        {"charge": "still_failing", "archive": "new_failure"},
        {"charge": "recovered", "archive": "recovered"},
    ]
    assert [hook["run_id"] for hook in hooks] == [recorded[4], recorded[2], recorded[1]]
    assert hooks[1]["entries"]["charge"]["failing_runs"] == 3


# -- a night that died: the next run says so (SPEC §13) ---------------------------------------

DIED_NIGHT = "20240314T010000Z-1a2b3c4d"


def after_a_dead_night(failed: dict[str, str] | None = None) -> ProcessExecutionReport:
    """The fifth run, which found the night before it dead during charge, 1 of 4 tasks done."""
    died = CrashedRun(DIED_NIGHT, FIRST - timedelta(days=1), 1, 4, ("charge",))
    return replace(nightly(4, failed or {}, {}), crashes=(died,))


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_dead_night_is_mailed_though_nothing_else_changed(smtp: Smtp, language: str) -> None:
    words = get_locale(language)
    said = crash_notes(after_a_dead_night(), words)[0]
    assert DIED_NIGHT in said
    assert "charge" in said
    (delivery,) = after_a_dead_night().notify(smtp.channel(language), only_changes=True)
    assert delivery.sent
    assert delivery.ok
    (received,) = smtp.inbox.received
    assert received.tls
    assert received.authenticated
    message = received.message
    # Folded when long: the fold's space is not part of the subject.
    assert str(message["Subject"]).strip() == f"{words.subject_crashed_ok} orders | 20240315"
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert said in plain.splitlines()[:5]
    assert escape(said) in html
    assert html.index(escape(said)) < html.index(words.label_tasks)


def test_a_dead_night_reaches_the_webhook_and_the_chats(server: HTTPServer) -> None:
    channels = [
        WebhookChannel(WebhookConfig(server.url_for("/hook"), nest_under="report")),
        SlackChannel(server.url_for("/slack")),
        DiscordChannel(server.url_for("/discord")),
        TeamsChannel(server.url_for("/teams")),
    ]
    report = after_a_dead_night({"archive": DISK})
    deliveries = report.notify(*channels, only_changes=True)
    assert [(d.sent, d.ok) for d in deliveries] == [(True, True)] * 4
    said = (
        f"The previous run {DIED_NIGHT} (started 2024-03-14 01:00:00 UTC) died after "
        "1 of 4 tasks, during charge."
    )
    (hook,) = bodies(server, "/hook")
    assert hook["report"]["crashes"] == [
        {
            "run_id": DIED_NIGHT,
            "started_at": "2024-03-14T01:00:00+00:00",
            "tasks_finished": 1,
            "tasks_total": 4,
            "running": ["charge"],
            "message": said,
        }
    ]
    (slack,) = bodies(server, "/slack")
    assert slack["blocks"][1]["text"]["text"] == f":warning: {said}"
    (discord,) = bodies(server, "/discord")
    assert discord["content"].endswith(f"\u26a0 {said}")
    (teams,) = bodies(server, "/teams")
    assert said in json.dumps(teams)
