"""Failure capture (SPEC §5): which frame is traced, safe reprs, redaction of secrets."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import sysconfig
import textwrap
from typing import TYPE_CHECKING, Any

import pytest

import processes
from processes import ErrorData, Process, Task, TaskStatus

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from types import ModuleType

THIS_FILE = os.path.abspath(__file__)
LIBRARY_DIR = os.path.dirname(os.path.abspath(processes.__file__))
STDLIB_DIR = os.path.abspath(sysconfig.get_paths()["stdlib"])


def fail(func: Callable[..., object], *args: object, **task_options: object) -> ErrorData:
    """Run ``func`` alone as a task that must fail; return its error data."""
    result = Task("t", func, args=args, **task_options).run()  # type: ignore[arg-type]
    assert result.status is TaskStatus.ERRORED
    assert result.error_data is not None
    return result.error_data


def location(error: ErrorData) -> tuple[str, int]:
    path, _, line = error.traced_vars_location.rpartition(":")
    return os.path.abspath(path), int(line)


def load_helper(tmp_path: Path, source: str) -> ModuleType:
    """Import a module written into ``tmp_path``: user code in another file."""
    path = tmp_path / "zz_capture_helper.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(f"zz_capture_helper_{id(path)}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HELPER = """
    def explode(value):
        helper_local = value * 2
        raise RuntimeError("from the helper")
