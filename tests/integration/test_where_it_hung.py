"""Where it hung (SPEC §13): a task abandoned at its timeout or the run's deadline, or cut
off by SIGTERM or Ctrl-C, has in its traceback the stack of its thread at that moment.

Real threads, a real process pool and real signals to a real subprocess. Each task waits
in ``wait_for_the_warehouse`` on an Event that is never set; a secret-named local of that
frame must be masked wherever the failure shows it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hung_jobs as jobs
import pytest

from processes import Process, ProcessExecutionReport, Task, TaskStatus
from processes.redaction import REDACTED

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [
    pytest.mark.integration,
    # pytest-timeout's default method owns SIGALRM, which the sequential deadline uses.
    pytest.mark.timeout(300, method="thread"),
]

GENEROUS_SECONDS = 20.0
ENVIRONMENT_SECRET = "envkey-5f1e-do-not-show"
JOBS_FILE = str(Path(jobs.__file__).resolve())
WAITING_LINENO = next(
    number
    for number, line in enumerate(Path(JOBS_FILE).read_text().splitlines(), start=1)
    if line.startswith("    waited = NEVER.wait()")
)


def assert_shows_where_it_hung(report: ProcessExecutionReport, exception_type: str) -> None:
    """The entry of ``load`` shows the stack it waited in, its secret masked everywhere."""
    entry = report.entries["load"]
    assert entry.status is TaskStatus.ERRORED
    error = entry.error
    assert error is not None
    assert error.exception_type == exception_type
    text = error.traceback_str
    assert f'File "{JOBS_FILE}", line {WAITING_LINENO}, in wait_for_the_warehouse\n' in text
    assert f"    {jobs.WAITING_LINE}\n" in text
    assert "in load_orders\n    return wait_for_the_warehouse()\n" in text
    # innermost last, and the last line says why it ended
    assert text.index("in load_orders") < text.index("in wait_for_the_warehouse")
    assert text.rstrip("\n").endswith(error.exception)
    # the library's own frames (the pool's worker, the attempt's call) are left out
    assert "processes/" not in text.replace(JOBS_FILE, "")
    assert error.traced_vars_location == f"{JOBS_FILE}:{WAITING_LINENO}"
    assert error.traced_vars == {
        "password": REDACTED,
        "url": f"'postgresql://etl:{REDACTED}@warehouse/orders'",
        "greeting": f"'hello {REDACTED}'",
    }
    shown = report.to_json()
    for secret in (jobs.SECRET, "s3cr3t-pw", ENVIRONMENT_SECRET):
        assert secret not in shown


@pytest.fixture(autouse=True)
def environment_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret-named variable of the environment (subprocesses inherit it)."""
    monkeypatch.setenv(jobs.ENVIRONMENT_KEY, ENVIRONMENT_SECRET)


def run_load(**run_options: Any) -> ProcessExecutionReport:
    with Process([Task("load", jobs.load_orders, timeout=0.3)], name="where") as process:
        return process.run(**run_options)


# -- at the task's timeout ------------------------------------------------------------------


@pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])
def test_a_task_abandoned_at_its_timeout_shows_where_it_waited(parallel: bool) -> None:
    report = run_load(parallel=parallel)
    assert_shows_where_it_hung(report, "TimeoutError")
    assert "timed out after 0.3 s and was abandoned" in report.entries["load"].error.exception  # type: ignore[union-attr]


@pytest.fixture(params=["threads", "processes"])
def executor(request: pytest.FixtureRequest) -> Iterator[Executor]:
    pool: Executor = ThreadPoolExecutor(2) if request.param == "threads" else ProcessPoolExecutor(2)
    with pool:
        yield pool


def test_a_task_abandoned_at_its_timeout_on_a_callers_executor_shows_where_it_waited(
    executor: Executor,
) -> None:
    # The timeout is kept where the attempt runs: the stack is read there, in the worker's
    # process for a process pool, and crosses back in the failure.
    report = run_load(executor=executor)
    assert_shows_where_it_hung(report, "TimeoutError")


# -- at the run's deadline -------------------------------------------------------------------


def run_until_the_deadline(**run_options: Any) -> ProcessExecutionReport:
    tasks = [Task("load", jobs.load_orders)]
    with Process(tasks, name="where") as process:
        return process.run(deadline=0.3, **run_options)


def test_a_task_abandoned_at_the_deadline_of_a_parallel_run_shows_where_it_waited() -> None:
    report = run_until_the_deadline(parallel=True)
    assert_shows_where_it_hung(report, "TimeoutError")
    assert "deadline passed" in report.entries["load"].error.exception  # type: ignore[union-attr]


