"""Secrets that still leaked by a route of their own (issue 26), each checked in every view:
``to_text``, ``to_html``, ``to_json``, the email as a real aiosmtpd receives it, the
webhook body as pytest-httpserver receives it, and the task's log file; the stored
command line through a real subprocess and its history file.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import subprocess
import sys
import textwrap
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from leaks import delivered
from processes import Process, ProcessExecutionReport, RunHistory, Task
from processes.capture import NOT_SEARCHED

pytestmark = pytest.mark.integration


def run_logged(task: Task, *, name: str = "nightly") -> ProcessExecutionReport:
    with Process([task], name=name) as process:
        return process.run()


def views(report: ProcessExecutionReport, log: Path, httpserver: HTTPServer) -> dict[str, str]:
    shown = delivered(report, httpserver)
    shown["the log file"] = log.read_text(encoding="utf-8")
    return shown


def assert_hidden(shown: dict[str, str], secrets: list[str]) -> None:
    for where, text in shown.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} shows in {where}"


def error_of(report: ProcessExecutionReport, name: str) -> Any:
    error = report.entries[name].error
    assert error is not None
    return error


# -- 1. exception groups and chains of any size ---------------------------------------------


async def subtask(i: int) -> None:
    password = f"TaskGroupPw-{i}-q7x"
    try:
        raise OSError("connection reset by peer")
    except OSError:
        raise PermissionError(f"login {i} refused with {password}") from None


async def six_subtasks() -> None:
    async with asyncio.TaskGroup() as group:
        for i in range(6):
            group.create_task(subtask(i))


def task_group() -> None:
    asyncio.run(six_subtasks())


def member(i: int) -> Exception:
    api_token = f"GroupToken-{i:02d}-q7x"
    try:
        raise ValueError(f"row {i} rejected for {api_token}")
    except ValueError as error:
        return error


def group_of_twenty() -> None:
    raise ExceptionGroup("20 rows failed", [member(i) for i in range(20)])


def level(i: int) -> None:
    secret_key = f"ChainKey-{i:02d}-q7x"
    try:
        if i < 29:
            level(i + 1)
        else:
            raise KeyError("bottom")
    except Exception as error:
        raise RuntimeError(f"level {i} failed with {secret_key}") from error


def chain_of_thirty() -> None:
    level(0)


@pytest.mark.parametrize(
    ("job", "secrets", "shown"),
    [
        (task_group, [f"TaskGroupPw-{i}-q7x" for i in range(6)], "login 5 refused with"),
        (group_of_twenty, [f"GroupToken-{i:02d}-q7x" for i in range(20)], "row 14 rejected"),
        (chain_of_thirty, [f"ChainKey-{i:02d}-q7x" for i in range(30)], "level 29 failed"),
    ],
    ids=["task group of 6", "group of 20", "chain of 30"],
)
def test_every_member_of_a_group_or_chain_is_searched(
    tmp_path: Path, httpserver: HTTPServer, job: Any, secrets: list[str], shown: str
) -> None:
    log = tmp_path / "job.log"
    report = run_logged(Task("job", job, log))
    error = error_of(report, "job")
    assert shown in error.traceback_str  # every member is still there to read
    assert NOT_SEARCHED not in error.traceback_str
    assert_hidden(views(report, log, httpserver), secrets)


def refuse() -> None:
    password = "BottomOfTheChain-q7x"
    raise ConnectionError(f"refused with {password}")


def chain_past_the_search() -> None:
    previous: BaseException | None = None
    try:
        refuse()
    except ConnectionError as error:
        previous = error
    for i in range(1_100):
        try:
            raise RuntimeError(f"retry {i} failed") from previous
        except RuntimeError as error:
            previous = error
    assert previous is not None
    raise previous


def test_an_exception_the_search_did_not_reach_is_not_shown(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    log = tmp_path / "job.log"
    report = run_logged(Task("job", chain_past_the_search, log))
    error = error_of(report, "job")
    assert error.headline == "RuntimeError: retry 1099 failed"  # searched: shown
    assert f"ConnectionError: {NOT_SEARCHED}" in error.traceback_str
    assert "RuntimeError: retry 5 failed" not in error.traceback_str  # past the search too
    assert_hidden(views(report, log, httpserver), ["BottomOfTheChain-q7x"])


# -- 2. environment secrets inside bytes, sets, deques, dict views and keys -----------------

WAREHOUSE = "Wh/se pass+77"  # quote() keeps "/", quote_plus() writes "+" for the space


def environment_forms() -> list[str]:
    return [
        WAREHOUSE,
        urllib.parse.quote(WAREHOUSE),
        urllib.parse.quote(WAREHOUSE, safe=""),
        urllib.parse.quote_plus(WAREHOUSE),
        json.dumps(WAREHOUSE)[1:-1],
    ]


def holders(value: str) -> dict[str, Any]:
    lookup = {value: "warehouse", "user": "etl"}
    return {
        "bytes": value.encode(),
        "bytearray": bytearray(value.encode()),
        "set": {value},
        "frozenset": frozenset({value}),
        "deque": collections.deque([value]),
        "keys": lookup.keys(),
        "values": {"dsn": value}.values(),
        "items": {"dsn": value}.items(),
        "dict key": lookup,
    }


KINDS = list(holders("x"))


def use_it(kind: str, value: Any, *, also: Any) -> Any:
    return holders(os.environ["WAREHOUSE_PW"])[kind]


def fail_holding_it(kind: str, value: Any, *, also: Any) -> None:
    held = holders(os.environ["WAREHOUSE_PW"])[kind]
    raise RuntimeError(f"load failed holding {kind}: {len(held)} item(s)")


@pytest.mark.parametrize("kind", KINDS)
def test_environment_secrets_inside_containers(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("WAREHOUSE_PW", WAREHOUSE)
    log = tmp_path / "job.log"
    held = holders(WAREHOUSE)[kind]
    call = {"args": (kind, held), "kwargs": {"also": held}}
    tasks = [Task("use", use_it, log, **call), Task("fail", fail_holding_it, log, **call)]
    with Process(tasks, name="warehouse") as process:
        report = process.run()
    assert set(report.successes) == {"use"}
    error = error_of(report, "fail")
    assert error.headline.startswith(f"RuntimeError: load failed holding {kind}")
    assert "held" in error.traced_vars
    assert_hidden(views(report, log, httpserver), environment_forms())


def fail_with_it_quoted() -> None:
    given = os.environ["WAREHOUSE_PW"]
    url = "https://etl:" + urllib.parse.quote(given) + "@wh/db"
    query = "q=" + urllib.parse.quote_plus(given)
    raise RuntimeError(f"load failed: {url.replace('@', ' at ')} {query}")


def test_environment_secrets_percent_encoded_with_the_defaults(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAREHOUSE_PW", WAREHOUSE)
    log = tmp_path / "job.log"
    report = run_logged(Task("load", fail_with_it_quoted, log))
    error = error_of(report, "load")
    assert (
        error.headline == "RuntimeError: load failed: https://etl:[redacted] at wh/db q=[redacted]"
    )
    assert_hidden(views(report, log, httpserver), environment_forms())


# -- 3. the command line stored in the history ----------------------------------------------

JOB = """
import sys
from processes import Process, RunHistory, Task

