"""The stored report's compact form (history formats 3 to 5) holds what the entry held."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factories import make_entry, make_error, make_report
from processes.history.stored import (
    ENTRY_FIELDS,
    decode_report,
    encode_report,
    fingerprints_in,
    from_moment,
    items_among,
    moment_of,
    origin_of,
    stored_rows,
    unpacked_fingerprints,
)
from processes.outcome import SkipReason, TaskStatus

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7))])
_MOMENTS = st.none() | st.datetimes(timezones=st.none() | _ZONES)


@given(run_started=_MOMENTS, started=_MOMENTS, finished=_MOMENTS)
def test_a_plain_row_writes_its_times_as_moment_does(
    run_started: datetime | None, started: datetime | None, finished: datetime | None
) -> None:
    """The recorder writes the times inline, for speed: the same values as moment_of(),
    from the run's start when it is an instant, else from 1970."""
    entry = replace(make_entry("load"), started_at=started, finished_at=finished)
    report = replace(make_report(entry), started_at=run_started)
    text, rows = encode_report(report, run=7)
    task_rows = _rows(rows)

    data = json.loads(text)
    (row,) = stored_rows(data)
    assert data["names"] == ["load"]
    shown = dict(zip(ENTRY_FIELDS, row, strict=True))
    origin = origin_of(report)
    assert origin == (run_started if run_started and run_started.tzinfo else _EPOCH)
    assert shown["started_at"] == moment_of(started, origin)
    assert shown["finished_at"] == moment_of(finished, origin)
    assert from_moment(shown["started_at"], origin) == started  # the same instant
    assert task_rows == [(7 << 32, 7, "load", "success", entry.attempts, entry.elapsed_seconds)]
    tasks = _task_rows(task_rows)
    assert decode_report(text, tasks).entries["load"] == entry


def test_one_missing_or_naive_time_leaves_the_others_of_the_run_exact() -> None:
    """A time that cannot be counted from the run's start (missing, or naive, in a report
    built by hand) sends the whole column the slow way: every time still comes back."""
    run_started = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
    times = [
        (run_started + timedelta(seconds=1), run_started + timedelta(seconds=2)),
        (None, run_started + timedelta(seconds=3)),
        (datetime(2026, 12, 3, 1, 0, 4), None),  # naive
        (run_started + timedelta(seconds=5), run_started + timedelta(seconds=6)),
    ]
    entries = [
        replace(make_entry(f"t{i}"), started_at=start, finished_at=end)
        for i, (start, end) in enumerate(times)
    ]
    report = replace(make_report(*entries), started_at=run_started)
    text, rows = encode_report(report, run=2)
    plain = json.loads(text)["plain"]
    assert plain["started_at"] == [1_000_000, None, "2026-12-03T01:00:04", 5_000_000]
    assert plain["finished_at"] == [2_000_000, 3_000_000, None, 6_000_000]
    assert decode_report(text, _task_rows(_rows(rows))) == report


def _in_rows(text: str) -> dict[str, Any]:
    """A format 5 report as format 4 stored it: a list per plain entry, in order."""
    data = json.loads(text)
    data["entries"] = list(stored_rows(data))
    for field in ("names", "details", "plain"):
        del data[field]
    data["format"] = 4
    return data


def _rows(values: list[Any]) -> list[tuple[Any, ...]]:
    """The ``tasks`` rows in a flat list of their values, a tuple each."""
    return list(zip(*[iter(values)] * 6, strict=True))


def _task_rows(rows: Iterable[tuple[Any, ...]]) -> dict[str, tuple[str, int, float]]:
    return {name: (status, attempts, elapsed) for _, _, name, status, attempts, elapsed in rows}


def test_plain_and_detailed_entries_come_back_in_their_order() -> None:
    """Format 5 keeps the plain entries as columns and the others whole: reading merges
    them back in the report's order."""
    failed = make_entry("transform", TaskStatus.ERRORED, error=make_error("transform"))
    skipped = replace(
        make_entry("load", TaskStatus.SKIPPED),
        skip_reason=SkipReason.UPSTREAM_FAILED,
        skip_cause="transform",
    )
    report = make_report(make_entry("extract"), failed, make_entry("count"), skipped)
    text, rows = encode_report(report, run=3)
    data = json.loads(text)
    assert data["names"] == ["extract", "transform", "count", "load"]
    assert [row["name"] for row in data["details"]] == ["transform", "load"]
    assert data["plain"]["function"] == [report.entries[n].function for n in ("extract", "count")]
    decoded = decode_report(text, _task_rows(_rows(rows)))
    assert list(decoded.entries) == list(report.entries)
    assert decoded == report


