"""``ProcessExecutionReport.from_json`` on text that is not a report (SPEC §6, issue 14).

Every kind of bad input raises ``ValueError`` saying what is wrong and where; never
``KeyError``, ``TypeError`` or ``RecursionError``. Reports written by earlier versions
(without the fields added since) still load.
"""

from __future__ import annotations

import json
import re
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import T0, make_entry, make_error, make_report
from processes import ProcessExecutionReport, TaskStatus
from processes.report import MAX_JSON_DEPTH_READ

Patch = Callable[[dict[str, Any]], object]


def saved() -> dict[str, Any]:
    """A report with a success, a failure and a skip, as ``to_json()`` writes it."""
    report = make_report(
        make_entry("fetch"),
        make_entry(
            "load",
            TaskStatus.ERRORED,
            error=make_error("load", downstream=("publish",)),
            dependencies=("fetch",),
        ),
        make_entry("publish", TaskStatus.SKIPPED, dependencies=("load",)),
    )
    data: dict[str, Any] = json.loads(report.to_json())
    return data


def load_patched(patch: Patch) -> ProcessExecutionReport:
    data = saved()
    patch(data)
    return ProcessExecutionReport.from_json(json.dumps(data))


def entry(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda data: data["entries"][name]


fetch, load = entry("fetch"), entry("load")


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        # unknown values of closed sets
        (lambda d: fetch(d).update(status="weird"), "entries.fetch: unknown status 'weird'"),
        (lambda d: fetch(d).update(status=3), "entries.fetch: unknown status 3"),
        (lambda d: fetch(d).update(status=["success"]), "entries.fetch: unknown status"),
        (
            lambda d: fetch(d).update(skip_reason="bored"),
            "entries.fetch: unknown skip_reason 'bored'",
        ),
        (lambda d: d.update(changes={"load": "worse"}), "changes.load: unknown change 'worse'"),
        (lambda d: d.update(stopped_by="coffee"), "stopped_by: unknown reason 'coffee'"),
        # missing fields
        (lambda d: fetch(d).pop("status"), "entries.fetch: missing field 'status'"),
        (lambda d: fetch(d).pop("name"), "entries.fetch: missing field 'name'"),
        (lambda d: fetch(d).pop("attempts"), "entries.fetch: missing field 'attempts'"),
        (lambda d: load(d)["error"].pop("exception"), "entries.load.error: missing field"),
        (lambda d: d.pop("entries"), "not a processes report: missing field 'entries'"),
        (lambda d: d.update(streaks={"load": {"runs": 2}}), "streaks.load.since: expected a time"),
        # wrong types
        (
            lambda d: fetch(d).update(attempts="1"),
            "entries.fetch.attempts: expected a whole number of 0 or more, got a string ('1')",
        ),
        (lambda d: fetch(d).update(attempts=True), "entries.fetch.attempts: expected a whole"),
        (lambda d: fetch(d).update(attempts=-1), "entries.fetch.attempts: expected a whole"),
        (
            lambda d: fetch(d).update(elapsed_seconds="fast"),
            "entries.fetch.elapsed_seconds: expected a number of seconds, got a string",
        ),
        (lambda d: fetch(d).update(name=7), "entries.fetch.name: expected a string, got a number"),
        (lambda d: fetch(d).update(args={"a": 1}), "entries.fetch.args: expected an array"),
        (lambda d: fetch(d).update(kwargs=[1]), "entries.fetch.kwargs: expected an object"),
        (lambda d: fetch(d).update(dependencies="fetch"), "entries.fetch.dependencies: expected"),
        (
            lambda d: fetch(d).update(attempt_errors=["ok", 3]),
            "entries.fetch.attempt_errors[1]: expected a string, got a number (3)",
        ),
        (lambda d: fetch(d).update(reused="yes"), "entries.fetch.reused: expected true or false"),
        (lambda d: fetch(d).update(rerun_reason=0), "entries.fetch.rerun_reason: expected a str"),
        (lambda d: fetch(d).update(skip_cause=None), "entries.fetch.skip_cause: expected a string"),
        (
            lambda d: fetch(d).update(started_at="yesterday"),
            "entries.fetch.started_at: not an ISO 8601 time: a string ('yesterday')",
        ),
        (lambda d: fetch(d).update(finished_at=5), "entries.fetch.finished_at: expected a time"),
        (lambda d: load(d).update(error="boom"), "entries.load.error: expected an object"),
        (
            lambda d: load(d)["error"].update(traced_vars={"x": 1}),
            "entries.load.error.traced_vars.x: expected a string, got a number (1)",
        ),
        (
            lambda d: load(d)["error"].update(downstream_impact=[None]),
            "entries.load.error.downstream_impact[0]: expected a string, got null",
        ),
        (
            lambda d: d["entries"].update(fetch=[]),
            "entries.fetch: expected an object, got an array",
        ),
        (lambda d: d.update(entries=[]), "entries: expected an object, got an array"),
        (lambda d: d.update(process_name=None), "process_name: expected a string, got null"),
        (lambda d: d.update(host=1), "host: expected a string"),
        (lambda d: d.update(run_id=12), "run_id: expected a string"),
        (lambda d: d.update(changes=[]), "changes: expected an object"),
        (
            lambda d: d.update(streaks={"a": {"runs": "2", "since": T0.isoformat()}}),
            "streaks.a.runs",
        ),
        # a name that is no plain word is quoted in the path
        (
            lambda d: d["entries"].update({"odd name.x": {"status": "weird"}}),
            "entries['odd name.x']: unknown status 'weird'",
        ),
    ],
)
def test_bad_reports_raise_value_error_saying_what_and_where(patch: Patch, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        load_patched(patch)
    assert type(raised.value) is ValueError


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "not a processes report: expected an object with an 'entries' object, got an array"),
        ("3", "got a number (3)"),
        ('"report"', "got a string ('report')"),
        ("null", "got null"),
        ('{"entries": null}', "entries: expected an object, got null"),
        ("1" * 5000, "not a processes report"),  # more digits than int() reads
        (b"\xff\xfe\x00", "not UTF-8 text"),
    ],
)
def test_text_that_is_no_report_at_all(text: str | bytes, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ProcessExecutionReport.from_json(text)


def test_text_that_is_not_json_keeps_the_position_of_the_error() -> None:
    with pytest.raises(json.JSONDecodeError) as raised:  # a ValueError, with line and column
        ProcessExecutionReport.from_json('{"entries": ')
    assert (raised.value.lineno, raised.value.colno) == (1, 13)


def test_a_value_that_is_not_text_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="from_json\\(\\) takes the text of to_json"):
        ProcessExecutionReport.from_json(123)  # type: ignore[arg-type]


