"""The stored report's compact rows (history format 3) hold what the entry held."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from factories import make_entry, make_report
from processes.history import (
    _ENTRY_FIELDS,
    _encoded,
    _from_moment,
    _moment,
    _origin,
    decode_report,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7))])
_MOMENTS = st.none() | st.datetimes(timezones=st.none() | _ZONES)


@given(run_started=_MOMENTS, started=_MOMENTS, finished=_MOMENTS)
def test_a_plain_row_writes_its_times_as_moment_does(
    run_started: datetime | None, started: datetime | None, finished: datetime | None
) -> None:
    """The recorder writes the times inline, for speed: the same values as _moment(),
    from the run's start when it is an instant, else from 1970."""
    entry = replace(make_entry("load"), started_at=started, finished_at=finished)
    report = replace(make_report(entry), started_at=run_started)
    text, task_rows = _encoded(report, run=7)

    (row,) = json.loads(text)["entries"]
    shown = dict(zip(_ENTRY_FIELDS, row, strict=True))
    origin = _origin(report)
    assert origin == (run_started if run_started and run_started.tzinfo else _EPOCH)
    assert shown["started_at"] == _moment(started, origin)
    assert shown["finished_at"] == _moment(finished, origin)
    assert _from_moment(shown["started_at"], origin) == started  # the same instant
    assert task_rows == [(7, "load", "success", entry.attempts, entry.elapsed_seconds)]
    tasks = {name: (status, attempts, elapsed) for _, name, status, attempts, elapsed in task_rows}
    assert decode_report(text, tasks).entries["load"] == entry


def test_a_format_3_report_counts_its_times_from_1970() -> None:
    """Format 3 (before the times counted from the run's start) is still read."""
    report = make_report(make_entry("extract"), make_entry("load", start=1.5))
    text, task_rows = _encoded(report, run=1)
    data = json.loads(text)
    origin = data.pop("times_from_us")
    data["format"] = 3
    for row in data["entries"]:
        row[5], row[6] = row[5] + origin, row[6] + origin
    tasks = {name: (status, attempts, elapsed) for _, name, status, attempts, elapsed in task_rows}
    assert decode_report(json.dumps(data), tasks) == decode_report(text, tasks) == report
