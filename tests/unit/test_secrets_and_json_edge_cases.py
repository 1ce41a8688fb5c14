"""Edge cases: exotic values in JSON; secrets passed as arguments or held in containers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

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