# -- nesting too deep: fast, bounded, a ValueError ---------------------------------------------


@pytest.mark.parametrize("depth", [10_000, 1_000_000])
def test_nesting_deeper_than_the_decoder_goes_is_a_value_error(depth: int) -> None:
    text = '{"entries": {"a": {"result": ' + "[" * depth + "]" * depth + "}}}"
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="nesting too deep") as raised:
            ProcessExecutionReport.from_json(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "line 1, column" in str(raised.value)
    assert not isinstance(raised.value, RecursionError)
    # Bounded: the decoder stops at its limit; nothing proportional to the depth is built
    # (the text itself is allocated before tracing starts).
    assert peak < 2_000_000


def test_nesting_too_deep_inside_a_value_names_the_field() -> None:
    deep: Any = []
    for _ in range(MAX_JSON_DEPTH_READ + 1):
        deep = [deep]
    with pytest.raises(ValueError, match=r"^entries\.fetch\.result: nesting too deep"):
        load_patched(lambda d: fetch(d).update(result=deep))
    with pytest.raises(ValueError, match=r"^entries\.load\.error\.kwargs: nesting too deep"):
        load_patched(lambda d: load(d)["error"].update(kwargs={"k": deep}))


def test_the_deepest_value_to_json_writes_loads_back() -> None:
    deep: Any = "bottom"
    for _ in range(200):  # to_json() writes the levels past its limit as a repr
        deep = [deep]
    report = make_report(make_entry("fetch", result=deep))
    restored = ProcessExecutionReport.from_json(report.to_json())
    level, depth = restored.entries["fetch"].result, 0
    while isinstance(level, list):
        level, depth = level[0], depth + 1
    assert depth == MAX_JSON_DEPTH_READ
    assert isinstance(level, str)  # the rest, as its repr


# -- reports written by earlier versions ---------------------------------------------------------


def test_a_report_of_the_first_version_loads() -> None:
    """The fields written before runs had ids, hosts, changes, streaks and skip reasons."""
    text = json.dumps(
        {
            "process_name": "nightly",
            "started_at": "2024-03-15T10:00:00+00:00",
            "finished_at": "2024-03-15T10:00:02+00:00",
            "elapsed_seconds": 2.0,
            "summary": {"success": 1, "errored": 1, "skipped": 0},
            "entries": {
                "fetch": {
                    "name": "fetch",
                    "function": "fetch",
                    "args": [],
                    "kwargs": {},
                    "status": "success",
                    "elapsed_seconds": 0.5,
                    "attempts": 1,
                    "result": [1, 2],
                },
                "load": {
                    "name": "load",
                    "function": "load",
                    "args": [[1, 2]],
                    "kwargs": {"table": "t"},
                    "status": "errored",
                    "elapsed_seconds": 1,
                    "attempts": 2,
                    "error": {
                        "task_name": "load",
                        "function": "load",
                        "args": [[1, 2]],
                        "kwargs": {"table": "t"},
                        "downstream_impact": [],
                        "exception": "ValueError: bad row",
                        "traceback_str": "Traceback ...\nValueError: bad row\n",
                        "traced_vars": {"row": "3"},
                        "traced_vars_location": "jobs.py:3",
                    },
                },
            },
        }
    )
    report = ProcessExecutionReport.from_json(text)
    assert report.process_name == "nightly"
    assert report.started_at == datetime(2024, 3, 15, 10, 0, tzinfo=UTC)
    assert report.run_id  # a new one
    assert (report.host, report.changes, report.streaks, report.stopped_by) == ("", {}, {}, None)
    load_entry = report.entries["load"]
    assert load_entry.error is not None
    assert load_entry.error.exception_type == ""
    assert (load_entry.reused, load_entry.rerun_reason, load_entry.skip_reason) == (False, "", None)
    assert load_entry.elapsed_seconds == 1.0
    assert report.entries["fetch"].result == [1, 2]


def test_fields_this_version_does_not_know_are_ignored() -> None:
    data = saved()
    data["from_the_future"] = {"anything": [1, 2]}
    data["entries"]["fetch"]["colour"] = "blue"
    report = ProcessExecutionReport.from_json(json.dumps(data))
    assert list(report.entries) == ["fetch", "load", "publish"]


def test_a_time_without_an_offset_is_read_as_utc() -> None:
    report = load_patched(lambda d: fetch(d).update(started_at="2024-03-15T10:00:00"))
    assert report.entries["fetch"].started_at == datetime(2024, 3, 15, 10, 0, tzinfo=UTC)


def test_a_good_report_round_trips() -> None:
    data = saved()
    report = ProcessExecutionReport.from_json(json.dumps(data))
    assert json.loads(report.to_json())["entries"] == data["entries"]


# -- any damage at all: ValueError or a report, nothing else -------------------------------------

_DELETE = object()
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_field_replaced_by_any_json_value_loads_or_raises_value_error(data: Any) -> None:
    report = saved()
    paths = [path for path in _paths(report) if path]
    path = data.draw(st.sampled_from(paths))
    replacement = data.draw(_JSON_VALUES | st.just(_DELETE))
    parent: Any = report
    for step in path[:-1]:
        parent = parent[step]
    if replacement is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    outcome = _loaded_or_refused(json.dumps(report))
    assert isinstance(outcome, ProcessExecutionReport) or (
        type(outcome) is ValueError and str(outcome)
    )


def _loaded_or_refused(text: str) -> ProcessExecutionReport | ValueError:
    try:
        return ProcessExecutionReport.from_json(text)
    except ValueError as exc:  # anything else fails the test
        return exc
