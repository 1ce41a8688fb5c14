"""Edge cases: exotic values in JSON; secrets passed as arguments or held in containers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from processes import Process, Task, TaskStatus

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def const(value: object) -> Callable[[], object]:
    def func() -> object:
        return value

    return func


# SPEC §6: to_json() "never raising on exotic values (non-JSON values are written
# faithfully, e.g. by repr)".


def test_to_json_with_an_int_too_long_for_str_conversion() -> None:
    report = Process([Task("big", const(10**5000))]).run()
    data = json.loads(report.to_json())
    assert data["entries"]["big"]["status"] == "success"


def test_to_json_with_a_deeply_nested_value() -> None:
    nested: list[object] = []
    for _ in range(5_000):
        nested = [nested]
    report = Process([Task("deep", const(nested))]).run()
    data = json.loads(report.to_json())
    assert data["entries"]["deep"]["status"] == "success"


# SPEC §5: "Redaction happens at capture, so logs, reports, JSON, emails and webhooks
# never hold the value."


def test_secret_passed_positionally_leaks_into_report_json_and_log(tmp_path: Path) -> None:
    def connect(host: str, api_key: str) -> None:
        raise ConnectionError(f"refused by {host}")

    log = tmp_path / "connect.log"
    task = Task("connect", connect, log, args=("db.local", "key-abc-123456"))
    with Process([task]) as process:
        report = process.run()
    entry = report.entries["connect"]
    assert entry.status is TaskStatus.ERRORED
    assert entry.error is not None
    assert entry.error.traced_vars["api_key"] == "[redacted]"  # holds
    assert "key-abc-123456" not in repr(entry.error.args)
    assert "key-abc-123456" not in report.to_json()
    assert "key-abc-123456" not in log.read_text(encoding="utf-8")


def test_secret_local_holding_a_container_leaks_through_the_message() -> None:
    def login() -> None:
        credentials = {"user": "bob", "password": "hunter2-xyz"}
        raise ValueError(f"login failed: {credentials}")

    result = Task("login", login).run()
    assert result.error_data is not None
    assert result.error_data.traced_vars["credentials"] == "[redacted]"  # holds
    assert "hunter2-xyz" not in result.error_data.exception
    assert "hunter2-xyz" not in result.error_data.traceback_str


def test_secret_local_holding_a_list_leaks_through_the_message() -> None:
    def use_tokens() -> None:
        api_tokens = ["tok-aaaa-1111", "tok-bbbb-2222"]
        raise ValueError(f"bad token {api_tokens[0]}")

    result = Task("tokens", use_tokens).run()
    assert result.error_data is not None
    assert result.error_data.traced_vars["api_tokens"] == "[redacted]"  # holds
    assert "tok-aaaa-1111" not in result.error_data.exception


def test_a_list_named_like_secrets_in_a_caller_does_not_garble_the_error() -> None:
    def parse(text: str) -> None:
        raise ValueError(f"cannot parse sentence: {text}")

    def job() -> None:
        tokens = ["error", "parse", "sentence", "cannot"]  # words, not secrets
        parse(" ".join(tokens))

    result = Task("job", job).run()
    assert result.error_data is not None
    assert result.error_data.headline == (
        "ValueError: cannot parse sentence: error parse sentence cannot"
    )


def test_a_bytes_secret_is_masked_as_python_shows_bytes() -> None:
    key = bytes.fromhex("8f3a9c01d2e4b7f6a1c3e5d7092b4d6f")

    def sign(payload: str, secret_key: bytes) -> None:
        raise ValueError(f"cannot sign {payload!r} with {secret_key!r}")

    report = Process([Task("sign", sign, args=("data", key))]).run()
    error = report.errored["sign"].error
    assert error is not None
    assert repr(key)[2:-1] not in error.exception
    assert repr(key)[2:-1] not in report.to_json()


def test_task_run_hands_back_a_masked_stand_in_when_the_exception_held_a_secret() -> None:
    def login() -> None:
        password = "pässwörd-12345"
        raise PermissionError(f"login refused for {password!r}")

    result = Task("login", login).run()
    assert result.exception is not None
    assert "pässwörd-12345" not in str(result.exception)
    assert "[redacted]" in str(result.exception)


def test_a_secret_cut_by_truncation_is_masked_before_the_cut() -> None:
    def connect(host: str, password: str) -> None:
        url = "https://x.example/?q=" + "a" * 1970 + password
        raise RuntimeError(f"bad url for {host}: {len(url)} characters")

    result = Task("connect", connect, args=("db", "hunter2-correct-horse")).run()
    assert result.error_data is not None
    traced = result.error_data.traced_vars["url"]
    assert "hunter2" not in traced
    assert "truncated" in traced


def test_ctrl_c_during_a_retry_is_reported_as_the_interruption() -> None:
    calls = {"n": 0}

    def flaky() -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("first attempt: refused")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as raised:
        Process([Task("flaky", flaky, retries=2)]).run(parallel=False, sleep=lambda _: None)

    entry = raised.value.report.entries["flaky"]  # type: ignore[attr-defined]
    assert entry.attempts == 2
    assert entry.error is not None
    assert entry.error.headline.startswith("KeyboardInterrupt")
