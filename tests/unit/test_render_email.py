"""The email: HTML that mail clients render, its plain-text twin, and the MIME message."""

from __future__ import annotations

import email
import re
import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser

import pytest

from factories import large_report, make_entry, make_error, make_report, orders_report
from processes import EmailChannel, HTMLEmailStyle, ReportContent, SMTPConfig, TaskStatus
from processes.channels.email import _ehlo_name, build_message
from processes.rendering.email_html import PALETTES, render_email_html
from processes.rendering.locales import LANGUAGES, get_locale

NOW = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)
CONFIG = SMTPConfig(("127.0.0.1", 2525), "pipeline@example.test", ["oncall@example.test"])


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class Parsed(HTMLParser):
    """Every element with its attributes, the badges with their words, and the page text."""

    elements: list[Element] = field(default_factory=list)
    badges: list[Element] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)
    _open_badge: Element | None = None

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if "data-status" in element.attrs:
            self._open_badge = element
            self.badges.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._open_badge = None

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)
        if self._open_badge is not None:
            self._open_badge.text += data

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def tags(self, name: str) -> list[Element]:
        return [e for e in self.elements if e.tag == name]


def parse(markup: str) -> Parsed:
    parsed = Parsed()
    parsed.feed(markup)
    parsed.close()
    return parsed


# -- the HTML ---------------------------------------------------------------------------


def test_html_uses_only_what_mail_clients_support() -> None:
    markup = render_email_html(orders_report())
    parsed = parse(markup)
    assert "var(" not in markup
    for forbidden in ("details", "summary", "svg", "script", "style", "img", "link"):
        assert not parsed.tags(forbidden), forbidden
    styles = [e.attrs["style"] for e in parsed.elements if "style" in e.attrs]
    assert not [s for s in styles if re.search(r"--[a-z]", s)], "CSS custom properties"
    for name in ("display:flex", "display:grid", "position:", "float:", "linear-gradient"):
        assert name not in markup
    tables = parsed.tags("table")
    assert tables
    assert all(t.attrs.get("role") == "presentation" for t in tables)
    cells = parsed.tags("td")
    assert len(cells) > 20
    for cell in cells:
        assert re.fullmatch(r"#[0-9a-f]{6}", cell.attrs.get("bgcolor", "")), cell
        assert "background-color:" + cell.attrs["bgcolor"] in cell.attrs.get("style", "")


def test_html_declares_color_schemes_and_utf8() -> None:
    parsed = parse(render_email_html(orders_report()))
    metas = {m.attrs.get("name"): m.attrs.get("content") for m in parsed.tags("meta")}
    assert metas["color-scheme"] == "light dark"
    assert metas["supported-color-schemes"] == "light dark"
    assert any(m.attrs.get("charset") == "utf-8" for m in parsed.tags("meta"))


def test_badges_match_the_status_of_their_task() -> None:
    parsed = parse(render_email_html(orders_report()))
    words = get_locale("en")
    assert parsed.badges
    for badge in parsed.badges:
        assert badge.text == words.status[TaskStatus(badge.attrs["data-status"])]
        assert "background-color:#" in badge.attrs["style"]
    statuses = [b.attrs["data-status"] for b in parsed.badges]
    # The header's verdict, the failure card, the skipped row.
    assert statuses == ["errored", "errored", "skipped"]


def test_badge_colours_follow_the_palette() -> None:
    for name, palette in PALETTES.items():
        parsed = parse(render_email_html(orders_report(), style=HTMLEmailStyle(palette=name)))
        for badge in parsed.badges:
            expected = palette.of(TaskStatus(badge.attrs["data-status"])).solid
            assert f"background-color:{expected}" in badge.attrs["style"], name


