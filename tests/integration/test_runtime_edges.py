"""What a task's code may do to the run it is part of (issue 26): edit ``process.tasks``
while it runs, fork a child that returns from the task's function, return a result whose
``repr`` blocks or is huge. The run ends with a complete report each time.

Threads are ordered with Events; real forks run in a subprocess of their own.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import threading
import tracemalloc
from typing import TYPE_CHECKING

import pytest

from processes import Process, Task, TaskDependency, TaskStatus, progress
from processes.rendering.webhook import render_webhook_payload
from processes.resume import SHOWN_CUT, why_not_restorable
from processes.saferepr import MAX_REPR_CHARS, safe_repr

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

#: A bound for things that take milliseconds, on a loaded CI machine.
GENEROUS_SECONDS = 20.0


def _run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=GENEROUS_SECONDS * 3,
        check=False,
    )


def _log_lines(path: Path) -> list[str]:
    return [line.split(" - ", 3)[3] for line in path.read_text().splitlines()]


# -- editing process.tasks during a run ------------------------------------------------------


@pytest.mark.parametrize("parallel", [False, True])
def test_tasks_appended_and_removed_during_a_run_count_from_the_next_run(
    tmp_path: Path, parallel: bool
) -> None:
    holder: list[Process] = []
    c_runs = threading.Event()
    edited = threading.Event()

    def edit() -> str:
        process = holder[0]
        # In parallel, "c" is running meanwhile, its file handler on its logger.
        if parallel:
            assert c_runs.wait(GENEROUS_SECONDS)
        process.tasks.append(Task("late", lambda: "late"))
        process.remove_task("c")  # the edit through the API, of a running task
        process.add_task(Task("later", lambda: "later"))
        process.tasks.remove(process.get_task("later"))
        edited.set()
        return "edited"

    def c() -> str:
        c_runs.set()
        if parallel:
            assert edited.wait(GENEROUS_SECONDS)
        return "c"

    tasks = [
        Task("a", edit, log_path=tmp_path / "a.log"),
        Task(
            "b", lambda x: x, dependencies=[TaskDependency("a", use_result_as_additional_args=True)]
        ),
        Task("c", c, log_path=tmp_path / "c.log"),
    ]
    with Process(tasks) as process:
        holder.append(process)
        report = process.run(parallel=parallel, max_workers=2)

        assert list(report.entries) == ["a", "b", "c"]
        assert all(e.status is TaskStatus.SUCCESS for e in report.entries.values())
        assert report.entries["b"].result == "edited"
        # The tasks' files were left on their loggers until the run ended.
        assert _log_lines(tmp_path / "c.log") == ["Starting c.", "Finished c."]
        assert _log_lines(tmp_path / "a.log") == ["Starting a.", "Finished a."]
        # The edits count from the next run.
        assert [t.name for t in process.tasks] == ["a", "b", "late"]
        again = process.run(parallel=parallel)
    assert list(again.entries) == ["a", "b", "late"]


def test_a_task_that_removes_itself_still_writes_its_last_line(tmp_path: Path) -> None:
    holder: list[Process] = []
    tasks = [
        Task("a", lambda: holder[0].remove_task("a"), log_path=tmp_path / "a.log"),
        Task("b", lambda: "b"),
    ]
    with Process(tasks) as process:
        holder.append(process)
        report = process.run(parallel=False)
        assert [e.status for e in report.entries.values()] == [TaskStatus.SUCCESS] * 2
        assert _log_lines(tmp_path / "a.log") == ["Starting a.", "Finished a."]
        # Once the run ended the process let go of the task it no longer holds.
        assert [t.name for t in process.tasks] == ["b"]
        assert not holder[0].tasks[0].logger.handlers


# -- a forked child returning from the task's function --------------------------------------

FORK_SCRIPT = """
    import json, os, sys
    from processes import Process, Task, TaskDependency
    from processes.history import RunHistory

    parallel = sys.argv[1] == "parallel"
    way = sys.argv[2]
    side_effects = sys.argv[3]

    def did(what):
        with open(side_effects, "a") as file:
            file.write(what + "\\n")

    def forks():
        did("forks")
        if way == "multiprocessing":
            import multiprocessing
            context = multiprocessing.get_context("fork")
            child = context.Process(target=did, args=("child",))
            child.start()
            child.join()
            return child.exitcode
        pid = os.fork()
        if pid == 0:  # the child returns, or raises, instead of os._exit
            did("child")
            if way.endswith("raise"):
                raise ValueError("from the child")
            return "child's result"
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)

    async def forks_async():  # its code runs where the run awaits it
        return forks()

    tasks = [
        Task("first", lambda: did("first")),
        Task(
            "forks",
            forks_async if way.startswith("async") else forks,
            dependencies=[TaskDependency("first")],
        ),
        Task("after", lambda: did("after"), dependencies=[TaskDependency("forks")]),
        Task("beside", lambda: did("beside")),
    ]
    with Process(tasks, name="forking") as process:
        history = RunHistory(side_effects + ".db")
        report = process.run(parallel=parallel, max_workers=2, history=history)
    did("report " + json.dumps(
        [report.entries["forks"].result, len(history.runs("forking"))]
    ))
    print(json.dumps({name: e.status.name for name, e in report.entries.items()}))
