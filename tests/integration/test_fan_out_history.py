"""Items in the history (SPEC §15 with §12 and §13): changes and streaks by item key,
``task_stats`` of a mapped task, items written as they end, and ``resume`` rerunning only
the items that did not succeed and the new keys. Real SQLite files, real subprocesses
and signals."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processes import Process, RunHistory, Task, TaskChange, TaskDependency, TaskStatus
from processes.outcome import StopReason

pytestmark = pytest.mark.integration

GENEROUS_SECONDS = 60.0


def _each(name: str) -> TaskDependency:
    return TaskDependency(name, use_result_as_additional_args=True, for_each=True)


def _whole(name: str) -> TaskDependency:
    return TaskDependency(name, use_result_as_additional_args=True)


class Night:
    """Tonight's files, those that are malformed, and every call of ``load``."""

    def __init__(self, files: list[str], bad: set[str] | None = None) -> None:
        self.files = files
        self.bad = bad or set()
        self.calls: list[str] = []
        self.transformed: list[str] = []
        self.lock = threading.Lock()

    def listing(self) -> list[str]:
        if self.files is None:
            raise OSError("the bucket cannot be listed")
        return list(self.files)

    def load(self, name: str) -> tuple[str, int]:
        with self.lock:
            self.calls.append(name)
        if name in self.bad:
            raise ValueError(f"{name}: malformed line 3")
        return (name, len(name))  # a tuple: kept pickled (store_results=True)

    def transform(self, loaded: tuple[str, int]) -> str:
        with self.lock:
            self.transformed.append(loaded[0])
        return loaded[0].upper()

    def process(
        self, *, chained: bool = False, relist: bool = False, max_failed: float = 1.0
    ) -> Process:
        """files -> load (for each) -> total; transform for each loaded. ``relist``: the
        listing runs on a resumed run too (``reuse=False``)."""
        tasks = [
            Task("files", self.listing, reuse=not relist),
            Task("load", self.load, dependencies=[_each("files")], max_failed=max_failed),
            Task("total", len, dependencies=[_whole("load")]),
        ]
        if chained:
            tasks.append(Task("transform", self.transform, dependencies=[_each("load")]))
        return Process(tasks, name="daily")


def _run(night: Night, history: RunHistory, **options: Any) -> Any:
    shape = {key: options.pop(key) for key in ("chained", "relist", "max_failed") if key in options}
    with night.process(**shape) as process:
        return process.run(history=history, **options)


# -- what changed, by key -------------------------------------------------------------------