def test_a_task_abandoned_at_the_deadline_of_a_sequential_run_off_the_main_thread() -> None:
    # Off the main thread there is no SIGALRM: the attempt runs in a helper thread, which
    # is abandoned at the deadline. Its stack is read in that moment.
    reports: list[ProcessExecutionReport] = []
    runner = threading.Thread(target=lambda: reports.append(run_until_the_deadline()))
    runner.start()
    runner.join(GENEROUS_SECONDS)
    (report,) = reports
    assert_shows_where_it_hung(report, "TimeoutError")
    assert "was abandoned after" in report.entries["load"].error.exception  # type: ignore[union-attr]


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="SIGALRM is POSIX")
def test_a_task_stopped_by_sigalrm_at_the_deadline_shows_where_it_waited() -> None:
    # In the main thread the deadline's SIGALRM stops the task in its own code.
    report = run_until_the_deadline()
    assert_shows_where_it_hung(report, "TimeoutError")
    assert "was stopped after" in report.entries["load"].error.exception  # type: ignore[union-attr]


# -- cut off by SIGTERM or Ctrl-C ------------------------------------------------------------

CUT_OFF_SCRIPT = """
    import sys, threading, time
    sys.path.insert(0, JOBS_DIR)
    import hung_jobs
    from processes import Process, RunTerminated, Task

    def waits(ident):
        frame = sys._current_frames()[ident]
        while frame is not None and frame.f_code.co_name != "wait_for_the_warehouse":
            frame = frame.f_back
        return frame is not None and frame.f_lineno == WAITING_LINENO

    def announce_once_waiting(ident):
        # A thread cannot say it is blocked: another one sees it on the line it waits on.
        while not waits(ident):
            time.sleep(0.01)
        print("stuck task running", flush=True)

    def load():
        me = threading.get_ident()
        threading.Thread(target=announce_once_waiting, args=(me,), daemon=True).start()
        return hung_jobs.load_orders()

    def load_orders_in_time():
        return 1

    # ``load`` calls ``load_orders`` from this file: the stack starts there.
    tasks = [Task("first", load_orders_in_time), Task("load", load, timeout=TIMEOUT)]
    with Process(tasks, name="where") as process:
        try:
            process.run(parallel=PARALLEL, max_workers=2)
        except (RunTerminated, KeyboardInterrupt) as stop:
            with open(REPORT_PATH, "w", encoding="utf-8") as out:
                out.write(stop.report.to_json())
            raise
"""


def cut_off(
    tmp_path: Path, parallel: bool, signum: signal.Signals, timeout: float | None = None
) -> ProcessExecutionReport:
    """Run the script, send ``signum`` once its task hangs; the partial report it wrote."""
    report_path = tmp_path / "report.json"
    script = tmp_path / "cut_off.py"
    source = (
        textwrap.dedent(CUT_OFF_SCRIPT)
        .replace("JOBS_DIR", repr(str(Path(JOBS_FILE).parent)))
        .replace("REPORT_PATH", repr(str(report_path)))
        .replace("PARALLEL", str(parallel))
        .replace("WAITING_LINENO", str(WAITING_LINENO))
        .replace("TIMEOUT", repr(timeout))
    )
    script.write_text(source)
    child = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "stuck task running\n"
        child.send_signal(signum)
        _, stderr = child.communicate(timeout=GENEROUS_SECONDS)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert report_path.exists(), stderr
    return ProcessExecutionReport.from_json(report_path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("parallel", "timeout"),
    [(True, None), (False, None), (False, GENEROUS_SECONDS)],
    # sequential with a timeout: the attempt runs in a helper thread, which the run's
    # thread abandons as the signal stops its wait
    ids=["parallel", "sequential", "sequential-helper-thread"],
)
def test_a_task_cut_off_by_sigterm_shows_where_it_waited(
    tmp_path: Path, parallel: bool, timeout: float | None
) -> None:
    report = cut_off(tmp_path, parallel, signal.SIGTERM, timeout)
    assert_shows_where_it_hung(report, "processes.errors.RunTerminated")
    error = report.entries["load"].error
    assert error is not None
    assert "in load\n    return hung_jobs.load_orders()\n" in error.traceback_str
    assert error.traceback_str.startswith("Where the task's code was (most recent call last):\n")


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
def test_a_task_cut_off_by_ctrl_c_shows_where_it_waited(tmp_path: Path, parallel: bool) -> None:
    report = cut_off(tmp_path, parallel, signal.SIGINT)
    assert_shows_where_it_hung(report, "KeyboardInterrupt")