"""


@pytest.mark.parametrize(
    "way", ["return", "raise", "multiprocessing", "async return", "async raise"]
)
@pytest.mark.parametrize("parallel", ["sequential", "parallel"])
def test_a_forked_child_returning_from_a_task_never_runs_the_rest_of_the_run(
    tmp_path: Path, parallel: str, way: str
) -> None:
    script = tmp_path / "forks.py"
    script.write_text(textwrap.dedent(FORK_SCRIPT))
    side_effects = tmp_path / "side_effects.txt"

    result = _run(script, parallel, way, str(side_effects))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    # One report, the parent's, complete.
    assert json.loads(result.stdout) == dict.fromkeys(
        ["first", "forks", "after", "beside"], "SUCCESS"
    )
    # Each task's side effect once, the child's once, and what the parent did after the
    # run (one record in the history) once: the child ran nothing of the run after its
    # task. It left with status 0, or 1 when it raised.
    exit_status = 1 if way.endswith("raise") else 0
    lines = side_effects.read_text().splitlines()
    assert sorted(lines) == sorted(
        ["first", "forks", "child", "after", "beside", f"report [{exit_status}, 1]"]
    )


# -- the progress line ----------------------------------------------------------------------


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, and tells when the line was drawn again
    while the task named ``waiting`` ran."""

    def __init__(self, redraws: int) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.redraws = redraws
        self.redrawn = threading.Event()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text.startswith("\r"):
            self.lines.append(text[1:].rstrip())
            during = [line for line in self.lines if "| waiting " in line]
            if len(during) >= self.redraws:
                self.redrawn.set()
        return super().write(text)


@pytest.mark.parametrize("parallel", [False, True])
def test_the_progress_line_ticks_while_a_long_task_runs(
    monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    terminal = _Terminal(redraws=3)
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress, "TICK_SECONDS", 0.01)
    # The task waits until the line was drawn three times while it ran: its STARTED
    # event draws it once; only a timer draws it again before it ends.
    tasks = [Task("quick", lambda: 1), Task("waiting", lambda: terminal.redrawn.wait(60))]

    report = Process(tasks).run(parallel=parallel, max_workers=2, progress=True)

    assert report.entries["waiting"].result is True
    during = [line for line in terminal.lines if "| waiting " in line]
    assert during[0].startswith(("1/2 done | 1 running", "0/2 done | 1 running"))
    assert terminal.getvalue().endswith("\n")
    final = terminal.lines[-1]
    assert final.startswith("2/2 done | 0 running | 0 failed | 0 skipped |"), final
    assert "waiting" not in final


def test_no_timer_thread_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    seen: list[list[str]] = []

    def threads() -> None:
        seen.append([t.name for t in threading.enumerate()])

    Process([Task("look", threads)]).run(parallel=False, progress=True)

    assert "processes-progress" not in seen[0]
    assert sys.stderr.getvalue() == ""


@pytest.mark.parametrize("parallel", [False, True])
def test_the_progress_total_grows_by_the_items_a_mapped_task_spawns(
    monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    terminal = _Terminal(redraws=1)
    monkeypatch.setattr(sys, "stderr", terminal)
    tasks = [
        Task("files", lambda: ["a.csv", "b.csv", "c.csv"]),
        Task(
            "load",
            lambda name: name.upper(),
            dependencies=[
                TaskDependency("files", use_result_as_additional_args=True, for_each=True)
            ],
        ),
    ]

    report = Process(tasks).run(parallel=parallel, max_workers=2, progress=True)

    assert len(report.entries) == 5
    totals = {line.split(" ", 1)[0] for line in terminal.lines}
    assert terminal.lines[-1].startswith("5/5 done | 0 running"), terminal.lines
    assert all(int(t.split("/")[0]) <= int(t.split("/")[1]) for t in totals), totals


def test_the_progress_timer_stops_when_the_run_is_interrupted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = _Terminal(redraws=2)
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress, "TICK_SECONDS", 0.01)

    def interrupted() -> None:
        assert terminal.redrawn.wait(60)  # the timer draws while the task runs
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as stopped:
        Process([Task("waiting", interrupted)]).run(parallel=False, progress=True)

    assert stopped.value.report.entries["waiting"].status is TaskStatus.ERRORED  # type: ignore[attr-defined]
    assert "processes-progress" not in [t.name for t in threading.enumerate()]
    assert terminal.getvalue().endswith("\n")  # the line was ended


# -- results whose repr blocks, or is huge ---------------------------------------------------


class _Stuck:
    """A result whose ``repr`` waits for an Event nobody sets while the run goes on."""

    def __init__(self, released: threading.Event) -> None:
        self.released = released

    def __repr__(self) -> str:
        self.released.wait()
        return "_Stuck()"