def test_changes_and_streaks_follow_each_key_over_the_nights(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db") as history:
        first = _run(Night(["a", "b"], {"b"}), history, parallel=False)
        second = _run(Night(["a", "b", "c"], {"b", "c"}), history, parallel=False)
        third = _run(Night(["a", "b", "d", "e"], {"d"}), history, parallel=False)
    assert first.changes == {"load[b]": TaskChange.NEW_FAILURE}
    assert second.changes == {
        "load[b]": TaskChange.STILL_FAILING,
        "load[c]": TaskChange.NEW_FAILURE,
    }
    assert second.streaks["load[b]"].runs == 2
    # b recovered; c is gone (its file did not come again); e is new and fine: neither
    # is "recovered"; d fails for the first time.
    assert third.changes == {
        "load[b]": TaskChange.RECOVERED,
        "load[d]": TaskChange.NEW_FAILURE,
    }


def test_a_failing_key_is_still_failing_after_a_night_its_task_was_skipped(
    tmp_path: Path,
) -> None:
    unlistable = Night([])
    unlistable.files = None  # type: ignore[assignment]
    with RunHistory(tmp_path / "runs.db") as history:
        _run(Night(["a", "b"], {"b"}), history, parallel=False)
        skipped = _run(unlistable, history, parallel=False)
        again = _run(Night(["a", "b"], {"b"}), history, parallel=False)
    assert skipped.entries["load"].status is TaskStatus.SKIPPED
    assert "load[b]" not in skipped.entries
    assert again.changes == {
        "files": TaskChange.RECOVERED,
        "load[b]": TaskChange.STILL_FAILING,
    }
    assert again.streaks["load[b]"].runs == 2


def test_task_stats_of_a_mapped_task_counts_its_items_per_run(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db") as history:
        _run(Night(["a", "b"], {"b"}), history, parallel=False)
        _run(Night(["a", "b", "c"], {"b", "c"}), history, parallel=False)
        _run(Night(["a"]), history, parallel=False)
        stats = history.task_stats("daily", "load")
        plain = history.task_stats("daily", "total")
    assert stats.items_per_run == (2, 3, 1)
    assert stats.failed_items_per_run == (1, 2, 0)
    assert (stats.runs, stats.succeeded, stats.failures) == (3, 3, 0)  # max_failed=1.0
    assert plain.items_per_run is None
    assert plain.failed_items_per_run is None
    assert plain.runs == 3


def test_a_stored_report_keeps_each_item_s_task_and_key(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db") as history:
        report = _run(Night(["A.csv", "b[1].csv"], {"b[1].csv"}), history, parallel=False)
        stored = history.report(report.run_id)
    assert list(stored.entries) == list(report.entries)
    for name, entry in report.entries.items():
        assert (stored.entries[name].mapped_task, stored.entries[name].item_key) == (
            entry.mapped_task,
            entry.item_key,
        )
    assert stored.entries["load[A.csv]"].item_key == "A.csv"


# -- items recorded as they end (§13) --------------------------------------------------------


def test_items_are_checkpointed_while_the_run_runs_and_written_once(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    seen: list[int] = []

    def wait_for_items(loaded: dict[str, Any]) -> int:
        """Runs after the items: returns once a checkpoint wrote them."""
        deadline = time.monotonic() + GENEROUS_SECONDS
        while time.monotonic() < deadline:
            with closing(sqlite3.connect(path)) as db:
                (count,) = db.execute(
                    "SELECT count(*) FROM tasks WHERE name LIKE 'load[%'"
                ).fetchone()
            if count == len(loaded) + 1:
                seen.append(count)
                return count
            time.sleep(0.01)
        raise AssertionError("no checkpoint wrote the items")

    night = Night(["a", "b", "c"], {"b"})
    tasks = [
        Task("files", night.listing),
        Task("load", night.load, dependencies=[_each("files")], max_failed=1),
        Task("wait", wait_for_items, dependencies=[_whole("load")]),
        Task("after", len, args=("xy",), dependencies=[TaskDependency("wait")]),
    ]
    with RunHistory(path, checkpoint_seconds=0.01, heartbeat_seconds=0.01) as history:
        with Process(tasks, name="daily") as process:
            report = process.run(parallel=False, history=history)
        stored = history.report(report.run_id)
    assert seen == [3]
    with closing(sqlite3.connect(path)) as db:
        names = [row[0] for row in db.execute("SELECT name FROM tasks ORDER BY id")]
    assert sorted(names) == sorted(report.entries)  # each entry's row, once
    assert list(stored.entries) == list(report.entries)
    assert stored.entries["load[b]"].status is TaskStatus.ERRORED
    assert stored.entries["after"].result == 2


# -- resume ----------------------------------------------------------------------------------

PARALLEL = [pytest.param(False, id="sequential"), pytest.param(True, id="parallel")]


@pytest.mark.parametrize("parallel", PARALLEL)
def test_resume_reruns_only_the_failed_item_even_when_its_task_succeeded(
    tmp_path: Path, parallel: bool
) -> None:
    files = ["a", "b", "c", "d"]
    with RunHistory(tmp_path / "runs.db", store_results=True) as history:
        first = _run(Night(files, {"c"}), history, parallel=parallel)
        fixed = Night(files)
        resumed = _run(fixed, history, parallel=parallel, resume="last")
    assert first.entries["load"].status is TaskStatus.SUCCESS  # within max_failed
    assert not first.ok
    assert fixed.calls == ["c"]
    assert resumed.resumed_from == first.run_id
    assert [name for name, e in resumed.entries.items() if e.reused] == [
        "files",
        "load[a]",
        "load[b]",
        "load[d]",
    ]
    load = resumed.entries["load"]
    assert load.result == {f: (f, 1) for f in files}  # reused and rerun, in item order
    assert list(load.result) == files
    # its dependant received the whole dict this time, not the resumed run's
    assert resumed.entries["total"].result == 4
    assert "upstream task 'load' sums up other items" in resumed.entries["total"].rerun_reason
    assert resumed.ok


@pytest.mark.parametrize("parallel", PARALLEL)
def test_resume_runs_the_keys_that_are_new(tmp_path: Path, parallel: bool) -> None:
    with RunHistory(tmp_path / "runs.db", store_results=True) as history:
        first = _run(Night(["a", "b"]), history, parallel=parallel, relist=True)
        later = Night(["a", "b", "c"])  # a file came since
        resumed = _run(later, history, parallel=parallel, relist=True, resume=first.run_id)
    assert later.calls == ["c"]
    assert resumed.entries["load[a]"].reused
    assert not resumed.entries["load[c]"].reused
    assert list(resumed.entries["load"].result) == ["a", "b", "c"]
    assert resumed.entries["total"].result == 3


def test_resume_with_nothing_to_rerun_reuses_every_item_and_the_dependants(
    tmp_path: Path,
) -> None:
    with RunHistory(tmp_path / "runs.db", store_results=True) as history:
        first = _run(Night(["a", "b"]), history, parallel=False)
        again = Night(["a", "b"])
        resumed = _run(again, history, parallel=False, resume=first.run_id)
    assert again.calls == []
    assert resumed.entries["total"].reused
    assert resumed.entries["load"].result == {"a": ("a", 1), "b": ("b", 1)}


def test_a_changed_mapped_task_reruns_its_items(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db", store_results=True) as history:
        first = _run(Night(["a", "b"], {"b"}), history, parallel=False)
        night = Night(["a", "b"])
        tasks = [
            Task("files", night.listing),
            Task("load", lambda name: night.load(name), dependencies=[_each("files")]),
            Task("total", len, dependencies=[_whole("load")]),
        ]
        with Process(tasks, name="daily") as process:
            resumed = process.run(parallel=False, history=history, resume=first.run_id)
    assert night.calls == ["a", "b"]
    assert "changed since run" in resumed.entries["load"].rerun_reason


@pytest.mark.parametrize("parallel", PARALLEL)
def test_chained_items_are_reused_with_their_upstream_item(tmp_path: Path, parallel: bool) -> None:
    with RunHistory(tmp_path / "runs.db", store_results=True) as history:
        broken = Night(["a", "b", "c"], {"b"})
        first = _run(broken, history, parallel=parallel, chained=True)
        fixed = Night(["a", "b", "c"])
        resumed = _run(fixed, history, parallel=parallel, chained=True, resume="last")
    # transform[b] never ran (its load[b] failed): it runs now; the others are reused
    assert first.entries["transform[b]"].status is TaskStatus.SKIPPED
    assert fixed.calls == ["b"]
    assert fixed.transformed == ["b"]
    assert resumed.entries["transform[a]"].reused
    assert resumed.entries["transform[c]"].reused
    assert resumed.entries["transform"].result == {"a": "A", "b": "B", "c": "C"}


def test_reuse_false_on_a_mapped_task_reruns_every_item(tmp_path: Path) -> None:
    with RunHistory(tmp_path / "runs.db", store_results=True) as history:
        first = _run(Night(["a", "b"], {"b"}), history, parallel=False)
        night = Night(["a", "b"])
        tasks = [
            Task("files", night.listing),
            Task("load", night.load, dependencies=[_each("files")], max_failed=1.0, reuse=False),
            Task("total", len, dependencies=[_whole("load")]),
        ]
        with Process(tasks, name="daily") as process:
            resumed = process.run(parallel=False, history=history, resume=first.run_id)
    assert night.calls == ["a", "b"]
    assert "reuse=False" in resumed.entries["load"].rerun_reason


def test_resume_from_a_report_object_reruns_only_the_failed_item() -> None:
    first = Night(["a", "b", "c"], {"a"}).process().run(parallel=False)
    fixed = Night(["a", "b", "c"])
    resumed = fixed.process().run(parallel=False, resume=first)
    assert fixed.calls == ["a"]
    assert list(resumed.entries["load"].result) == ["a", "b", "c"]


# -- a run killed mid-map (§13) ---------------------------------------------------------------

_JOB = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from processes import Process, RunHistory, Task, TaskDependency

    history_path, ready, calls = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

    def files():
        return ["a", "b", "c", "d"]

    def load(name):
        with calls.open("a") as out:
            out.write(name + "\\n")
        if name == "c" and os.environ.get("BLOCK") == "1":
            ready.write_text("running")
            while True:
                time.sleep(0.05)
        return name * 2

    tasks = [
        Task("files", files),
        Task("load", load, dependencies=[
            TaskDependency("files", use_result_as_additional_args=True, for_each=True)]),
        Task("total", len, dependencies=[
            TaskDependency("load", use_result_as_additional_args=True)]),
    ]
    history = RunHistory(history_path, checkpoint_seconds=0.02, heartbeat_seconds=0.02)
    with Process(tasks, name="daily") as process:
        report = process.run(parallel=False, history=history, resume=os.environ.get("RESUME"))
    print(sorted(name for name, entry in report.entries.items() if entry.reused))
    """
)


def _job(tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    script = tmp_path / "job.py"
    script.write_text(_JOB)
    arguments = [str(tmp_path / "runs.db"), str(tmp_path / "ready"), str(tmp_path / "calls")]
    return subprocess.Popen(
        [sys.executable, str(script), *arguments],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_run_killed_mid_map_is_resumed_reusing_its_finished_items(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    child = _job(tmp_path, BLOCK="1")
    try:
        deadline = time.monotonic() + GENEROUS_SECONDS
        while True:
            assert time.monotonic() < deadline, "the job never reached load[c]"
            assert child.poll() is None, "the job ended before it was killed"
            if (tmp_path / "ready").exists():
                with closing(sqlite3.connect(path)) as db:
                    done = {row[0] for row in db.execute("SELECT name FROM tasks")}
                if {"load[a]", "load[b]"} <= done:
                    break
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=GENEROUS_SECONDS)
    assert child.returncode == -signal.SIGKILL
    (tmp_path / "calls").write_text("")
    with RunHistory(path) as history:
        (crashed,) = history.runs("daily")
        killed = history.report(crashed.run_id)
    assert killed.stopped_by is StopReason.CRASHED
    assert killed.entries["load[a]"].item_key == "a"

    resumed = _job(tmp_path, BLOCK="0", RESUME="last")
    out, _ = resumed.communicate(timeout=GENEROUS_SECONDS)
    assert resumed.returncode == 0
    assert (tmp_path / "calls").read_text().split() == ["c", "d"]
    assert out.strip() == "['files', 'load[a]', 'load[b]']"
    with RunHistory(path) as history:
        newest = history.last("daily")
    assert newest is not None
    assert newest.ok
    assert newest.entries["load"].result == {"a": "aa", "b": "bb", "c": "cc", "d": "dd"}
    assert newest.entries["total"].result == 4


# -- the property ------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    failing=st.lists(st.booleans(), min_size=0, max_size=8),
    workers=st.integers(min_value=1, max_value=4),
    chained=st.booleans(),
    max_failed=st.sampled_from([0, 1, 1.0]),
)
def test_resume_reruns_exactly_the_items_that_did_not_succeed(
    failing: list[bool], workers: int, chained: bool, max_failed: float
) -> None:
    files = [f"f{k}" for k in range(len(failing))]
    bad = {name for name, fails in zip(files, failing, strict=True) if fails}
    with (
        tempfile.TemporaryDirectory() as folder,
        RunHistory(Path(folder) / "runs.db", store_results=True) as history,
    ):
        first = _run(
            Night(files, bad),
            history,
            chained=chained,
            max_failed=max_failed,
            parallel=workers > 1,
            max_workers=workers,
        )
        fixed = Night(files)
        resumed = _run(
            fixed,
            history,
            chained=chained,
            max_failed=max_failed,
            parallel=workers > 1,
            max_workers=workers,
            resume=first.run_id,
        )
    did_not_succeed = {
        e.item_key
        for e in first.entries.values()
        if e.mapped_task == "load" and e.status is not TaskStatus.SUCCESS
    }
    assert did_not_succeed == bad
    assert sorted(fixed.calls) == sorted(bad)  # each once
    if chained:
        assert sorted(fixed.transformed) == sorted(bad)
        assert list(resumed.entries["transform"].result) == files
    assert list(resumed.entries["load"].result) == files
    assert resumed.entries["total"].result == len(files)  # reused only if it saw them all
    assert resumed.ok
