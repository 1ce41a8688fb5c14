"""Red-team, round 2: the mechanisms added after round 1.

Masking by shape, ``Redactor.scrub`` of results and arguments, ``Redactor.collect`` in
callers' locals, results received as secrets, and the exception kept for
``raise_for_errors()``. Each open problem is an ``xfail(strict=True)`` test naming its
kind (leak, crash, garbling, perf); the passing tests are defended attacks not covered
by ``test_secret_leaks_redteam.py``.
"""

from __future__ import annotations

import collections
import dataclasses
import shelve
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest

from leaks import everything as every_view
from processes import (
    Process,
    ProcessExecutionReport,
    ProcessFailedError,
    Task,
    TaskDependency,
    TaskStatus,
    WebhookChannel,
    WebhookConfig,
)
from processes.redaction import Redactor

pytestmark = pytest.mark.integration

# Deliberately not secret-named: real secrets come from files and the environment, and a
# secret-named global would be masked wherever the code that uses it fails.
CANARY = "Hunter2-s3cret-XYZ"


# -- helpers --------------------------------------------------------------------------------


def everything(report: ProcessExecutionReport) -> str:
    """Every serialisation of a report, its entries' text and the webhook body, joined."""
    webhook = QuietWebhook(WebhookConfig("https://hooks.example.com/ci")).render(report)
    return f"{every_view(report)}\n{webhook.decode()}"


def chained_text(report: ProcessExecutionReport) -> str:
    """What a cron job prints when ``raise_for_errors()`` escapes it."""
    with pytest.raises(ProcessFailedError) as caught:
        report.raise_for_errors()
    return "".join(traceback.format_exception(caught.value))


def run(tasks: list[Task], *, parallel: bool = False) -> ProcessExecutionReport:
    with Process(tasks) as process:
        return process.run(parallel=parallel)


class QuietWebhook(WebhookChannel):
    """A webhook channel that only renders."""

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        return None


# -- results received as secrets: the siblings' failures --------------------------------------


def issue_token() -> str:
    return CANARY


def call_api(session_token: str) -> str:
    return "ok"


def audit(value: str) -> None:
    raise ValueError(f"unexpected value {value}")


def sibling_tasks(log: Path) -> list[Task]:
    as_token = TaskDependency(
        "login", use_result_as_additional_kwargs=True, additional_kwarg_name="session_token"
    )
    as_arg = TaskDependency("login", use_result_as_additional_args=True)
    return [
        Task("login", issue_token),
        Task("api", call_api, dependencies=[as_token]),
        Task("audit", audit, log, dependencies=[as_arg], retries=1, retry_on=(ValueError,)),
    ]


@pytest.mark.parametrize("parallel", [False, True])
def test_a_secret_result_in_a_siblings_failure(tmp_path: Path, parallel: bool) -> None:
    log = tmp_path / "audit.log"
    report = run(sibling_tasks(log), parallel=parallel)
    assert report.entries["login"].result == "[redacted]"  # holds
    assert report.entries["audit"].args == ("[redacted]",)  # holds
    assert CANARY not in everything(report)  # audit's message, traced vars, attempt errors
    assert CANARY not in log.read_text(encoding="utf-8")
    assert CANARY not in chained_text(report)


# -- shapes: values nobody registered ---------------------------------------------------------


def docker_login() -> None:
    command = [sys.executable, "-c", "raise SystemExit(1)", "--password", CANARY]
    subprocess.run(command, check=True)


def test_a_password_option_in_a_called_process_error() -> None:
    report = run([Task("login", docker_login)])
    assert report.errored
    assert CANARY not in everything(report)


def read_config_line() -> None:
    line = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    raise ValueError(f"cannot parse {line}")


def test_an_ini_assignment_with_spaces_in_a_message() -> None:
    report = run([Task("config", read_config_line)])
    assert "wJalrXUtnFEMI" not in everything(report)


def literal_with_prefix() -> None:
    dict(password=b"Hunter2-s3cret-XYZ")["missing"]