with RunHistory(sys.argv[1]) as history, Process([Task("load", lambda: 1)], name="n") as p:
    p.run(history=history)
"""


def test_secrets_given_as_values_on_the_command_line_are_not_stored(tmp_path: Path) -> None:
    script, path = tmp_path / "job.py", tmp_path / "runs.db"
    script.write_text(textwrap.dedent(JOB), encoding="utf-8")
    secret, dsn_password = "Cmd-line-pw-4711", "Dsn-pw-0815"
    argv = [
        str(path),
        "-p",
        secret,
        f"--dsn=postgres://u:{dsn_password}@h/db",
        secret,
        "--day",
        "monday",
    ]
    environment = {**os.environ, "DB_PASSWORD": secret}
    subprocess.run([sys.executable, str(script), *argv], env=environment, check=True)
    with RunHistory(path) as history:
        (run,) = history.runs()
    assert run.argv == (
        str(script),
        str(path),
        "-p",
        "[redacted]",
        "--dsn=[redacted]",
        "[redacted]",
        "--day",
        "monday",
    )
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("runs.db*"))
    assert secret.encode() not in stored
    assert dsn_password.encode() not in stored


# -- 4. secret-named attributes of the exception itself -------------------------------------


class ApiError(Exception):
    def __init__(self, message: str, credential: str, pin: str) -> None:
        super().__init__(f"{message} (sent {credential}, pin {pin})")
        self.token = credential
        self.password = pin


def read_credential() -> str:
    return "AttrCredential-q7x"


def call_api() -> None:
    sent = read_credential()
    pin = "hunt3r2"  # shorter than 8: masked as a word
    raise ApiError("refused", sent, pin)


def test_secret_named_attributes_of_the_exception(tmp_path: Path, httpserver: HTTPServer) -> None:
    log = tmp_path / "job.log"
    report = run_logged(Task("api", call_api, log))
    error = error_of(report, "api")
    assert error.headline.endswith("ApiError: refused (sent [redacted], pin [redacted])")
    assert error.traced_vars["sent"] == "'[redacted]'"
    shown = views(report, log, httpserver)
    assert_hidden(shown, ["AttrCredential-q7x"])
    for where, text in shown.items():
        assert "hunt3r2" not in text.replace("[redacted]", " "), where


# -- 5. a URL's password in the process name ------------------------------------------------


def fail() -> None:
    raise RuntimeError("extract failed")


def test_a_url_password_in_the_process_name(tmp_path: Path, httpserver: HTTPServer) -> None:
    log = tmp_path / "job.log"
    report = run_logged(Task("extract", fail, log), name="etl postgres://u:hunter2@h/db")
    assert report.process_name == "etl postgres://u:[redacted]@h/db"
    shown = views(report, log, httpserver)
    assert "etl postgres://u:[redacted]@h/db" in shown["the email's subject"]
    assert_hidden(shown, ["hunter2"])


# -- 6. name: value and name = value, whatever the value -------------------------------------


def read_settings() -> None:
    raise ValueError(
        "bad settings: password: correcthorsebatterystaple; status: ok; token count: 3;"
        " db_password = staple-horse"
    )


def test_name_value_pairs_whatever_the_value(tmp_path: Path, httpserver: HTTPServer) -> None:
    log = tmp_path / "job.log"
    report = run_logged(Task("settings", read_settings, log))
    error = error_of(report, "settings")
    assert error.headline == (
        "ValueError: bad settings: password: [redacted]; status: ok; token count: 3;"
        " db_password = [redacted]"
    )
    assert_hidden(views(report, log, httpserver), ["correcthorse", "staple"])
