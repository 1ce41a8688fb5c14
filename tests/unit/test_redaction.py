"""Redaction (SPEC §5, NOTIFY R2): secrets found by name, by value and by shape."""

from __future__ import annotations

import collections
import dataclasses
import functools
import time
import types
import uuid
from typing import Any

import pytest

from processes import Process, Task, TaskDependency
from processes.capture import secret_positions
from processes.redaction import (
    DEFAULT_REDACTOR,
    REDACTED,
    Redactor,
    mask,
    read_environment,
    remember_secret,
)

# -- by shape --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://admin:Hunter2x@db:5432/prod", "postgresql://admin:[redacted]@db:5432/prod"),
        ("redis://:ab/Hunter2x@cache:6379/0", "redis://:[redacted]@cache:6379/0"),
        ("postgres://u:p@ss-word1@db/x", "postgres://u:[redacted]@db/x"),
        ("Authorization: Basic YWRtaW46SHVudGVy", "Authorization: Basic [redacted]"),
        ("sent Bearer eyJhbGciOi.J9x", "sent Bearer [redacted]"),
        ("Settings(host='db', password='S3cr')", "Settings(host='db', password='[redacted]')"),
        ("{'api_key': 'abc', 'user': 'u'}", "{'api_key': '[redacted]', 'user': 'u'}"),
        ('{"Token": "abc"}', '{"Token": "[redacted]"}'),
        ("GET /x?API_KEY=letters&page=2", "GET /x?API_KEY=[redacted]&page=2"),
        ("session_token=abc session_id=5", "session_token=[redacted] session_id=5"),
        ("x_token" * 3 + "=abc", "x_token" * 3 + "=[redacted]"),
        ('{"password": "ab\\"cd-rest"}', '{"password": "[redacted]"}'),
        ("password: hunter2 (user bob)", "password: [redacted] (user bob)"),
        ("X-Api-Key: 0123abcd", "X-Api-Key: [redacted]"),
        ("sent bearer abc123def456", "sent bearer [redacted]"),
        ("Authorization: Token abc123def456", "Authorization: Token [redacted]"),
        ("connect(password=pw)", "connect(password=[redacted])"),
        ("password: correcthorsebatterystaple", "password: [redacted]"),  # no digit needed
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "aws_secret_access_key = [redacted]"),
        ("API_TOKEN= abc def", "API_TOKEN= [redacted] def"),  # the first word
        ("api_key: sk-abc, user: bob", "api_key: [redacted], user: bob"),
    ],
)
def test_credentials_are_masked_by_their_shape(text: str, shown: str) -> None:
    assert DEFAULT_REDACTOR.mask_shapes(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "def connect(password: str) -> None:",  # an annotation, not a value
        "max_tokens=512 prompt_tokens=12",  # counts, not secrets
        "HTTP Basic Authentication failed",  # prose
        "if password=='x':",  # a comparison in a source line shows no value of its own
        "    token = get_token()",  # code with spaces around "=": not a credential
        "Basic configuration failed",  # prose
        "https://example.com/path?page=2",
        "http://localhost:4873/@babel/core",  # a port, then a path with an "@"
        '{"url":"http://db:5432","owner":"ops@example.com"}',
        "password='[redacted]'",  # already masked
        "x = 1",
        "status: ok",  # no secret name: whatever follows stays
        "token count: 3",  # the name is "token", but no value is written after it
        "jwt.exceptions.InvalidTokenError: Signature has expired",  # a class, then its message
        "    token: Optional[str] = None",  # an annotation
        "    session: Session = Session()",  # an annotated assignment
        "    secret = settings.secret",  # an attribute
        "    password = getpass.getpass()",  # a call
        "max_tokens: 512",  # a count
    ],
)
def test_text_without_a_credential_is_left_alone(text: str) -> None:
    assert DEFAULT_REDACTOR.mask_shapes(text) == text