def test_a_prefixed_literal_in_a_traceback_source_line() -> None:
    report = run([Task("call", literal_with_prefix)])
    assert CANARY not in everything(report)


def connect_unencoded() -> None:
    raise ConnectionError("cannot reach redis://:ab/Hunter2-s3cret-XYZ@cache:6379/0")


def test_a_url_password_with_a_slash() -> None:
    report = run([Task("connect", connect_unencoded)])
    assert CANARY not in everything(report)


def compact_json_error() -> None:
    raise RuntimeError('400 {"base_url":"http://db.internal:5432","owner":"ops@example.com"}')


def test_a_url_port_before_an_email_is_not_a_password() -> None:
    report = run([Task("call", compact_json_error)])
    error = report.errored["call"].error
    assert error is not None
    assert "db.internal:5432" in error.exception


# -- scrub: results and arguments -------------------------------------------------------------

Credentials = collections.namedtuple("Credentials", "user password")


def test_a_namedtuple_with_a_secret_field() -> None:
    report = run(
        [
            Task("result", lambda: Credentials("bob", CANARY)),
            Task("argument", lambda creds: None, args=(Credentials("bob", CANARY),)),
        ]
    )
    assert CANARY not in everything(report)


@dataclasses.dataclass
class Login:
    user: str
    password: str


def test_an_object_with_a_short_secret_attribute() -> None:
    report = run([Task("login", lambda: Login("bob", "hunter2"))])
    assert "hunter2" not in everything(report)


def test_a_dict_with_bytes_keys() -> None:
    report = run([Task("hgetall", lambda: {b"name": b"bob", b"password": CANARY.encode()})])
    assert CANARY not in everything(report)


def deeply_nested() -> dict[str, Any]:
    value: dict[str, Any] = {"password": CANARY}
    for level in range(11):
        value = {f"level{level}": value}
    return value


def test_a_secret_nested_deeper_than_scrub_and_collect_together() -> None:
    report = run([Task("graphql", deeply_nested)])
    assert CANARY not in everything(report)


def deep_members() -> dict[str, Any]:
    members: list[dict[str, str]] = [{"name": f"user{i}"} for i in range(250)]
    members[240]["api_token"] = CANARY
    return {"data": {"org": {"team": {"page": {"members": members}}}}}


def test_a_secret_past_200_items_below_depth_five() -> None:
    report = run([Task("members", deep_members)])
    assert CANARY not in everything(report)


# -- collect: callers' locals -----------------------------------------------------------------


def deploy(value: str) -> None:
    raise RuntimeError(f"deploy refused {value}")


def deploy_from_environment() -> None:
    env = {f"VAR_{i:03d}": "x" for i in range(300)}  # CI runners hold hundreds
    env["ZZ_DEPLOY_TOKEN"] = CANARY
    deploy(env["ZZ_DEPLOY_TOKEN"])


def test_a_secret_key_past_200_in_a_callers_dict() -> None:
    report = run([Task("deploy", deploy_from_environment)])
    assert CANARY not in everything(report)


class Settings:
    def __init__(self) -> None:
        self.api_key = CANARY


class Client:
    def __init__(self) -> None:
        self.settings = Settings()


def geocode(url: str) -> None:
    raise ConnectionError(f"GET {url} failed")


def enrich_rows() -> None:
    rows = [{f"column{j}": j for j in range(30)} for _ in range(300)]
    client = Client()
    geocode(f"https://maps.example.com/geo?key={client.settings.api_key}&n={len(rows)}")


def test_a_callers_rows_exhaust_the_search_budget() -> None:
    report = run([Task("enrich", enrich_rows)])
    assert CANARY not in everything(report)


# -- the exception kept for raise_for_errors() ----------------------------------------------


def literal_in_source() -> None:
    dict(api_key="sk_live_51HxYzAbCdEf9876")["missing"]


