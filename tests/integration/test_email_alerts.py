"""Email alerts that arrive: bounded in size and time, not spam, valid HTML, any password.

Against real servers on 127.0.0.1: aiosmtpd (tests/mailbox.py) and raw socket servers
that trickle or never stop talking. SpamAssassin (tests/spam_checker.py) and the Nu HTML
checker (tests/nu_checker.py) are the outside judges.
"""

from __future__ import annotations

import contextlib
import email
import os
import re
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from email import policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from factories import (
    large_report,
    make_entry,
    make_error,
    make_finding,
    make_report,
    orders_report,
)
from markup import visible_words
from nu_checker import nu_errors_of
from processes import EmailChannel, FindingKind, HTMLEmailStyle, SMTPConfig
from processes.channels import email as email_module
from processes.channels.email import EmailDeliveryError
from processes.outcome import TaskChange, TaskStatus
from processes.rendering.email_html import render_email_html, subject_line
from processes.rendering.locales import get_locale
from smtp_inbox import HOST, Arrival, Inbox, smtp_server
from spam_checker import MACHINE, named_machine, spam_score  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration

FROM, TO = "pipeline@example.com", "oncall@example.com"
#: The name of a properly set up sending machine (its reverse DNS says the same).
EXAMPLE = Path(__file__).parents[2] / "examples" / "03_reports_and_notifications" / "example3.py"


def config(port: int, **kwargs: Any) -> SMTPConfig:
    return SMTPConfig((HOST, port), FROM, [TO], **kwargs)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def parts(arrival: Arrival) -> tuple[str, str]:
    message = arrival.message
    plain, markup = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert markup is not None
    return plain.get_content(), markup.get_content()


# -- 1. bounded in size, its two parts alike --------------------------------------------------


def huge_report() -> Any:
    """2,000 failures of 64 KB messages and tracebacks among 100,000 tasks."""
    message = "ValueError: " + "bad row 17 " * 5_900
    trace = "Traceback (most recent call last):\n" + "".join(
        f'  File "/srv/pipeline/step{i}.py", line {i}, in step{i}\n    {"x" * 600}\n'
        for i in range(100)
    )
    assert len(message) > 64_000
    assert len(trace) > 64_000
    failures = [
        make_entry(
            f"load_{i:04d}",
            TaskStatus.ERRORED,
            start=0,
            seconds=1,
            error=make_error(f"load_{i:04d}", message, traceback=trace),
        )
        for i in range(2_000)
    ]
    successes = [make_entry(f"compute_{i:06d}", start=0, seconds=0.1) for i in range(98_000)]
    return make_report(*failures, *successes, name="nightly-warehouse")


def test_a_huge_run_makes_an_email_under_1_mb_that_says_what_it_left_out() -> None:
    with smtp_server() as (inbox, port):
        (delivery,) = huge_report().notify(EmailChannel(config(port)))
    assert delivery.ok, delivery.error
    (arrival,) = inbox.arrivals
    assert len(arrival.raw) < 1_000_000
    text, markup = parts(arrival)
    for part in (text, visible_words_text := " ".join(visible_words(markup))):
        # Failures first and in full (the first one's message is there), before successes.
        assert part.index("load_0000") < part.index("compute_000000")
        assert "bad row 17 bad row 17" in part
        # What was left out is said: failures by name only, successes counted.
        assert re.search(r"\d[\d,]* more failed tasks, shown by name only", part)
        assert re.search(r"and [\d,]+ more", part)
    assert "Tasks 100000" in text
    del visible_words_text


def _words(text: str) -> set[str]:
    return {word for word in text.split() if re.search(r"\w", word)}


@pytest.mark.parametrize(
    "report",
    [huge_report, lambda: large_report(3000, 40), lambda: large_report(3000, 0), orders_report],
    ids=["huge", "3000-tasks-40-failures", "3000-tasks-clean", "orders"],
)
def test_the_text_part_says_what_the_html_part_says(report: Callable[[], Any]) -> None:
    # SpamAssassin's MPART_ALT_DIFF and MPART_ALT_DIFF_COUNT compare the parts' words
    # (split on whitespace): how many of the HTML part's words the text part lacks, and
    # how many distinct words each has (BodyEval.pm, _multipart_alternative_difference).
    message = email_module.build_message(report(), config(25))
    plain, markup = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert markup is not None
    text = Counter(w for w in plain.get_content().split() if re.search(r"\w", w))
    html = Counter(w for w in visible_words(markup.get_content()) if re.search(r"\w", w))
    uncovered = [word for word, count in html.items() if text[word] < count]
    assert len(uncovered) / len(html) < 0.5
    assert len(text) / len(html) <= 1.5
    names = re.compile(r"^(load|compute|transform)_\w*\d")
    in_text = {w.rstrip(",") for w in text if names.match(w)}
    in_html = {w.rstrip(",") for w in html if names.match(w)}
    assert in_text == in_html