"""


# -- frame selection -------------------------------------------------------------------------


def test_innermost_user_frame_is_traced_at_the_raising_line() -> None:
    lines: list[int] = []

    def inner(limit: int) -> None:
        inner_local = limit + 1
        lines.append(sys._getframe().f_lineno + 1)
        raise ValueError(f"over {inner_local}")

    def outer() -> None:
        outer_local = "outer"
        inner(len(outer_local))

    error = fail(outer)
    assert location(error) == (THIS_FILE, lines[0])
    assert error.traced_vars["inner_local"] == "6"
    assert error.traced_vars["limit"] == "5"
    assert "outer_local" not in error.traced_vars


def test_stdlib_frames_are_skipped_for_the_user_frame_that_called_them() -> None:
    lines: list[int] = []

    def parse() -> object:
        payload = "{not json"
        lines.append(sys._getframe().f_lineno + 1)
        return json.loads(payload)

    error = fail(parse)
    assert location(error) == (THIS_FILE, lines[0])
    assert error.traced_vars["payload"] == repr("{not json")
    assert "JSONDecodeError" in error.headline


def test_user_callback_called_by_the_stdlib_is_the_innermost_user_frame() -> None:
    def hook(obj: dict[str, object]) -> object:
        hook_local = sorted(obj)
        raise KeyError(hook_local[0])

    def parse() -> object:
        parse_local = '{"k": 1}'
        return json.loads(parse_local, object_hook=hook)

    error = fail(parse)
    assert location(error)[0] == THIS_FILE
    assert error.traced_vars["hook_local"] == "['k']"
    assert "parse_local" not in error.traced_vars


def test_library_frames_are_never_traced() -> None:
    def builds_a_broken_process() -> None:
        building = "two tasks with one name"
        Process([Task("dup", len), Task("dup", len)])
        del building

    error = fail(builds_a_broken_process)
    assert location(error)[0] == THIS_FILE
    assert error.traced_vars["building"] == repr("two tasks with one name")
    assert "Duplicate task name: dup" in error.exception


def test_no_user_frame_traces_nothing_from_the_library_or_the_stdlib() -> None:
    error = fail(json.loads, "{not json")
    if error.traced_vars_location:
        path = location(error)[0]
        assert not path.startswith(LIBRARY_DIR + os.sep)
        assert not path.startswith(STDLIB_DIR + os.sep)


def test_frame_in_another_user_file_is_the_default(tmp_path: Path) -> None:
    helper = load_helper(tmp_path, HELPER)

    def caller() -> None:
        caller_local = 21
        helper.explode(caller_local)

    error = fail(caller)
    path, _ = location(error)
    assert path == str(tmp_path / "zz_capture_helper.py")
    assert error.traced_vars == {"value": "21", "helper_local": "42"}


def test_frame_filter_picks_the_innermost_frame_whose_file_name_contains_it(
    tmp_path: Path,
) -> None:
    helper = load_helper(tmp_path, HELPER)
    lines: list[int] = []

    def caller() -> None:
        caller_local = 21
        lines.append(sys._getframe().f_lineno + 1)
        helper.explode(caller_local)

    error = fail(caller, traced_vars_frame_filter="test_capture")
    assert location(error) == (THIS_FILE, lines[0])
    assert error.traced_vars["caller_local"] == "21"
    assert "helper_local" not in error.traced_vars


def test_frame_filter_can_pick_a_stdlib_frame() -> None:
    def parse() -> object:
        payload = "{not json"
        return json.loads(payload)

    error = fail(parse, traced_vars_frame_filter=os.sep + "json" + os.sep)
    path, _ = location(error)
    assert path.startswith(STDLIB_DIR)
    assert os.sep + "json" + os.sep in path
    assert "payload" not in error.traced_vars
    assert error.traced_vars.get("s") == repr("{not json")


# -- safe reprs ------------------------------------------------------------------------------


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")


class NotAStringRepr:
    def __repr__(self) -> str:
        return 42  # type: ignore[return-value]


def test_repr_that_raises_gives_a_placeholder() -> None:
    def task() -> None:
        broken = BrokenRepr()
        weird = NotAStringRepr()
        fine = "ok"
        raise ValueError((broken, weird, fine))

    error = fail(task)
    assert isinstance(error.traced_vars["broken"], str)
    assert error.traced_vars["broken"]
    assert "repr exploded" not in error.traced_vars["fine"]
    assert isinstance(error.traced_vars["weird"], str)
    assert error.traced_vars["fine"] == "'ok'"


def test_exception_whose_str_raises_is_still_captured() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("str exploded")

    def task() -> None:
        marker = "still traced"
        raise Unprintable(marker)

    error = fail(task)
    assert "Unprintable" in error.headline
    assert error.traced_vars["marker"] == "'still traced'"


def test_huge_repr_is_truncated_with_a_marker() -> None:
    def task() -> None:
        big_text = "x" * 1_000_000
        big_list = list(range(1_000_000))
        small = 1
        raise ValueError(len(big_text) + len(big_list) + small)

    error = fail(task)
    for name in ("big_text", "big_list"):
        text = error.traced_vars[name]
        assert len(text) < 20_000
        assert "truncated" in text or "..." in text  # a visible marker of the cut
    assert "999999" not in error.traced_vars["big_list"]
    assert error.traced_vars["big_text"].startswith("'xxxx")
    assert error.traced_vars["big_list"].startswith("[0, 1, 2")
    assert error.traced_vars["small"] == "1"


# -- redaction -------------------------------------------------------------------------------

SECRET_NAMES = {
    "password": "pw-value-0001",
    "db_password": "pw-value-0002",
    "PASSWD": "pw-value-0003",
    "pwd": "pw-value-0004",
    "client_secret": "pw-value-0005",
    "api_token": "pw-value-0006",
    "access_token": "pw-value-0007",
    "api_key": "pw-value-0008",
    "apikey": "pw-value-0009",
    "auth": "pw-value-0010",
    "Authorization": "pw-value-0011",
    "credentials": "pw-value-0012",
    "credential": "pw-value-0013",
    "private_key": "pw-value-0014",
    "cookie": "pw-value-0015",
    "session_id": "pw-value-0016",
    "csrf_token": "pw-value-0017",
    "SESSION": "pw-value-0018",
}


def leaks_everything() -> None:
    password = "pw-value-0001"
    db_password = "pw-value-0002"
    PASSWD = "pw-value-0003"
    pwd = "pw-value-0004"
    client_secret = "pw-value-0005"
    api_token = "pw-value-0006"
    access_token = "pw-value-0007"
    api_key = "pw-value-0008"
    apikey = "pw-value-0009"
    auth = "pw-value-0010"
    Authorization = "pw-value-0011"
    credentials = "pw-value-0012"
    credential = "pw-value-0013"
    private_key = "pw-value-0014"
    cookie = "pw-value-0015"
    session_id = "pw-value-0016"
    csrf_token = "pw-value-0017"
    SESSION = "pw-value-0018"
    user = "bob"
    host = "db.example.org"
    banner = "connecting with " + password
    raise ConnectionError(
        f"login failed for {user}@{host} with {password} / {api_token} / {Authorization}",
        (db_password, PASSWD, pwd, client_secret, access_token, api_key, apikey, auth),
        (credentials, credential, private_key, cookie, session_id, csrf_token, SESSION),
        banner,
    )


def _all_text(error: ErrorData) -> str:
    return "\n".join(
        [
            error.exception,
            error.traceback_str,
            error.traced_vars_location,
            repr(error.traced_vars),
            repr(error.args),
            repr(error.kwargs),
        ]
    )


def test_secret_looking_names_are_redacted_by_default() -> None:
    error = fail(leaks_everything)
    for name in SECRET_NAMES:
        assert error.traced_vars[name] == "[redacted]", name
    assert error.traced_vars["user"] == "'bob'"
    assert error.traced_vars["host"] == "'db.example.org'"


def test_secret_values_are_masked_in_message_traceback_and_other_variables() -> None:
    error = fail(leaks_everything)
    text = _all_text(error)
    for value in SECRET_NAMES.values():
        assert value not in text
    assert "[redacted]" in error.exception
    assert "bob@db.example.org" in error.exception
    assert "[redacted]" in error.traceback_str
    assert error.traced_vars["banner"] == repr("connecting with [redacted]")


def test_redact_empty_turns_redaction_off() -> None:
    error = fail(leaks_everything, redact=())
    for name, value in SECRET_NAMES.items():
        assert error.traced_vars[name] == repr(value)
    assert "pw-value-0001" in error.exception
    assert "[redacted]" not in _all_text(error)


def test_redact_list_replaces_the_default_patterns() -> None:
    def task() -> None:
        foo_thing = "hidden-value-1"
        password = "visible-value-2"
        raise ValueError(f"{foo_thing} {password}")

    error = fail(task, redact=["foo"])
    assert error.traced_vars["foo_thing"] == "[redacted]"
    assert error.traced_vars["password"] == repr("visible-value-2")
    assert "hidden-value-1" not in _all_text(error)
    assert "visible-value-2" in error.exception


def test_nested_dict_keys_are_redacted() -> None:
    def task() -> None:
        config = {
            "database": {"host": "db.local", "Password": "nested-pw-123"},
            "headers": [{"Authorization": "Bearer abc.def.ghi"}],
            "retries": 3,
        }
        raise ValueError(sorted(config))

    error = fail(task)
    text = error.traced_vars["config"]
    assert "db.local" in text
    assert "'retries': 3" in text
    assert "[redacted]" in text
    assert "nested-pw-123" not in _all_text(error)
    assert "abc.def.ghi" not in _all_text(error)


def test_secret_kwargs_never_reach_the_report_log_or_json(tmp_path: Path) -> None:
    def connect(host: str, api_key: str) -> None:
        raise ConnectionError(f"refused by {host} for key {api_key}")

    log = tmp_path / "run.log"
    task = Task("connect", connect, log, kwargs={"host": "db.local", "api_key": "key-abc-123456"})
    with Process([task]) as process:
        report = process.run(parallel=False)
    entry = report.entries["connect"]
    assert entry.status is TaskStatus.ERRORED
    assert entry.error is not None
    assert entry.error.traced_vars["api_key"] == "[redacted]"
    assert entry.error.traced_vars["host"] == "'db.local'"
    assert "refused by db.local for key [redacted]" in entry.error.exception
    log_text = log.read_text()
    assert "db.local" in log_text
    for text in (report.to_json(), log_text, repr(entry.kwargs), repr(entry.error)):
        assert "key-abc-123456" not in text


@pytest.mark.parametrize("name", ["hostname", "username", "count", "filename"])
def test_harmless_names_are_kept(name: str) -> None:
    def task() -> None:
        row = {name: "plain-value"}
        raise ValueError(row)

    error = fail(task)
    assert "plain-value" in error.traced_vars["row"]
    assert "plain-value" in error.exception


def test_site_packages_frames_are_not_user_code(tmp_path: Path) -> None:
    installed = tmp_path / "lib" / "site-packages"
    installed.mkdir(parents=True)
    helper = load_helper(installed, HELPER)
    lines: list[int] = []

    def caller() -> None:
        caller_local = 21
        lines.append(sys._getframe().f_lineno + 1)
        helper.explode(caller_local)

    error = fail(caller)
    assert location(error) == (THIS_FILE, lines[0])
    assert error.traced_vars["caller_local"] == "21"


def test_installed_package_frames_are_not_user_code() -> None:
    def caller() -> None:
        reason = "checked by an installed package"
        pytest.fail(reason)

    error = fail(caller)
    assert location(error)[0] == THIS_FILE
    assert error.traced_vars["reason"] == repr("checked by an installed package")


class _Tripwire(dict[str, str]):
    """A mapping that records when a failure's capture looks into it while armed."""

    armed = False
    visits: list[str] = []  # noqa: RUF012 - shared on purpose: one list per test run

    def items(self) -> Any:  # type: ignore[override]
        if _Tripwire.armed:
            _Tripwire.visits.append(self.get("where", "?"))
        return super().items()