def test_a_format_4_report_is_still_read() -> None:
    """Format 4 (a list per plain entry) is still read."""
    report = make_report(make_entry("extract"), make_entry("load", start=1.5))
    text, rows = encode_report(report, run=1)
    tasks = _task_rows(_rows(rows))
    assert decode_report(json.dumps(_in_rows(text)), tasks) == decode_report(text, tasks) == report


def test_a_format_3_report_counts_its_times_from_1970() -> None:
    """Format 3 (before the times counted from the run's start) is still read."""
    report = make_report(make_entry("extract"), make_entry("load", start=1.5))
    text, rows = encode_report(report, run=1)
    data = _in_rows(text)
    origin = data.pop("times_from_us")
    data["format"] = 3
    for row in data["entries"]:
        row[5], row[6] = row[5] + origin, row[6] + origin
    tasks = _task_rows(_rows(rows))
    assert decode_report(json.dumps(data), tasks) == decode_report(text, tasks) == report


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=2))),  # before year 1 in UTC
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))),  # after 9999
    ],
)
def test_a_time_at_the_ends_of_the_calendar_comes_back(moment: datetime) -> None:
    """An aware time whose instant UTC cannot show is read back as the same instant."""
    for origin in (_EPOCH, datetime(2026, 12, 3, tzinfo=UTC)):
        assert from_moment(moment_of(moment, origin), origin) == moment


def test_fingerprints_are_kept_once_each_and_read_back_by_name() -> None:
    """Tasks sharing a fingerprint (one function, no arguments of their own) keep it once;
    each name reads its own back, and an item takes its mapped task's."""
    names = ["a", "b", "c"]
    prints = ["f1:x", "f1:x", "f2:y"]
    report = make_report(*(make_entry(name) for name in names))
    text, _ = encode_report(report, run=1, fingerprints=prints)
    data = json.loads(text)
    assert data["fingerprint_table"] == ["f1:x", "f2:y"]
    assert data["fingerprint_of"] == [0, 0, 1]
    assert fingerprints_in(text) == dict(zip(names, prints, strict=True))

    item = replace(make_entry("b[k]"), mapped_task="b", item_key="k")
    with_item = make_report(make_entry("a"), make_entry("b"), item, make_entry("c"))
    text, _ = encode_report(with_item, run=1, fingerprints=prints)
    assert fingerprints_in(text) == {"a": "f1:x", "b": "f1:x", "b[k]": "f1:x", "c": "f2:y"}


def test_fingerprints_kept_whole_by_an_earlier_version_are_still_read() -> None:
    text = json.dumps({"format": 5, "names": ["a", "b"], "fingerprints": ["f:1", "f:2"]})
    assert fingerprints_in(text) == {"a": "f:1", "b": "f:2"}
    assert unpacked_fingerprints({"names": []}) == []


def test_rows_a_checkpoint_wrote_are_left_out_and_their_ids_left_free() -> None:
    """The run's end writes the rows its checkpoints did not, on ids they did not take."""
    report = make_report(*(make_entry(name) for name in ["a", "b", "c", "d"]))
    first = 3 << 32
    _, rows = encode_report(report, run=3, written={"c": first + 1})
    assert [(row[0] - first, row[2]) for row in _rows(rows)] == [(0, "a"), (2, "b"), (3, "d")]


def test_a_declared_task_named_like_an_item_is_read_back_as_itself() -> None:
    """``fetch[eu]`` declared beside ``fetch`` is no item of it: the stored report says
    where its items are; only a report stored before that reads them from their names."""
    report = make_report(make_entry("fetch"), make_entry("fetch[eu]"), make_entry("other"))
    text, rows = encode_report(report, run=1)
    tasks = _task_rows(_rows(rows))
    decoded = decode_report(text, tasks)
    assert [(e.name, e.mapped_task) for e in decoded.entries.values()] == [
        ("fetch", ""),
        ("fetch[eu]", ""),
        ("other", ""),
    ]

    item = replace(make_entry("load[a.csv]"), mapped_task="load", item_key="a.csv")
    mapped = make_report(make_entry("load"), item, make_entry("fetch"), make_entry("fetch[eu]"))
    text, rows = encode_report(mapped, run=1)
    assert json.loads(text)["items"] == [[0, 1]]
    decoded = decode_report(text, _task_rows(_rows(rows)))
    assert decoded.entries["load[a.csv]"].item_key == "a.csv"
    assert decoded.entries["fetch[eu]"].mapped_task == ""

    older = json.loads(text)
    del older["items"]  # as stored before: read by the names
    assert items_among(older["names"], None) == {1: ("load", "a.csv"), 3: ("fetch", "eu")}