def test_failures_come_first_then_skipped_with_their_cause_then_successes() -> None:
    text = parse(render_email_html(orders_report())).text
    failures = text.index("Failures")
    skipped = text.index("Skipped tasks")
    successes = text.index("Successful tasks")
    assert failures < skipped < successes
    assert text.index("charge_payments", failures) < skipped
    assert "ship_orders because of charge_payments" in text[skipped:successes]
    assert "fetch_inventory, enrich_pricing, archive_logs" in text[successes:]


def test_a_failure_is_shown_in_full() -> None:
    text = parse(render_email_html(orders_report())).text
    for expected in (
        "ConnectionError: payment gateway unreachable",
        # Three attempts that failed alike: the error once, with the count.
        "Attempts: 3 attempts, all: ConnectionError: payment gateway unreachable",
        "Skipped because of it: ship_orders",
        "Traced variables at /srv/pipeline/tasks.py:41",
        "amount = 12.5",
        "order = 'A-17'",
        'raise ConnectionError("payment gateway unreachable")',
    ):
        assert expected in text, expected


@pytest.mark.parametrize(
    ("content", "traceback", "traced_vars"),
    [
        (ReportContent.full(), True, True),
        (ReportContent.trace(), True, False),
        (ReportContent.min(), False, False),
    ],
)
def test_report_content_decides_traceback_and_vars(
    content: ReportContent, traceback: bool, traced_vars: bool
) -> None:
    text = parse(render_email_html(orders_report(), content)).text
    assert ("Traceback (most recent call last)" in text) is traceback
    assert ("amount = 12.5" in text) is traced_vars


def test_the_timeline_is_drawn_with_table_cells() -> None:
    parsed = parse(render_email_html(orders_report()))
    segments = [
        td
        for td in parsed.tags("td")
        if td.attrs.get("width", "").endswith("%") and "height:12px" in td.attrs.get("style", "")
    ]
    bars = {td.attrs["bgcolor"] for td in segments}
    palette = PALETTES["neutral"]
    assert palette.errored.solid in bars
    assert palette.success.solid in bars
    assert palette.track in bars
    # charge_payments starts at 1.2 s of 2.7 s and runs to the end: offset 44%, width 56%.
    widths = [td.attrs["width"] for td in segments]
    assert "44%" in widths
    assert "56%" in widths


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_timeline_row_says_its_status_in_words(language: str) -> None:
    # A bar's colour alone is lost on a colour-blind reader and under forced dark mode.
    words = get_locale(language)
    text = parse(render_email_html(orders_report(), style=HTMLEmailStyle(language=language))).text
    timeline = text.split(words.heading_timeline, 1)[1].split(words.heading_successes, 1)[0]
    assert f"charge_payments {words.status[TaskStatus.ERRORED]}" in timeline
    for name in ("archive_logs", "fetch_inventory", "enrich_pricing"):
        assert f"{name} {words.status[TaskStatus.SUCCESS]}" in timeline


def test_control_characters_from_tasks_are_shown_not_embedded() -> None:
    # A NUL ends the text in some mail clients, and HTML has no place for any of these.
    odd = "t\x07bell"
    failing = make_entry(
        odd,
        TaskStatus.ERRORED,
        error=make_error(
            odd,
            "ValueError: \x00nul \x1b[31mred\x1b[0m \x85",
            traceback="Traceback:\n\x00\r\n",
            traced_vars={"v\x0c": "'\x00'"},
        ),
        attempt_errors=("\x00", "\x1b"),
    )
    markup = render_email_html(make_report(failing, name="run\x7f"))
    assert re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", markup) is None
    text = parse(markup).text
    assert "ValueError: \\x00nul \\x1b[31mred\\x1b[0m \\x85" in text
    assert "t\\x07bell" in text