def test_a_source_line_secret_in_the_raise_for_errors_chain() -> None:
    report = run([Task("call", literal_in_source)])
    assert "sk_live_51HxYzAbCdEf9876" not in everything(report)  # holds
    assert "sk_live_51HxYzAbCdEf9876" not in chained_text(report)


# -- crashes ----------------------------------------------------------------------------------


def closed_shelf(tmp_path: Path) -> shelve.Shelf[Any]:
    with shelve.open(str(tmp_path / "cache")) as db:
        db["rows"] = 1
    return db


@pytest.mark.parametrize("where", ["result", "local", "argument", "Task.run"])
def test_a_closed_shelf_never_breaks_a_run(tmp_path: Path, where: str) -> None:
    db = closed_shelf(tmp_path)

    def fail_holding_it() -> None:
        cache = db
        raise ValueError(f"boom {type(cache).__name__}")

    if where == "result":
        task = Task("t", lambda: db)
    elif where == "argument":
        task = Task("t", lambda cache: None, args=(db,))
    else:
        task = Task("t", fail_holding_it)
    if where == "Task.run":
        assert task.run().status is TaskStatus.ERRORED
        return
    report = run([task])
    assert "t" in report.entries
    report.to_json()


# -- performance ------------------------------------------------------------------------------


def test_scrubbing_a_huge_result_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = collections.Counter[str]()
    mask_shapes, is_secret = Redactor.mask_shapes, Redactor.is_secret

    def counted_mask_shapes(self: Redactor, text: str) -> str:
        calls["mask_shapes"] += 1
        calls["characters"] += len(text)
        return mask_shapes(self, text)

    def counted_is_secret(self: Redactor, name: str) -> bool:
        calls["is_secret"] += 1
        return is_secret(self, name)

    monkeypatch.setattr(Redactor, "mask_shapes", counted_mask_shapes)
    monkeypatch.setattr(Redactor, "is_secret", counted_is_secret)
    lines = [f"line {i}" for i in range(300_000)]
    rows = [{"id": i, "name": "x", "city": "y"} for i in range(100_000)]
    text = "x" * 10_000_000
    run([Task("lines", lambda: lines), Task("rows", lambda: rows), Task("text", lambda: text)])
    # Bounded per result (a few tens of thousands of steps), not by its size.
    assert calls["mask_shapes"] < 3 * 25_000
    assert calls["is_secret"] < 3 * 45_000
    assert calls["characters"] < 3 * 1_100_000


# -- defended ---------------------------------------------------------------------------------


class ArrayLike:
    """numpy-like: == returns an array whose truth value raises."""

    def __init__(self) -> None:
        self.values = [1, 2, 3]

    def __eq__(self, other: object) -> Any:
        return ArrayLike()

    def __bool__(self) -> bool:
        raise ValueError("The truth value of an array is ambiguous")

    __hash__ = object.__hash__


def test_an_array_like_result_passed_on_and_a_recursive_result() -> None:
    recursive: dict[str, Any] = {"password": CANARY}
    recursive["self"] = recursive
    looped: list[Any] = []
    looped.append(looped)
    report = run(
        [
            Task("array", ArrayLike),
            Task(
                "use",
                lambda a: None,
                dependencies=[TaskDependency("array", use_result_as_additional_args=True)],
            ),
            Task("recursive", lambda: recursive),
            Task("looped", lambda: looped),
        ]
    )
    assert report.ok
    assert CANARY not in everything(report)


def reject(session_token: str) -> None:
    raise PermissionError(f"rejected {session_token}")


def test_a_secret_result_retried_and_failed_under_its_secret_name(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    uses = TaskDependency("login", use_result_as_additional_args=True)
    tasks = [
        Task("login", issue_token),
        Task("api", reject, log, dependencies=[uses], retries=2, retry_on=(PermissionError,)),
    ]
    report = run(tasks, parallel=True)
    assert report.entries["api"].attempts == 3
    assert CANARY not in everything(report)
    assert CANARY not in log.read_text(encoding="utf-8")
    assert CANARY not in chained_text(report)