# -- 2. not spam ------------------------------------------------------------------------------


def delivered(report: Any, **kwargs: Any) -> list[Arrival]:
    with smtp_server() as (inbox, port):
        (delivery,) = report.notify(EmailChannel(config(port)), **kwargs)
    assert delivery.ok, delivery.error
    return inbox.arrivals


def clean_report(tasks: int) -> Any:
    return make_report(
        *[
            make_entry(f"compute_metric_{i:05d}", start=(i % 300) * 0.1, seconds=0.05)
            for i in range(tasks)
        ],
        name="nightly-warehouse",
    )


def seed_scenario_emails(tmp_path: Path) -> list[Arrival]:
    """The seed page's example, run as a user runs it, on a machine with a proper name."""
    (tmp_path / "sitecustomize.py").write_text(
        f"import socket\nsocket.gethostname = lambda: {MACHINE!r}\n"
    )
    with smtp_server() as (inbox, port):
        done = subprocess.run(
            [sys.executable, str(EXAMPLE)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={
                **os.environ,
                "PYTHONPATH": str(tmp_path),
                "SEND_NOTIFICATIONS": "1",
                "SMTP_HOST": HOST,
                "SMTP_PORT": str(port),
                "WEBHOOK_URL": f"http://{HOST}:{closed_port()}/incoming",
            },
        )
    assert "EmailChannel: delivered" in done.stdout, done.stdout + done.stderr
    assert len(inbox.arrivals) == 2
    return inbox.arrivals


@pytest.mark.usefixtures("named_machine")
def test_spamassassin_scores_every_alert_at_most_1(tmp_path: Path) -> None:
    """Every email we send, a run's or the watch's, scored by one check (SPEC §8, §14)."""
    seed = seed_scenario_emails(tmp_path)
    arrivals = {
        "seed scenario (errors only)": seed[0],
        "seed scenario (one task)": seed[1],
        "orders run": delivered(orders_report())[0],
        "clean run": delivered(clean_report(5))[0],
        "3,000 tasks, 40 failures": delivered(large_report(3000, 40))[0],
        "3,000 tasks, clean": delivered(clean_report(3000))[0],
    }
    for kind in FindingKind:
        arrivals[f"finding: {kind.value}"] = delivered(make_finding(kind))[0]
    scores = {}
    for what, arrival in arrivals.items():
        assert arrival.ehlo_name == MACHINE
        verdict = spam_score(arrival.raw, ehlo_name=arrival.ehlo_name, reverse_dns=MACHINE)
        scores[what] = (verdict.score, verdict.rules)
    assert all(score <= 1.0 for score, _ in scores.values()), scores
    assert not any("MPART_ALT_DIFF" in rule for _, rules in scores.values() for rule in rules)


#: What SpamAssassin scores of the sending machine rather than of the message: no reverse
#: DNS, and a HELO that is an address literal (a host without a fully qualified name).
MACHINE_RULES = {"RDNS_NONE", "KHOP_HELO_FCRDNS", "NO_FM_NAME_IP_HOSTN", "HTML_MESSAGE"}


def test_on_a_machine_without_a_name_or_reverse_dns_only_the_machine_is_scored() -> None:
    """Content rules that wait for a bad sender (HTML_FONT_TINY_NORDNS: a font under 5 px,
    as the timeline's bars were drawn with) never fire: whatever the machine costs, the
    message adds nothing to it."""
    arrival = delivered(large_report(3000, 40))[0]
    literal = arrival.ehlo_name  # no fully qualified name here: an address literal or ours
    for ehlo_name in {literal, "[51.15.20.25]"}:
        verdict = spam_score(arrival.raw, ehlo_name=ehlo_name, reverse_dns="unknown")
        assert set(verdict.rules) <= MACHINE_RULES, verdict.report
        assert b"font-size:1px" not in arrival.raw


# -- 3. bounded in time -----------------------------------------------------------------------


class RawServer:
    """A TCP server on 127.0.0.1 that runs ``talk(connection, stop)`` for each client."""

    def __init__(self, talk: Callable[[socket.socket, threading.Event], None]) -> None:
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.sent = 0
        self.talk = talk
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection, contextlib.suppress(OSError):  # the client gave up and hung up
            self.talk(connection, self.stop)

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(timeout=10)


def trickle(connection: socket.socket, stop: threading.Event) -> None:
    """A greeting that never ends, one byte at a time, each well within the timeout."""
    line = b"220-smtp.test says hello, slowly\r\n"
    while not stop.is_set():
        for byte in line:
            if stop.wait(0.05):
                return
            connection.sendall(bytes([byte]))


def test_a_server_that_trickles_is_given_up_after_10_timeouts() -> None:
    server = RawServer(trickle)
    try:
        started = time.monotonic()
        with pytest.raises(EmailDeliveryError, match=r"did not end within 3 s \(10 x timeout\)"):
            EmailChannel(config(server.port, timeout=0.3)).send_report(
                orders_report(), errors_only=False
            )
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert elapsed < 3 + 2  # the bound, and some slack for a loaded machine


def test_endless_continuation_lines_are_refused_in_bounded_memory() -> None:
    def flood(connection: socket.socket, stop: threading.Event) -> None:
        line = b"220-" + b"x" * 1000 + b"\r\n"
        while not stop.is_set():
            connection.sendall(line * 64)
            server.sent += len(line) * 64

    server = RawServer(flood)
    try:
        with pytest.raises(EmailDeliveryError, match=r"reply ran past 64 KB"):
            EmailChannel(config(server.port, timeout=30)).send_report(
                orders_report(), errors_only=False
            )
    finally:
        server.close()
    assert server.sent > 64 * 1024


def test_a_4xx_reply_is_retried_after_a_backoff_and_then_delivered() -> None:
    pauses: list[float] = []
    with smtp_server(Inbox(replies=["451 4.3.0 Mail server temporarily rejected message"])) as (
        inbox,
        port,
    ):
        channel = EmailChannel(config(port), sleep=pauses.append)
        (delivery,) = orders_report().notify(channel)
    assert delivery.ok, delivery.error
    assert inbox.attempts == 2
    assert len(inbox.arrivals) == 1
    assert len(pauses) == 1
    assert 0 < pauses[0] <= 30


def test_a_refused_connection_is_tried_retries_plus_one_times() -> None:
    pauses: list[float] = []
    channel = EmailChannel(config(closed_port(), retries=2), sleep=pauses.append)
    with pytest.warns(UserWarning, match="after 3 attempts") as warned:
        (delivery,) = orders_report().notify(channel)
    assert delivery.ok is False
    assert len(warned) == 1
    assert len(pauses) == 2
    assert pauses[0] < pauses[1] * 2  # backing off, never shrinking to nothing


def test_a_permanent_refusal_is_one_attempt_and_one_warning() -> None:
    pauses: list[float] = []
    inbox = Inbox(replies=["554 5.7.1 Rejected"])
    with smtp_server(inbox) as (inbox, port), pytest.warns(UserWarning, match="554") as warned:
        (delivery,) = orders_report().notify(EmailChannel(config(port), sleep=pauses.append))
    assert delivery.ok is False
    assert inbox.attempts == 1
    assert pauses == []
    assert len(warned) == 1


@pytest.mark.parametrize(
    ("retries", "error"), [(-1, ValueError), ("2", TypeError), (True, TypeError), (1.5, TypeError)]
)
def test_retries_is_checked(retries: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="retries"):
        SMTPConfig((HOST, 25), FROM, [TO], retries=retries)  # type: ignore[arg-type]


def test_retries_is_keyword_only_and_shown() -> None:
    assert "retries=0" in repr(SMTPConfig((HOST, 25), FROM, [TO], retries=0))
    assert SMTPConfig((HOST, 25), FROM, [TO]).retries == 2


# -- 4. any password, 8-bit bodies, subjects in every language --------------------------------

PASSWORD = "pässwörd-密码-Ωmega"
USER = "pipeline-bot"


def authenticator(logins: list[tuple[bytes, bytes]]) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        # handled=False: aiosmtpd then answers a failure with 535 itself.
        return AuthResult(success=data.password == PASSWORD.encode("utf-8"), handled=False)

    return check


@pytest.mark.parametrize("password", [PASSWORD, "wrong-" + PASSWORD])
def test_a_non_ascii_password_is_sent_as_utf8_and_never_shown(password: str) -> None:
    logins: list[tuple[bytes, bytes]] = []
    with smtp_server(authenticator=authenticator(logins), auth_require_tls=False) as (_inbox, port):
        smtp = config(port, credentials=(USER, password), retries=0)
        channel = EmailChannel(smtp)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            (delivery,) = orders_report().notify(channel)
    assert logins
    assert logins[0] == (USER.encode(), password.encode("utf-8"))
    assert delivery.ok is (password == PASSWORD)
    shown = repr(delivery) + str(delivery.error) + repr(smtp) + repr(channel)
    shown += "".join(str(w.message) for w in caught)
    assert password not in shown
    if not delivery.ok:
        assert len(caught) == 1
        assert "535" in str(caught[0].message)


def test_an_8bit_body_is_announced_with_body_8bitmime() -> None:
    with smtp_server() as (inbox, port):
        EmailChannel(config(port), HTMLEmailStyle(language="fr")).send_report(
            replace(clean_report(3), process_name="commandes-été"), errors_only=False
        )
    (arrival,) = inbox.arrivals
    text = arrival.message.get_body(("plain",))
    assert text is not None
    assert text["Content-Transfer-Encoding"] == "8bit"  # short lines: sent as they are
    assert "commandes-été".encode() in arrival.raw
    assert "BODY=8BITMIME" in arrival.mail_options


#: Process names in several languages; Python 3.11 and 3.12 lost a space in some of them
#: when folding the subject (a stdlib bug, fixed in 3.13).
NAMES = (
    "Verarbeitung für München Köln Düsseldorf Nürnberg Lübeck Gießen Tübingen Würzburg",
    "commandes été à Besançon Orléans Nîmes Sète Besançon Orléans Nîmes Sète Besançon",
    "pedidos región España Logroño Cádiz Málaga Córdoba Almería Jaén León Ávila Béjar",
    "pedidos São Paulo Belém Goiânia Maceió Florianópolis Vitória Macapá Paraná",
    "ordini Forlì Cantù Canicattì Portofino Sanremo Tropea Cefalù Alghero Forlì Cantù",
    "東京 大阪 nightly für Zürich Malmö Ωmega Ωmega Zürich Malmö 東京 大阪 Zürich",
)


@pytest.mark.parametrize("language", ["en", "es", "pt", "fr", "de", "it"])
def test_a_non_ascii_subject_keeps_its_spaces(language: str) -> None:
    with smtp_server() as (inbox, port):
        channel = EmailChannel(config(port), HTMLEmailStyle(language=language))
        for name in NAMES:
            channel.send_report(replace(orders_report(), process_name=name), errors_only=False)
    subjects = [
        str(email.message_from_bytes(arrival.raw, policy=policy.default)["Subject"])
        for arrival in inbox.arrivals
    ]
    words = subject_line(orders_report(), get_locale(language), errors_only=False)
    words = words.removesuffix(" orders-pipeline")
    assert subjects == [f"{words} {name} | 20240315" for name in NAMES]


# -- 5. valid HTML ----------------------------------------------------------------------------


def test_the_email_html_passes_the_nu_checker() -> None:
    changed = replace(
        orders_report(),
        changes={
            "charge_payments": TaskChange.NEW_FAILURE,
            "fetch_inventory": TaskChange.RECOVERED,
        },
    )
    pages = {
        "failed run": render_email_html(orders_report()),
        "failed run, slate, German": render_email_html(
            orders_report(), style=HTMLEmailStyle("slate", "de")
        ),
        "errors only": render_email_html(orders_report(), errors_only=True),
        "clean run": render_email_html(clean_report(5)),
        "run with changes": render_email_html(changed),
        "3,000 tasks, 40 failures": render_email_html(large_report(3000, 40)),
    }
    errors = nu_errors_of(pages)
    assert errors == {what: [] for what in pages}