@pytest.fixture
def released() -> Iterator[threading.Event]:
    """Set after the test, so that the threads left in a ``repr`` end."""
    event = threading.Event()
    yield event
    event.set()


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("timeout", [0.5, None])
def test_a_result_whose_repr_blocks_ends_its_attempt_not_the_run(
    released: threading.Event, parallel: bool, timeout: float | None
) -> None:
    tasks = [
        Task("stuck", lambda: _Stuck(released), timeout=timeout),
        Task("after", lambda x: "after", dependencies=[TaskDependency("stuck", True)]),
        Task("beside", lambda: ["ok", 1]),
    ]
    # With a timeout, the timeout ends the attempt; without, the run's deadline does.
    deadline = GENEROUS_SECONDS if timeout is not None else 1.0

    report = Process(tasks).run(parallel=parallel, max_workers=2, deadline=deadline)

    stuck = report.entries["stuck"]
    assert stuck.status is TaskStatus.ERRORED
    assert stuck.error is not None
    assert stuck.error.exception_type == "TimeoutError"
    if timeout is None:
        assert "deadline" in stuck.error.exception
    assert "__repr__" in stuck.error.traceback_str  # where it hung: in the result's repr
    assert report.entries["after"].status is TaskStatus.SKIPPED
    if timeout is not None:  # the deadline may come before "beside" in a sequential run
        assert report.entries["beside"].result == ["ok", 1]
    # Every view of the report is built: nothing in it is the stuck result.
    assert "stuck" in report.to_text()
    assert json.loads(report.to_json())["entries"]["stuck"]["status"] == "errored"
    assert not released.is_set()


def test_the_locals_of_a_hung_frame_are_not_waited_for(released: threading.Event) -> None:
    def hangs_holding() -> None:
        stuck = _Stuck(released)  # a local of the frame that hangs
        released.wait()
        assert stuck.released is released

    task = Task("hangs", hangs_holding, timeout=0.5)
    report = Process([task]).run(parallel=True)

    error = report.entries["hangs"].error
    assert error is not None
    assert error.exception_type == "TimeoutError"
    assert "hangs_holding" in error.traceback_str
    assert error.traced_vars == {"<locals>": "not shown: their repr did not return within 0.5 s"}


def test_a_huge_result_is_shown_without_building_its_whole_repr() -> None:
    # 150 lists of 100,000 ints: the whole repr is about 100 MB of text.
    rows = [list(range(100_000)) for _ in range(150)]
    text = "y" * 50_000_000
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        shown = safe_repr(rows)
        shown_text = safe_repr(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < 1_000_000, peak
    assert shown.startswith("[[0, 1, 2, ")
    assert shown.endswith("... [truncated]")
    assert len(shown) == MAX_REPR_CHARS + len("... [truncated]")
    assert shown_text == "'" + "y" * (MAX_REPR_CHARS - 1) + "... [truncated]"
    # What fits is repr() itself.
    small = [{"k": (1,), "s": {2}}, frozenset({3}), "text", b"bytes", None]
    small.append(small)
    assert safe_repr(small) == repr(small)


def test_a_huge_result_of_a_run_is_previewed_bounded() -> None:
    rows = [list(range(100_000)) for _ in range(150)]
    report = Process([Task("rows", lambda: rows)]).run(parallel=False)

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        payload = render_webhook_payload(report)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert report.entries["rows"].result is rows
    assert peak < 5_000_000, peak
    assert payload["entries"]["rows"]["result"].endswith("... [truncated]")


def test_a_container_shown_without_some_of_its_items_says_so() -> None:
    """Even when what is left is short: a resumed run must not take it for the result."""
    shown = safe_repr(set(range(300)))
    assert shown.endswith("... [truncated]"), shown[-60:]
    assert why_not_restorable(shown) == SHOWN_CUT
    assert safe_repr(list(range(5))) == "[0, 1, 2, 3, 4]"


class _Stopping(BaseException):
    """What SIGTERM, Ctrl-C or the deadline raise in the run's thread: not an Exception."""


def test_a_stop_that_lands_in_a_repr_goes_on() -> None:
    class Stopped:
        def __repr__(self) -> str:
            raise _Stopping

    class Broken:
        def __repr__(self) -> str:
            raise ValueError("broken")

    with pytest.raises(_Stopping):
        safe_repr(Stopped())
    assert safe_repr(Broken()).endswith("Broken: repr raised ValueError>")


def test_no_thread_of_the_run_outlives_it_when_it_fails_to_begin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorder's thread starts before the engine is built: a failure in between (a
    bug; nothing else raises there) stops it still."""
    import processes.process as process_module
    from processes import RunHistory

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the engine could not be built")

    monkeypatch.setattr(process_module, "Ledger", broken)
    history = RunHistory(tmp_path / "runs.db", heartbeat_seconds=0.01)
    with pytest.raises(RuntimeError, match="could not be built"):
        Process([Task("a", lambda: 1)], name="p").run(history=history)
    names = [thread.name for thread in threading.enumerate()]
    assert "processes-history" not in names
    history.close()