def _arm() -> None:
    _Tripwire.armed = True


def _disarm() -> None:
    _Tripwire.armed = False


def _connect(password: str) -> None:
    raise ConnectionError(f"login refused for {password}")


def _failing_task() -> None:
    _arm()
    api_token = "tok-caller-frames-9f2e71"
    _connect(api_token)


def test_a_sequential_failure_looks_only_into_the_tasks_own_frames() -> None:
    _Tripwire.visits = []
    caller_local = _Tripwire(where="caller of run()")  # above run(): never the task's
    tasks = [
        Task("held", lambda: _Tripwire(where="the run's results")),
        Task("fails", _failing_task),
        Task("after", _disarm),
    ]
    try:
        with Process(tasks) as process:
            report = process.run(parallel=False)
    finally:
        _disarm()
    assert caller_local["where"] == "caller of run()"
    assert _Tripwire.visits == []  # neither the run loop's locals nor the caller's
    error = report.entries["fails"].error
    assert error is not None
    assert "tok-caller-frames-9f2e71" not in error.exception
    assert "tok-caller-frames-9f2e71" not in error.traceback_str
    assert "[redacted]" in error.exception


def test_a_huge_message_and_traceback_are_kept_by_their_ends() -> None:
    from processes.capture import capture_failure
    from processes.redaction import DEFAULT_REDACTOR
    from processes.saferepr import MAX_FAILURE_TEXT_BYTES

    huge = "start " + "x" * (6 * 1024 * 1024) + " end"
    try:
        raise ValueError(huge)
    except ValueError as exc:
        failure = capture_failure(exc, redactor=DEFAULT_REDACTOR)
    for text in (failure.exception, failure.traceback_str):
        assert len(text) <= MAX_FAILURE_TEXT_BYTES + 100
        assert "characters cut here" in text
    assert failure.exception.startswith("ValueError: start ")
    assert failure.exception.endswith(" end")
    assert failure.cause is not None  # a cut is not a secret: the exception is still chained
    assert not failure.redacted