def test_a_command_line_keeps_no_secret_given_as_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_PASSWORD", "Cmd-line-pw-4711")
    read_environment()
    argv = ["job.py", "-p", "Cmd-line-pw-4711", "--dsn", "h/db", "--key=k", "--port", "5432"]
    assert DEFAULT_REDACTOR.mask_command_line(argv) == [
        "job.py",
        "-p",
        REDACTED,
        "--dsn",
        REDACTED,  # named like a secret variable (*_DSN, *_KEY)
        f"--key={REDACTED}",
        "--port",
        "5432",
    ]
    assert Redactor(()).mask_command_line(argv) == argv
    monkeypatch.delenv("DB_PASSWORD")
    read_environment()  # the next test's environment holds no such value


def test_no_redaction_means_no_masking_by_shape_either() -> None:
    assert Redactor(()).mask_shapes("password='x'") == "password='x'"


def test_masking_by_shape_is_linear_in_long_names() -> None:
    text = "x_token" * 20_000  # one 140 KB name: every "token" in it is a candidate
    started = time.process_time()
    assert DEFAULT_REDACTOR.mask_shapes(text) == text
    assert time.process_time() - started < 1  # it was quadratic: 8 s for 56 KB


def test_masking_by_shape_stays_fast_on_megabytes_of_text() -> None:
    text = "key=value; password=thing, url=http://x/y " * 100_000  # 4.3 MB
    started = time.process_time()
    masked = DEFAULT_REDACTOR.mask_shapes(text)
    assert masked.count("password=[redacted]") == 100_000
    assert time.process_time() - started < 5  # a case-insensitive regex took minutes


# -- by value --------------------------------------------------------------------------------


def test_a_short_value_is_masked_only_where_it_is_a_word() -> None:
    secrets: list[str] = []
    remember_secret("open", secrets)
    assert mask("in open_report: opened.txt", secrets) == "in open_report: opened.txt"
    assert mask("state is open, with open(path)", secrets) == (
        "state is [redacted], with [redacted](path)"
    )


def test_a_long_value_is_masked_everywhere() -> None:
    secrets: list[str] = []
    remember_secret("Hunter2-s3cret", secrets)
    assert mask("xHunter2-s3cretx", secrets) == "x[redacted]x"


def test_url_encoded_forms_of_a_secret_are_masked() -> None:
    secrets: list[str] = []
    remember_secret("p@ss/w0rd&x=1", secrets)
    assert (
        mask("postgresql://u:p%40ss%2Fw0rd%26x%3D1@db", secrets) == "postgresql://u:[redacted]@db"
    )
    assert mask("q=p%40ss%2Fw0rd%26x%3D1", secrets) == "q=[redacted]"


def test_a_uuid_is_remembered_as_it_prints() -> None:
    token = uuid.UUID("8c5b1e0a-4f6d-4c2b-9a7e-3d1f0b2c4e6a")
    secrets: list[str] = []
    remember_secret(token, secrets)
    assert mask(f"session {token} ({token.hex})", secrets) == "session [redacted] ([redacted])"


# -- scrubbing values ------------------------------------------------------------------------


def test_scrub_hides_containers_nested_deeper_than_it_looks() -> None:
    deep: dict[str, Any] = {"password": "Hunter2-s3cret"}
    for level in range(6):
        deep = {f"level{level}": deep}
    secrets: list[str] = []
    shown = DEFAULT_REDACTOR.scrub(deep, secrets)
    assert "Hunter2-s3cret" not in repr(shown)
    assert REDACTED in repr(shown)


def test_scrub_args_keeps_the_same_tuple_when_nothing_is_secret() -> None:
    args = (1, "plain", {"host": "db"})
    assert DEFAULT_REDACTOR.scrub_args(args) is args
    assert DEFAULT_REDACTOR.scrub_args(({"password": "x"},)) == ({"password": REDACTED},)


@dataclasses.dataclass
class Settings:
    host: str
    password: str


def test_collect_finds_secret_fields_of_dicts_and_plain_objects() -> None:
    secrets: list[str] = []
    holder = types.SimpleNamespace(api_key="key-from-namespace", name="n")
    DEFAULT_REDACTOR.collect(
        [{"password": "pw-in-a-dict"}, Settings("db", "pw-in-a-dataclass"), holder], secrets
    )
    assert {"pw-in-a-dict", "pw-in-a-dataclass", "key-from-namespace"} <= set(secrets)
    assert "n" not in secrets
    assert "db" not in secrets