def test_task_text_is_escaped_everywhere() -> None:
    name = "<script>alert('name')</script>"
    message = "ValueError: <img src=x onerror=alert(1)> & </td></table>"
    failing = make_entry(
        name,
        TaskStatus.ERRORED,
        error=make_error(
            name,
            message,
            downstream=("<b>child</b>",),
            traced_vars={"<i>var</i>": "'<iframe>'"},
            traceback="Traceback:\n<svg onload=alert(1)>\n" + message,
        ),
        attempt_errors=(message, message),
        attempts=2,
    )
    child = make_entry("<b>child</b>", TaskStatus.SKIPPED)
    markup = render_email_html(
        make_report(failing, child, make_entry("ok<u>"), name="<h1>proc</h1>")
    )
    parsed = parse(markup)
    for tag in ("script", "img", "svg", "iframe", "b", "i", "u", "h1"):
        assert not parsed.tags(tag), tag
    text = parsed.text
    assert name in text
    assert "<img src=x onerror=alert(1)> & </td></table>" in text
    assert "<i>var</i> = '<iframe>'" in text
    assert "<h1>proc</h1>" in text


def test_a_long_name_without_spaces_may_wrap() -> None:
    name = "x" * 300
    markup = render_email_html(
        make_report(make_entry(name, TaskStatus.ERRORED, error=make_error(name)))
    )
    parsed = parse(markup)
    holders = [td for td in parsed.tags("td") if "overflow-wrap:anywhere" in td.attrs["style"]]
    assert holders


def test_successes_are_summarised_with_every_name_while_they_fit() -> None:
    names = [f"step_{i:03d}" for i in range(40)]
    text = parse(render_email_html(make_report(*(make_entry(n) for n in names)))).text
    assert ", ".join(names) in text
    assert "Every task succeeded." in text


def test_a_large_run_stays_under_100_kb_with_every_failure() -> None:
    big = large_report(tasks=3000, failures=20)
    markup = render_email_html(big)
    size = len(markup.encode("utf-8"))
    assert size < 100_000, size
    text = parse(markup).text
    for name, failed in big.errored.items():
        assert name in text
        assert failed.error is not None
        assert failed.error.exception in text
    assert "Failures" in text
    # Successes shrink to names while they fit, then a count.
    assert re.search(r"and \d+ more", text)
    assert "3000" in text


def test_many_skipped_tasks_are_grouped_under_the_failure_that_caused_them() -> None:
    text = parse(render_email_html(large_report(tasks=3000, failures=20, skipped_each=10))).text
    skipped = text[text.index("Skipped tasks") : text.index("Timeline")]
    for f in range(20):
        assert f"because of load_partition_{f:04d} (10)" in skipped
    assert "transform_0000_00" in skipped
    assert "transform_0019_00" in skipped


def test_a_run_of_failures_only_still_fits_and_names_them() -> None:
    huge_trace = "Traceback (most recent call last):\n" + "  frame line\n" * 3000
    failures = [
        make_entry(
            f"f{i:04d}", TaskStatus.ERRORED, error=make_error(f"f{i:04d}", traceback=huge_trace)
        )
        for i in range(400)
    ]
    markup = render_email_html(make_report(*failures))
    assert len(markup.encode("utf-8")) < 100_000
    text = parse(markup).text
    assert "f0000" in text
    assert "more failed tasks" in text
    assert "400" in text


def test_a_long_traceback_is_cut_with_a_note() -> None:
    trace = "Traceback (most recent call last):\n" + "".join(f"  line {i}\n" for i in range(200))
    failing = make_entry(
        "deep", TaskStatus.ERRORED, error=make_error("deep", traceback=trace + "E: boom")
    )
    text = parse(render_email_html(make_report(failing))).text
    assert "more lines" in text
    assert "E: boom" in text
    assert "line 199" in text


