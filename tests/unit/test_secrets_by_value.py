"""Secrets known by their value: the environment's secret-named variables (SPEC §5, issue 14).

Which names count, which values are left out, when the environment is read (once per
run), and where the values are masked.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Iterator

import pytest

from processes import Process, Task, TaskDependency
from processes.redaction import (
    DEFAULT_REDACTOR,
    REDACTED,
    KnownSecrets,
    Redactor,
    environment_secrets,
    is_secret_environment_name,
    read_environment,
)


@pytest.fixture(autouse=True)
def environment_read_again() -> Iterator[None]:
    yield
    read_environment()  # whatever a test read, the next run reads the real one


@pytest.mark.parametrize(
    "name",
    [
        "STRIPE_KEY",
        "DB_PASSWORD",
        "SENTRY_DSN",
        "SMTP_PW",
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "APP_SECRET",
        "HTTP_AUTHORIZATION",
        "payments_api_key",
        "Session_Cookie",
        "DB_PASSWD",
    ],
)
def test_names_that_hold_secrets(name: str) -> None:
    assert is_secret_environment_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "PWD",
        "OLDPWD",
        "HOME",
        "PATH",
        "LANG",
        "XDG_SESSION_TYPE",
        "XDG_SESSION_CLASS",
        "DESKTOP_SESSION",
        "SESSION_MANAGER",
        "SSH_AUTH_SOCK",
        "GIT_ASKPASS",
        "GIT_AUTHOR_NAME",
        "TOKENIZERS_PARALLELISM",
        "POSTGRES_PASSWORD_FILE",
        "GOOGLE_APPLICATION_CREDENTIALS_PATH",
        "SECRETS_DIR",
        "KEYBOARD",
        "MONKEY",
    ],
)
def test_names_that_hold_no_secret(name: str) -> None:
    assert not is_secret_environment_name(name)


def test_the_values_read_are_the_secret_ones_only() -> None:
    known = read_environment(
        {
            "STRIPE_KEY": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "DB_PASSWORD": "correct-horse-99\n",  # as `$(cat file)` leaves it
            "PWD": "/srv/app",
            "AUTH_ENABLED": "true",
            "SESSION_TIMEOUT": "3600",
            "SESSION_SECRET_ID": "ab",
            "EDITOR": "vim",
        }
    )
    assert known is environment_secrets()
    assert "sk_live_4eC39HqLyjWDarjtT1zdp7dc" in known.forms
    assert "correct-horse-99" in known.forms
    for left_out in ("/srv/app", "true", "3600", "ab", "vim"):
        assert left_out not in known.forms
    assert DEFAULT_REDACTOR.mask_text("cd /srv/app; took 3600 s; true") == (
        "cd /srv/app; took 3600 s; true"
    )


def test_a_value_is_masked_in_its_escaped_and_encoded_forms() -> None:
    value = 'pay/"key" \\ 42'
    read_environment({"PAYMENTS_API_KEY": value})
    written = (
        value,
        repr(value)[1:-1],
        json.dumps(value)[1:-1],
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value, safe=""),
    )
    assert len(set(written)) == 5
    for text in written:
        assert DEFAULT_REDACTOR.mask_text(f"<{text}>") == "<[redacted]>", text


def test_a_redactor_that_is_off_knows_no_values() -> None:
    read_environment({"APP_SECRET": "s3cr3t-value-1"})
    assert DEFAULT_REDACTOR.known_values()
    assert Redactor(()).known_values() == ()
    assert Redactor(()).mask_text("s3cr3t-value-1") == "s3cr3t-value-1"
    assert Redactor(["iban"]).mask_text("s3cr3t-value-1") == REDACTED  # other names: still


def test_nothing_known_masks_nothing() -> None:
    assert not KnownSecrets()
    text = "anything at all"
    assert KnownSecrets().mask(text) is text


# -- once per run ---------------------------------------------------------------------------------


def snapshot() -> int:
    return id(environment_secrets())


def export_token() -> None:
    os.environ["MIDRUN_TOKEN"] = "exported-while-running-1"


def is_known() -> bool:
    return "exported-while-running-1" in environment_secrets().forms


def test_the_environment_is_read_once_per_run_not_per_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MIDRUN_TOKEN", raising=False)
    tasks = [Task(f"t{i}", snapshot) for i in range(5)]
    tasks += [
        Task("export", export_token),
        Task("known", is_known, dependencies=[TaskDependency("export")]),
    ]
    try:
        with Process(tasks) as process:
            first = process.run(parallel=False)
            second = process.run(parallel=True)
    finally:
        os.environ.pop("MIDRUN_TOKEN", None)
    for report in (first, second):
        assert len({report.entries[f"t{i}"].result for i in range(5)}) == 1  # one read
    assert first.entries["known"].result is False  # set during the run: read by the next
    assert second.entries["known"].result is True


def test_the_same_values_keep_their_masks() -> None:
    first = read_environment({"A_TOKEN": "same-value-1234"})
    assert read_environment({"A_TOKEN": "same-value-1234", "HOME": "/root"}) is first
    assert read_environment({"A_TOKEN": "other-value-1234"}) is not first


def test_a_value_set_before_run_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    process = Process([Task("show", lambda: os.environ["LATE_TOKEN"])])
    monkeypatch.setenv("LATE_TOKEN", "set-after-the-process-was-built")
    report = process.run()
    assert report.entries["show"].result == REDACTED


# -- where the values are masked ------------------------------------------------------------------


def fail_holding(value: str, *, where: str) -> None:
    copy = f"<{value}>"  # noqa: F841  # an innocent local holding it
    raise LookupError(f"{where}: nothing for {value}")


def give(value: str) -> dict[str, str]:
    return {"value": value, "note": f"from {value}"}


def test_messages_tracebacks_traced_vars_args_kwargs_and_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    value = "Dsn-9f8e7d6c5b4a"
    monkeypatch.setenv("WAREHOUSE_DSN", value)
    with Process(
        [
            Task("fail", fail_holding, args=(value,), kwargs={"where": f"db {value}"}),
            Task("give", give, args=(value,)),
            Task(
                "take",
                fail_holding,
                kwargs={"where": "take"},
                dependencies=[TaskDependency("give", use_result_as_additional_args=True)],
            ),
        ]
    ) as process:
        report = process.run()
    fail = report.entries["fail"]
    assert fail.error is not None
    assert fail.error.headline == "LookupError: db [redacted]: nothing for [redacted]"
    assert value not in fail.error.traceback_str
    assert fail.error.traced_vars["copy"] == "'<[redacted]>'"
    assert fail.args == (REDACTED,)
    assert fail.kwargs == {"where": "db [redacted]"}
    assert report.entries["give"].result == {"value": REDACTED, "note": "from [redacted]"}
    take = report.entries["take"]
    assert take.args == ({"value": REDACTED, "note": "from [redacted]"},)
    assert take.error is not None
    assert value not in take.error.exception


def test_a_short_value_is_masked_only_as_a_word(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_PW", "open")

    def fail() -> None:
        raise RuntimeError("could not open opened.txt with open")

    with Process([Task("fail", fail)]) as process:
        report = process.run()
    error = report.entries["fail"].error
    assert error is not None
    assert error.headline == "RuntimeError: could not [redacted] opened.txt with [redacted]"


def test_redact_off_turns_the_values_off_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_SECRET", "visible-when-off-1")
    with Process([Task("give", give, args=("visible-when-off-1",), redact=())]) as process:
        report = process.run()
    assert report.entries["give"].result["value"] == "visible-when-off-1"