class LazyProxy:
    """Like a lazy settings object: looking at an attribute it lacks would compute it."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} was evaluated")


class BrokenMapping(dict[str, str]):
    def items(self) -> Any:
        raise RuntimeError("cannot list")


def test_collect_never_makes_an_object_compute_an_attribute_nor_fails() -> None:
    import asyncio

    secrets: list[str] = []
    loop = asyncio.new_event_loop()
    try:
        odd = [LazyProxy(), BrokenMapping(), loop.create_future(), {"token": "found-anyway"}]
        DEFAULT_REDACTOR.collect(odd, secrets)
    finally:
        loop.close()
    assert "found-anyway" in secrets


def test_collect_gives_up_on_a_huge_dict_quickly() -> None:
    huge = {f"key{i}": i for i in range(1_000_000)}
    huge["password"] = "never-reached-maybe"
    started = time.process_time()
    DEFAULT_REDACTOR.collect([huge, huge, huge], [])
    assert time.process_time() - started < 1


# -- which arguments are secret --------------------------------------------------------------


def logged(func: Any) -> Any:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


@logged
def connect(host: str, password: str) -> str:
    return "ok"


def test_secret_positions_are_read_through_decorators() -> None:
    assert secret_positions(connect, DEFAULT_REDACTOR, 2) == (1,)


def test_a_decorated_task_hides_its_secret_argument_on_success() -> None:
    report = Process([Task("a", connect, args=("db", "hunter22"))]).run()
    assert report.entries["a"].args == ("db", REDACTED)


def issue_token() -> str:
    return "tok-Hunter2-s3cret"


def call_api(session_token: str) -> str:
    return "called"


def call_api_by_position(host: str, api_key: str) -> str:
    return "called"


@pytest.mark.parametrize("parallel", [False, True])
def test_a_result_passed_on_as_a_secret_is_not_shown_as_a_result(parallel: bool) -> None:
    by_keyword = TaskDependency(
        "issue", use_result_as_additional_kwargs=True, additional_kwarg_name="session_token"
    )
    by_position = TaskDependency("issue_again", use_result_as_additional_args=True)
    tasks = [
        Task("issue", issue_token),
        Task("issue_again", issue_token),
        Task("plain", issue_token),
        Task("api", call_api, dependencies=[by_keyword]),
        Task("api2", call_api_by_position, args=("db",), dependencies=[by_position]),
    ]
    report = Process(tasks).run(parallel=parallel)
    assert report.ok
    assert report.entries["issue"].result == REDACTED
    assert report.entries["issue_again"].result == REDACTED
    assert report.entries["plain"].result == "tok-Hunter2-s3cret"  # passed to nobody
    assert report.entries["api"].kwargs == {"session_token": REDACTED}
    assert report.entries["api2"].args == ("db", REDACTED)


def test_a_successful_result_is_scrubbed_but_passed_on_whole() -> None:
    received: list[Any] = []
    tasks = [
        Task("issue", lambda: {"user": "ci", "access_token": "Hunter2-s3cret"}),
        Task("use", received.append, dependencies=[TaskDependency("issue", True)]),
    ]
    report = Process(tasks).run(parallel=False)
    assert report.entries["issue"].result == {"user": "ci", "access_token": REDACTED}
    assert received == [{"user": "ci", "access_token": "Hunter2-s3cret"}]


# -- what the review of the first version found ----------------------------------------------


def refuse(value: str) -> None:
    raise ConnectionError(f"login refused for {value}")


def login_beside_many_sessions() -> None:
    sessions = {f"k{i}": f"value-{i:04d}" for i in range(300)}  # 300 secret-looking values
    conf = {"user": "bob", "password": "hunter2-pw"}
    refuse(conf["password"] if sessions else "")


def login_beside_a_big_dict() -> None:
    conf = {"user": "bob", "password": "hunter2-pw"}
    rows = {i: str(i) for i in range(6000)}  # would use up the search on its own
    refuse(conf["password"] if rows else "")


Credentials = collections.namedtuple("Credentials", "user password")


class SlottedCredentials:
    __slots__ = ("password", "user")

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password


def login_with_a_namedtuple() -> None:
    credentials = Credentials("bob", "hunter2-nt")
    refuse(credentials.password)


def login_with_a_slotted_object() -> None:
    credentials = SlottedCredentials("bob", "hunter2-sl")
    refuse(credentials.password)


@pytest.mark.parametrize(
    "job",
    [
        login_beside_many_sessions,
        login_beside_a_big_dict,
        login_with_a_namedtuple,
        login_with_a_slotted_object,
    ],
)
def test_a_callers_secret_is_found_whatever_else_the_frames_hold(job: Any) -> None:
    error = Process([Task("w", job)]).run(parallel=False).entries["w"].error
    assert error is not None
    assert error.headline == "ConnectionError: login refused for [redacted]"


class QuotaError(Exception):
    pass


def call_model(prompt: str, max_tokens: int = 512) -> None:
    raise QuotaError("quota exceeded")


def ask() -> None:
    call_model("hi", max_tokens=512)


def test_the_exception_is_kept_when_no_secret_touched_its_own_text() -> None:
    result = Task("ask", ask).run()
    assert isinstance(result.exception, QuotaError)
    assert result.error_data is not None
    assert "max_tokens=512" in result.error_data.traceback_str


Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize(
    "value",
    [
        Point(1, 2),
        collections.OrderedDict(a=1),
        collections.defaultdict(int, a=1),
        {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}},
    ],
)
def test_a_result_with_nothing_secret_is_shown_as_it_is(value: Any) -> None:
    report = Process([Task("r", lambda: value)]).run(parallel=False)
    assert report.entries["r"].result is value


@dataclasses.dataclass
class Issued:
    user: str
    password: str


def test_an_object_result_holding_a_secret_is_shown_as_its_masked_repr() -> None:
    report = Process([Task("r", lambda: Issued("bob", "hunter2-pw"))]).run(parallel=False)
    assert report.entries["r"].result == "Issued(user='bob', password='[redacted]')"


def slow_login(password: str) -> None:
    time.sleep(1)


def test_a_secret_argument_is_hidden_in_the_error_of_a_timed_out_task(tmp_path: Any) -> None:
    log = tmp_path / "t.log"
    task = Task("t", slow_login, log, args=("hunter2-pw",), timeout=0.05)
    with Process([task]) as process:
        report = process.run(parallel=False)
    error = report.entries["t"].error
    assert error is not None
    assert error.args == (REDACTED,)
    assert "hunter2-pw" not in log.read_text()


def use_key(api_key: str) -> str:
    return "used"


def show(value: str) -> str:
    return value[:3]


@pytest.mark.parametrize("parallel", [False, True])
def test_a_result_received_as_a_secret_is_hidden_from_its_siblings_too(parallel: bool) -> None:
    tasks = [
        Task("get", issue_token),
        Task("show", show, dependencies=[TaskDependency("get", True)]),
        Task("use", use_key, dependencies=[TaskDependency("get", True)]),
    ]
    report = Process(tasks).run(parallel=parallel)
    assert report.ok
    assert report.entries["get"].result == REDACTED
    assert report.entries["show"].args == (REDACTED,)
    assert report.entries["use"].args == (REDACTED,)
    assert "tok-Hunter2-s3cret" not in report.to_json()


def test_a_huge_keyword_argument_stays_in_its_place() -> None:
    rows = list(range(50_000))
    shown = DEFAULT_REDACTOR.scrub_kwargs({"rows": [str(i) for i in rows], "token": "abc"})
    assert set(shown) == {"rows", "token"}
    assert shown["token"] == REDACTED
    assert isinstance(shown["rows"], str)  # too big to check: its cut repr
    assert shown["rows"].startswith("['0', '1', '2'")
    report = Process([Task("t", lambda **_: None, kwargs={"rows": rows})]).run()
    assert report.entries["t"].kwargs["rows"] is rows  # numbers only: nothing to check