@pytest.mark.parametrize("palette", list(PALETTES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_palette_and_language_renders_translated(palette: str, language: str) -> None:
    markup = render_email_html(orders_report(), style=HTMLEmailStyle(palette, language))
    parsed = parse(markup)
    words = get_locale(language)
    text = parsed.text
    for word in (
        words.heading_failures,
        words.heading_skipped,
        words.heading_successes,
        words.heading_timeline,
        words.label_tasks,
        words.label_succeeded,
        words.label_failed,
        words.label_skipped,
        words.label_traceback,
        words.label_skipped_because,
        words.label_caused_by,
        words.not_run,
        words.footer,
    ):
        assert word in text, (language, word)
    assert {b.text for b in parsed.badges} == {
        words.status[TaskStatus.ERRORED],
        words.status[TaskStatus.SKIPPED],
    }
    assert f'lang="{language}"' in markup
    colors = PALETTES[palette]
    assert colors.card_bg in markup
    assert colors.errored.solid in markup
    if language != "en":
        assert "Failures" not in text
        assert "Skipped tasks" not in text


VERDICTS = {
    "en": (
        "1 task failed.",
        "1 task failed and 1 was skipped as a result.",
        "2 tasks failed and 3 were skipped as a result.",
    ),
    "es": (
        "1 tarea falló.",
        "1 tarea falló y 1 se omitió por ello.",
        "2 tareas fallaron y 3 se omitieron por ello.",
    ),
    "pt": (
        "1 tarefa falhou.",
        "1 tarefa falhou e 1 foi ignorada em consequência.",
        "2 tarefas falharam e 3 foram ignoradas em consequência.",
    ),
    "fr": (
        "1 tâche a échoué.",
        "1 tâche a échoué et 1 a été ignorée en conséquence.",
        "2 tâches ont échoué et 3 ont été ignorées en conséquence.",
    ),
    "de": (
        "1 Aufgabe ist fehlgeschlagen.",
        "1 Aufgabe ist fehlgeschlagen und 1 wurde deshalb übersprungen.",
        "2 Aufgaben sind fehlgeschlagen und 3 wurden deshalb übersprungen.",
    ),
    "it": (
        "1 attività è fallita.",
        "1 attività è fallita e 1 è stata saltata di conseguenza.",
        "2 attività sono fallite e 3 sono state saltate di conseguenza.",
    ),
}


def test_every_language_has_its_verdicts_checked() -> None:
    assert set(VERDICTS) == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_verdict_agrees_with_its_counts_and_never_says_none_skipped(language: str) -> None:
    words = get_locale(language)
    none_skipped, one_each, many_each = VERDICTS[language]
    assert words.some_failed(1, 0) == none_skipped
    assert words.some_failed(1, 1) == one_each
    assert words.some_failed(2, 3) == many_each
    failure = make_entry("charge", TaskStatus.ERRORED, error=make_error("charge"))
    report = make_report(failure, make_entry("fetch"))
    text = parse(render_email_html(report, style=HTMLEmailStyle(language=language))).text
    assert f"{none_skipped} {words.heading_failures}" in text


def test_a_report_cut_down_to_skipped_tasks_does_not_say_zero_failed() -> None:
    words = get_locale("en")
    assert words.some_failed(0, 1) == "1 task was skipped."
    assert words.some_failed(0, 2) == "2 tasks were skipped."


def test_style_refuses_unknown_palettes_and_languages() -> None:
    with pytest.raises(ValueError, match=r"^palette must be one of neutral, catppuccin"):
        HTMLEmailStyle(palette="solarized")
    with pytest.raises(ValueError, match=r"^language must be one of en, es, pt, fr, de, it"):
        HTMLEmailStyle(language="nl")


# -- the message ------------------------------------------------------------------------


def received(message: EmailMessage) -> EmailMessage:
    """Round-trip through bytes, as a server would get it."""
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_message_is_plain_text_then_html_with_the_v7_subject() -> None:
    message = received(build_message(orders_report(), CONFIG, now=NOW))
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    local_day = orders_report().started_at.astimezone().strftime("%Y%m%d")  # type: ignore[union-attr]
    assert message["Subject"] == f"Failed: orders-pipeline | {local_day}"
    assert message["From"] == "pipeline@example.test"
    assert message["To"] == "oncall@example.test"
    assert message["Date"].datetime == NOW
    assert re.fullmatch(r"<[^@>]+@example\.test>", message["Message-ID"])
    plain = parts[0].get_content()
    for name in orders_report().entries:
        assert name in plain
    assert "Traceback (most recent call last)" in plain
    assert "<table" in parts[1].get_content()


def test_message_ids_are_unique() -> None:
    first = build_message(orders_report(), CONFIG, now=NOW)
    second = build_message(orders_report(), CONFIG, now=NOW)
    assert first["Message-ID"] != second["Message-ID"]


def test_errors_only_has_its_own_subject_and_only_errored_entries() -> None:
    message = received(build_message(orders_report(), CONFIG, errors_only=True, now=NOW))
    assert message["Subject"].startswith("Process errors orders-pipeline | ")
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html_part = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Only the failed tasks are shown." in plain
    for body in (plain, html_part):
        assert "charge_payments" in body
        assert "fetch_inventory" not in body
        assert "archive_logs" not in body
    assert 'data-status="skipped"' not in html_part
    assert 'data-status="success"' not in html_part


def test_subject_and_addresses_carry_utf8() -> None:
    config = SMTPConfig(
        "127.0.0.1", "Équipe Données <données@example.test>", ["Zoë <zoe@example.test>"]
    )
    message = received(
        build_message(
            make_report(make_entry("a"), name="paie-été"),
            config,
            HTMLEmailStyle(language="fr"),
            now=NOW,
        )
    )
    assert message["Subject"].startswith("Réussi : paie-été | ")
    assert message["From"].addresses[0].display_name == "Équipe Données"
    assert message["To"].addresses[0].display_name == "Zoë"
    assert "RÉUSSI" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "name", ["x\r\nBcc: evil@example.test", "x\nSubject: hi", "tab\there", "nul\x00"]
)
def test_a_process_name_cannot_inject_headers(name: str) -> None:
    with pytest.raises(ValueError, match="process name contains a line break or control character"):
        build_message(make_report(make_entry("a"), name=name), CONFIG, now=NOW)


def test_addresses_cannot_inject_headers() -> None:
    with pytest.raises(ValueError, match=r"^fromaddr contains"):
        SMTPConfig("127.0.0.1", "a@example.test\r\nBcc: evil@example.test", ["b@example.test"])
    with pytest.raises(ValueError, match=r"^toaddrs contains"):
        SMTPConfig("127.0.0.1", "a@example.test", ["b@example.test\nBcc: evil@example.test"])


def test_the_smtp_password_never_reaches_the_message() -> None:
    secret = "hunter2-<&>-s3cret"
    config = SMTPConfig(
        ("127.0.0.1", 2525), "a@example.test", "b@example.test", credentials=("bot", secret)
    )
    leaked = make_entry(
        "login",
        TaskStatus.ERRORED,
        error=make_error(
            "login", f"AuthError: bad password {secret}", traced_vars={"p": repr(secret)}
        ),
    )
    raw = build_message(make_report(leaked), config, now=NOW).as_string()
    message = received(build_message(make_report(leaked), config, now=NOW))
    assert secret not in raw
    for part in message.iter_parts():
        assert secret not in part.get_content()
        assert "[redacted]" in part.get_content()


# -- configuration ----------------------------------------------------------------------


def test_smtp_config_repr_hides_the_password() -> None:
    config = SMTPConfig(
        "mail.example.test", "a@example.test", ["b@example.test"], ("bot", "pa55word!")
    )
    assert "pa55word!" not in repr(config)
    assert "pa55word!" not in repr(EmailChannel(config))
    assert "'bot'" in repr(config)
    assert config.credentials == ("bot", "pa55word!")


def test_smtp_config_defaults_and_ports() -> None:
    plain = SMTPConfig("mail.example.test", "a@example.test", "b@example.test")
    assert (plain.host, plain.port, plain.toaddrs, plain.timeout) == (
        "mail.example.test",
        25,
        ("b@example.test",),
        5,
    )
    assert plain.secure is None
    assert SMTPConfig("mail.example.test", "a@x.test", ["b@x.test"], implicit_tls=True).port == 465
    assert SMTPConfig(("mail.example.test", 587), "a@x.test", ["b@x.test"]).port == 587


@pytest.mark.parametrize(
    ("kwargs", "error_type", "match"),
    [
        ({"mailhost": 25}, TypeError, "mailhost must be"),
        ({"mailhost": ("h", "25")}, TypeError, "mailhost must be"),
        ({"toaddrs": []}, ValueError, "at least one recipient"),
        ({"toaddrs": [1]}, TypeError, "toaddrs must be str addresses"),
        ({"credentials": ("only-user",)}, TypeError, "credentials must be"),
        ({"timeout": 0}, ValueError, "timeout must be a positive"),
        ({"timeout": "5"}, TypeError, "timeout must be a positive"),
        ({"secure": "yes"}, TypeError, "secure must be None"),
        ({"ssl_context": object()}, TypeError, "ssl_context must be"),
        # The certificate would be loaded into the caller's context, maybe shared.
        (
            {"secure": ("client.pem",), "ssl_context": ssl.create_default_context()},
            ValueError,
            r"mutually exclusive: load the client certificate into your context",
        ),
        # The header parser raises IndexError on these; they must fail here, not at send.
        ({"fromaddr": "pipeline@"}, ValueError, "fromaddr must hold email addresses"),
        ({"toaddrs": ["On-call <"]}, ValueError, "toaddrs must hold email addresses"),
        ({"toaddrs": ["a@b@example.test"]}, ValueError, "toaddrs must hold email addresses"),
        ({"fromaddr": ""}, ValueError, "fromaddr must hold email addresses"),
    ],
)
def test_smtp_config_refuses_bad_values(
    kwargs: dict[str, object], error_type: type, match: str
) -> None:
    arguments: dict[str, object] = {
        "mailhost": "mail.example.test",
        "fromaddr": "a@example.test",
        "toaddrs": ["b@example.test"],
    }
    arguments.update(kwargs)
    with pytest.raises(error_type, match=match):
        SMTPConfig(**arguments)  # type: ignore[arg-type]


def test_named_local_and_international_addresses_are_accepted() -> None:
    config = SMTPConfig(
        "127.0.0.1", "Équipe Données <données@example.test>", ["root", "Zoë <zoe@example.test>"]
    )
    message = build_message(make_report(make_entry("a")), config, now=NOW)
    assert [a.username for a in message["To"].addresses] == ["root", "zoe"]


def test_channel_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match="smtp_config must be an SMTPConfig"):
        EmailChannel(("127.0.0.1", 25))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="style must be an HTMLEmailStyle"):
        EmailChannel(CONFIG, "slate")  # type: ignore[arg-type]


def test_an_empty_report_still_makes_a_valid_email() -> None:
    markup = render_email_html(make_report(name=""))
    text = parse(markup).text
    assert "(unnamed process)" in text
    assert "No tasks to report." in text
    message = received(build_message(make_report(name=""), CONFIG, now=NOW))
    assert re.fullmatch(r"Succeeded \| \d{8}", message["Subject"])


@pytest.mark.parametrize(
    ("local_address", "ehlo_name"),
    [
        ("192.0.2.1", "[192.0.2.1]"),
        ("2001:db8::1", "[IPv6:2001:db8::1]"),
        ("fe80::1%eth0", "[IPv6:fe80::1]"),
        ("::ffff:192.0.2.1", "[192.0.2.1]"),  # IPv4 on a dual-stack socket
    ],
)
def test_ehlo_address_literals(
    monkeypatch: pytest.MonkeyPatch, local_address: str, ehlo_name: str
) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "runner")
    assert _ehlo_name(local_address) == ehlo_name
