"""Every constructor checks its arguments alike: a wrong type is a TypeError, a wrong value
a ValueError, and the message names the field (issue #21). The cases SPEC.md fixes for v7
compatibility (Task's timeout, retries, retry_on and traced_vars_frame_filter, the
TaskDependency flags, HTMLEmailStyle's palette and language) are tested as the SPEC says."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pytest

from processes import (
    DiscordChannel,
    EmailChannel,
    FileChannel,
    HTMLEmailStyle,
    Process,
    ReportContent,
    SlackChannel,
    SMTPConfig,
    Task,
    TaskDependency,
    TeamsChannel,
    WebhookChannel,
    WebhookConfig,
)
from processes.checks import (
    check_choice,
    check_count,
    check_flag,
    check_number,
    check_seconds,
    check_text,
    check_type,
)

if TYPE_CHECKING:
    from collections.abc import Callable

URL = "https://hooks.example.test/T000/B000/XXXXsecretXXXX"
SECRET_URL_PART = "XXXXsecretXXXX"


def _noop() -> None:
    return None


def _smtp(**kwargs: Any) -> SMTPConfig:
    arguments: dict[str, Any] = {
        "mailhost": ("127.0.0.1", 2525),
        "fromaddr": "pipeline@example.test",
        "toaddrs": ["oncall@example.test"],
    }
    return SMTPConfig(**{**arguments, **kwargs})


def _webhook(**kwargs: Any) -> WebhookConfig:
    return WebhookConfig(URL, **kwargs)


def _task(**kwargs: Any) -> Task:
    return Task(**{"name": "t", "func": _noop, **kwargs})


def _run(**kwargs: Any) -> None:
    with Process([_task()]) as process:
        process.run(**kwargs)


# (id, call, the error it raises, a word the message must hold)
CASES: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    # ReportContent
    ("content-flag-type", lambda: ReportContent(show_traceback=1), TypeError, "show_traceback"),  # type: ignore[arg-type]
    # FileChannel
    ("file-path-type", lambda: FileChannel(42), TypeError, "path"),  # type: ignore[arg-type]
    ("file-format-type", lambda: FileChannel("x", 5), TypeError, "format"),  # type: ignore[arg-type]
    ("file-format-value", lambda: FileChannel("x", "pdf"), ValueError, "format"),  # type: ignore[arg-type]
    ("file-content-type", lambda: FileChannel("x", content="min"), TypeError, "content"),  # type: ignore[arg-type]
    # WebhookConfig
    ("webhook-url-type", lambda: WebhookConfig(5), TypeError, "URL"),  # type: ignore[arg-type]
    ("webhook-url-value", lambda: WebhookConfig("ftp://h/x"), ValueError, "URL"),
    ("webhook-timeout-type", lambda: _webhook(timeout="5"), TypeError, "timeout"),
    ("webhook-timeout-bool", lambda: _webhook(timeout=True), TypeError, "timeout"),
    ("webhook-timeout-negative", lambda: _webhook(timeout=-1), ValueError, "timeout"),
    ("webhook-timeout-zero", lambda: _webhook(timeout=0), ValueError, "timeout"),
    ("webhook-timeout-nan", lambda: _webhook(timeout=math.nan), ValueError, "timeout"),
    ("webhook-timeout-inf", lambda: _webhook(timeout=math.inf), ValueError, "timeout"),
    ("webhook-retries-type", lambda: _webhook(retries=1.5), TypeError, "retries"),
    ("webhook-retries-bool", lambda: _webhook(retries=True), TypeError, "retries"),
    ("webhook-retries-negative", lambda: _webhook(retries=-1), ValueError, "retries"),
    ("webhook-secret-type", lambda: _webhook(secret=5), TypeError, "secret"),
    ("webhook-secret-empty", lambda: _webhook(secret=""), ValueError, "secret"),
    ("webhook-nest-under-type", lambda: _webhook(nest_under=3), TypeError, "nest_under"),
    ("webhook-signing-type", lambda: _webhook(signing=5), TypeError, "signing"),
    ("webhook-signing-value", lambda: _webhook(signing="sha1"), ValueError, "signing"),
    ("webhook-extra-type", lambda: _webhook(extra_payload={1: "x"}), TypeError, "extra_payload"),
    ("webhook-headers-type", lambda: _webhook(headers={"X-A": 1}), TypeError, "headers"),
    ("webhook-headers-value", lambda: _webhook(headers={"A B": "x"}), ValueError, "header"),
    # WebhookChannel
    ("webhook-channel-config-type", lambda: WebhookChannel(URL), TypeError, "webhook_config"),  # type: ignore[arg-type]
    (
        "webhook-channel-content-type",
        lambda: WebhookChannel(_webhook(), content="min"),  # type: ignore[arg-type]
        TypeError,
        "content",
    ),
    # SMTPConfig
    ("smtp-mailhost-type", lambda: _smtp(mailhost=5), TypeError, "mailhost"),
    ("smtp-mailhost-empty", lambda: _smtp(mailhost=""), ValueError, "mailhost"),
    ("smtp-fromaddr-type", lambda: _smtp(fromaddr=5), TypeError, "fromaddr"),
    ("smtp-fromaddr-value", lambda: _smtp(fromaddr="bot@"), ValueError, "fromaddr"),
    ("smtp-toaddrs-type", lambda: _smtp(toaddrs=5), TypeError, "toaddrs"),
    ("smtp-toaddrs-empty", lambda: _smtp(toaddrs=[]), ValueError, "toaddrs"),
    ("smtp-credentials-type", lambda: _smtp(credentials=("u", 5)), TypeError, "credentials"),
    ("smtp-timeout-type", lambda: _smtp(timeout="5"), TypeError, "timeout"),
    ("smtp-timeout-negative", lambda: _smtp(timeout=-1), ValueError, "timeout"),
    ("smtp-timeout-inf", lambda: _smtp(timeout=math.inf), ValueError, "timeout"),
    ("smtp-implicit-tls-type", lambda: _smtp(implicit_tls="yes"), TypeError, "implicit_tls"),
    (
        "smtp-allow-insecure-auth-type",
        lambda: _smtp(allow_insecure_auth="no"),
        TypeError,
        "allow_insecure_auth",
    ),
    ("smtp-ssl-context-type", lambda: _smtp(ssl_context="ctx"), TypeError, "ssl_context"),
    # EmailChannel
    ("email-config-type", lambda: EmailChannel("smtp.example.test"), TypeError, "smtp_config"),  # type: ignore[arg-type]
    ("email-style-type", lambda: EmailChannel(_smtp(), "slate"), TypeError, "style"),  # type: ignore[arg-type]
    (
        "email-content-type",
        lambda: EmailChannel(_smtp(), content="min"),  # type: ignore[arg-type]
        TypeError,
        "content",
    ),
    # HTMLEmailStyle: SPEC §8 fixes ValueError("palette must be one of ...") for anything else
    ("style-palette-value", lambda: HTMLEmailStyle(palette="pink"), ValueError, "palette"),
    ("style-palette-type", lambda: HTMLEmailStyle(palette=5), ValueError, "palette"),  # type: ignore[arg-type]
    ("style-language-value", lambda: HTMLEmailStyle(language="xx"), ValueError, "language"),
    # Task: name, args, kwargs, log_path, dependencies, run_when and the retry pacing
    ("task-name-type", lambda: _task(name=5), TypeError, "name"),
    ("task-name-value", lambda: _task(name="two words"), ValueError, "name"),
    ("task-func-type", lambda: _task(func=5), TypeError, "func"),
    ("task-args-type", lambda: _task(args=[1]), TypeError, "args"),
    ("task-kwargs-type", lambda: _task(kwargs=[1]), TypeError, "kwargs"),
    ("task-log-path-type", lambda: _task(log_path=3), TypeError, "log_path"),
    ("task-dependencies-type", lambda: _task(dependencies="a"), TypeError, "dependencies"),
    ("task-dependency-type", lambda: _task(dependencies=["a"]), TypeError, "dependencies"),
    ("task-run-when-type", lambda: _task(run_when=None), TypeError, "run_when"),
    ("task-run-when-value", lambda: _task(run_when="always"), ValueError, "run_when"),
    ("task-retry-delay-type", lambda: _task(retry_delay="1"), TypeError, "retry_delay"),
    ("task-retry-delay-negative", lambda: _task(retry_delay=-1), ValueError, "retry_delay"),
    ("task-retry-delay-nan", lambda: _task(retry_delay=math.nan), ValueError, "retry_delay"),
    ("task-retry-backoff-type", lambda: _task(retry_backoff=True), TypeError, "retry_backoff"),
    (
        "task-retry-max-delay-inf",
        lambda: _task(retry_max_delay=math.inf),
        ValueError,
        "retry_max_delay",
    ),
    ("task-retry-jitter-type", lambda: _task(retry_jitter="0.1"), TypeError, "retry_jitter"),
    ("task-retry-jitter-value", lambda: _task(retry_jitter=2), ValueError, "retry_jitter"),
    # Task: SPEC §1 fixes a TypeError for these, a bad value too
    ("task-timeout-negative", lambda: _task(timeout=-1), TypeError, "timeout"),
    ("task-timeout-type", lambda: _task(timeout="5"), TypeError, "timeout"),
    ("task-retries-negative", lambda: _task(retries=-1), TypeError, "retries"),
    ("task-retries-type", lambda: _task(retries=1.5), TypeError, "retries"),
    ("task-retry-on-type", lambda: _task(retry_on=[OSError]), TypeError, "retry_on"),
    (
        "task-frame-filter-type",
        lambda: _task(traced_vars_frame_filter=5),
        TypeError,
        "traced_vars_frame_filter",
    ),
    # TaskDependency: SPEC §2 fixes a TypeError for the flags and a missing keyword name
    ("dependency-name-type", lambda: TaskDependency(5), TypeError, "task_name"),  # type: ignore[arg-type]
    (
        "dependency-flag-type",
        lambda: TaskDependency("a", use_result_as_additional_args=1),  # type: ignore[arg-type]
        TypeError,
        "use_result_as_additional_args",
    ),
    (
        "dependency-kwarg-name-empty",
        lambda: TaskDependency("a", use_result_as_additional_kwargs=True),
        TypeError,
        "additional_kwarg_name",
    ),
    # Process and its run options
    ("process-tasks-type", lambda: Process("a"), TypeError, "tasks"),  # type: ignore[arg-type]
    ("process-name-type", lambda: Process([], name=5), TypeError, "name"),  # type: ignore[arg-type]
    ("run-max-workers-type", lambda: _run(max_workers="2"), TypeError, "max_workers"),
    ("run-max-workers-float", lambda: _run(max_workers=2.0), TypeError, "max_workers"),
    ("run-deadline-type", lambda: _run(deadline="5"), TypeError, "deadline"),
    ("run-deadline-negative", lambda: _run(deadline=-1), ValueError, "deadline"),
]


def _chat_cases(kind: type[Any]) -> list[tuple[str, Callable[[], object], type[Exception], str]]:
    def build(*args: Any, **kwargs: Any) -> Callable[[], object]:
        return lambda: kind(*args, **kwargs)

    name = kind.__name__
    return [
        (f"{name}-url-type", build(5), TypeError, "url"),
        (f"{name}-url-value", build("file:///etc/passwd"), ValueError, "url"),
        (f"{name}-timeout-type", build(URL, timeout="5"), TypeError, "timeout"),
        (f"{name}-timeout-value", build(URL, timeout=0), ValueError, "timeout"),
        (f"{name}-retries-type", build(URL, retries=None), TypeError, "retries"),
        (f"{name}-retries-value", build(URL, retries=-1), ValueError, "retries"),
        (f"{name}-language-type", build(URL, language=5), TypeError, "language"),
        (f"{name}-language-value", build(URL, language="xx"), ValueError, "language"),
        (f"{name}-content-type", build(URL, content="min"), TypeError, "content"),
    ]


for _channel in (SlackChannel, DiscordChannel, TeamsChannel):
    CASES += _chat_cases(_channel)


@pytest.mark.parametrize(
    ("call", "error", "field"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_a_bad_type_is_a_type_error_and_a_bad_value_a_value_error(
    call: Callable[[], object], error: type[Exception], field: str
) -> None:
    with pytest.raises(Exception) as caught:  # noqa: PT011  (the exact class is asserted below)
        call()
    assert type(caught.value) is error, caught.value
    assert field in str(caught.value)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: _task(timeout=-1), "timeout must be a positive number or None, got -1"),
        (lambda: _task(retries=-1), "retries must be a non-negative int, got -1"),
        (
            lambda: _task(retry_on=[OSError]),
            "retry_on must be None or a tuple of Exception subclasses",
        ),
        (
            lambda: _task(traced_vars_frame_filter=5),
            "traced_vars_frame_filter must be a str or None",
        ),
        (lambda: HTMLEmailStyle(palette="pink"), "palette must be one of "),
        (lambda: HTMLEmailStyle(language="xx"), "language must be one of "),
    ],
)
def test_the_messages_the_spec_quotes_are_kept(call: Callable[[], object], expected: str) -> None:
    with pytest.raises((TypeError, ValueError)) as caught:
        call()
    assert str(caught.value).startswith(expected)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            lambda: _webhook(timeout=-1),
            "WebhookConfig timeout must be a positive number of seconds, got -1",
        ),
        (lambda: _webhook(retries=-1), "WebhookConfig retries must be a non-negative int, got -1"),
        (
            lambda: SlackChannel(URL, timeout="5"),  # type: ignore[arg-type]
            "SlackChannel timeout must be a positive number of seconds, got '5'",
        ),
        (
            lambda: FileChannel("x", "pdf"),  # type: ignore[arg-type]
            "FileChannel format must be one of html, json, text, got 'pdf'",
        ),
        (
            lambda: _task(retry_jitter=2),
            "retry_jitter must be a finite number from 0 to 1, got 2",
        ),
        (
            lambda: _run(deadline=-1),
            "Process.run() deadline must be a positive number of seconds or None, got -1",
        ),
    ],
)
def test_a_message_names_the_owner_and_field_the_value_and_what_is_expected(
    call: Callable[[], object], expected: str
) -> None:
    with pytest.raises((TypeError, ValueError)) as caught:
        call()
    assert str(caught.value) == expected


@pytest.mark.parametrize(
    ("call", "secret"),
    [
        (lambda: WebhookChannel(URL), SECRET_URL_PART),  # type: ignore[arg-type]
        (lambda: _webhook(secret=b"s3cr3t-bytes"), "s3cr3t"),
        (lambda: _smtp(credentials=("user", b"hunter2")), "hunter2"),
        (lambda: EmailChannel(("user", "hunter2")), "hunter2"),  # type: ignore[arg-type]
        (
            lambda: SlackChannel(b"https://hooks.slack.test/" + SECRET_URL_PART.encode()),  # type: ignore[arg-type]
            SECRET_URL_PART,
        ),
    ],
)
def test_a_secret_is_never_in_the_message(call: Callable[[], object], secret: str) -> None:
    with pytest.raises(TypeError) as caught:
        call()
    assert secret not in str(caught.value)


# -- the helpers themselves ------------------------------------------------------------------


def test_check_type_names_what_is_expected() -> None:
    check_type("x", None, int, allow_none=True)
    with pytest.raises(TypeError, match=r"^Owner x must be an int or None, got 'a'$"):
        check_type("x", "a", int, owner="Owner", allow_none=True)
    with pytest.raises(TypeError, match=r"^x must be a str or a bytes, got 1$"):
        check_type("x", 1, (str, bytes))
    with pytest.raises(TypeError, match=r"^x must be a password, got str$"):
        check_type("x", "hunter2", int, what="a password", secret=True)


def test_a_long_value_is_cut_in_the_message() -> None:
    with pytest.raises(TypeError) as caught:
        check_type("x", ["row"] * 100_000, int)
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("1", TypeError),
        (True, TypeError),
        (None, TypeError),
        (0, ValueError),
        (-0.5, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
    ],
)
def test_check_seconds(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"^t must be a positive number of seconds, got "):
        check_seconds("t", value)


def test_check_seconds_accepts_what_it_is_told_to() -> None:
    check_seconds("t", 0.1)
    check_seconds("t", None, allow_none=True)
    check_seconds("t", math.inf, allow_infinite=True)
    with pytest.raises(ValueError, match="got nan"):
        check_seconds("t", math.nan, allow_infinite=True)


def test_check_count_number_flag_text_and_choice() -> None:
    check_count("n", 0)
    check_count("n", -5, minimum=None)
    with pytest.raises(ValueError, match=r"^n must be a positive int, got 0$"):
        check_count("n", 0, minimum=1)
    with pytest.raises(ValueError, match=r"^n must be an int of at least 2, got 1$"):
        check_count("n", 1, minimum=2)
    with pytest.raises(TypeError, match=r"^n must be an int, got False$"):
        check_count("n", False, minimum=None)
    check_number("d", 0)
    with pytest.raises(ValueError, match=r"^d must be a finite number of at least 0, got -1$"):
        check_number("d", -1)
    check_flag("f", False)
    with pytest.raises(TypeError, match=r"^f must be a bool, got 0$"):
        check_flag("f", 0)
    check_text("s", None, allow_none=True)
    with pytest.raises(ValueError, match=r"^s must be a non-empty str, got ''$"):
        check_text("s", "")
    check_choice("c", "a", ("a", "b"))
    with pytest.raises(ValueError, match=r"^c must be one of a, b, got 'z'$"):
        check_choice("c", "z", ("a", "b"))
    with pytest.raises(TypeError, match=r"^c must be a str, one of a, b, got 1$"):
        check_choice("c", 1, ("a", "b"))
