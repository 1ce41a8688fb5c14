"""What recording a run as it goes costs (issue 22): a run with ``history=`` against the
same run without it, and against the floor, each in fresh interpreters, alternating.

    python bench/live_history.py                       # 10,000 and 100,000 tasks, 5 rounds
    python bench/live_history.py --sizes 10000 --rounds 3
    python bench/live_history.py --quick               # smoke run: 200 tasks, 1 round

- ``plain``: ``process.run(parallel=False)`` of a chain of no-op tasks, per task;
- ``history``: the same run with ``history=RunHistory(file)`` (the previous run of the
  process in the file, checkpoints at the default second, the heartbeat, and the
  record at the end, the file's close included; the file opened before the clock
  starts, as the floor's is);
- ``floor``: the rows the run leaves, written by plain ``sqlite3`` code: its ``runs`` row
  (in the file from the start, its report written at the end: the same text, made
  before the clock starts) and its ``tasks`` rows (id, run, name, status, attempts,
  elapsed), 100 per statement, in a transaction per second of the plain run's pace (what a
  checkpoint writes), then the close;
- ``tasks floor``: the same without the ``runs`` row (the floor of the first tables
  below, shown for comparison; no verdict).

The verdicts of issue 22: history - plain <= 8 us per task, and <= 4x the floor.
Never a test: tests/test_bench_smoke.py-style smoke only (``--quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def chain(size: int) -> Any:
    from processes import Process, Task, TaskDependency

    def noop(*upstream: int) -> int:
        return 1 + max(upstream, default=0)

    tasks = [Task("t0", noop)]
    tasks += [
        Task(
            f"t{i}",
            noop,
            dependencies=[TaskDependency(f"t{i - 1}", use_result_as_additional_args=True)],
        )
        for i in range(1, size)
    ]
    return Process(tasks, name="bench")


def work(kind: str, size: int, folder: str) -> float:
    """Seconds per task of one measured run, in this fresh interpreter."""
    if kind in ("floor", "tasks floor"):
        return floor(size, folder, with_run_row=kind == "floor")
    from processes import RunHistory

    process = chain(size)
    history = RunHistory(Path(folder, f"{kind}.db")) if kind == "history" else None
    process.run(parallel=False, history=history)  # warm; and the previous run of the process
    if history is not None:
        # The previous run's pages go into the file now, not at the measured run's close;
        # and the file is open before the clock starts, as the floor's connection is.
        history.close()
        history = RunHistory(Path(folder, f"{kind}.db"))
        history.runs(limit=1)
    began = time.perf_counter()
    process.run(parallel=False, history=history)
    if history is not None:
        history.close()  # the last connection's close checkpoints the WAL: paid by the run
    return (time.perf_counter() - began) / size


def floor(size: int, folder: str, *, with_run_row: bool) -> float:
    import sqlite3

    from processes.fingerprint import fingerprints
    from processes.history.stored import encode_report
    from processes.task import fingerprinted_parts

    process = chain(size)
    began = time.perf_counter()
    report = process.run(parallel=False)
    pace = (time.perf_counter() - began) / size  # seconds per task of the run itself
    per_batch = max(int(1.0 / pace), 1)  # the tasks a checkpoint writes, one a second
    rows = [
        (i, 1, e.name, e.status.value, e.attempts, e.elapsed_seconds)
        for i, e in enumerate(report.entries.values())
    ]
    prints = fingerprints(map(fingerprinted_parts, process.tasks))
    text, _ = encode_report(report, 1, prints)  # the report in the run's row
    connection = sqlite3.connect(Path(folder, "floor.db"), isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT, started_at TEXT,"
        " finished_at TEXT, report TEXT)"
    )
    connection.execute(
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, run INTEGER, name TEXT, status TEXT,"
        " attempts INTEGER, elapsed_seconds REAL)"
    )
    statement = "INSERT INTO tasks VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?)"] * 100)
    began = time.perf_counter()
    if with_run_row:  # the run is in the file before its first task starts
        connection.execute(
            "INSERT INTO runs VALUES (1, 'bench', ?, NULL, '')", (str(report.started_at),)
        )
    for start in range(0, size, per_batch):
        batch = rows[start : start + per_batch]
        connection.execute("BEGIN")
        whole = len(batch) - len(batch) % 100
        connection.executemany(
            statement,
            ([v for row in batch[i : i + 100] for v in row] for i in range(0, whole, 100)),
        )
        for row in batch[whole:]:
            connection.execute("INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?)", row)
        if with_run_row and start + per_batch >= size:  # the last batch ends the run
            connection.execute(
                "UPDATE runs SET finished_at = ?, report = ? WHERE id = 1",
                (str(report.finished_at), text),
            )
        connection.execute("COMMIT")
    connection.close()
    return (time.perf_counter() - began) / size


def spawn(kind: str, size: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", kind, str(size), folder],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        )
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, size, folder = args.worker
        print(json.dumps(work(kind, int(size), folder)))
        return 0
    sizes = [200] if args.quick else [int(size) for size in args.sizes.split(",")]
    rounds = 1 if args.quick else args.rounds
    print(
        "size      plain us/task  history us/task  extra us/task  floor us/task  extra/floor"
        "  tasks floor  extra/tasks floor"
    )
    for size in sizes:
        seen: dict[str, list[float]] = {"plain": [], "history": [], "floor": [], "tasks floor": []}
        for _ in range(rounds):
            for kind in seen:  # alternating: all four see the same load
                seen[kind].append(spawn(kind, size) * 1e6)
        plain, history, bottom, tasks_only = (statistics.median(seen[kind]) for kind in seen)
        extra = history - plain
        print(
            f"{size:<9,} {plain:>13.2f} {history:>16.2f} {extra:>14.2f} {bottom:>14.2f}"
            f" {extra / bottom:>12.2f}x {tasks_only:>12.2f} {extra / tasks_only:>17.2f}x"
        )
        verdict = "PASS" if extra <= 8 and extra <= 4 * bottom else "FAIL"
        print(f"{verdict}  extra <= 8 us/task and <= 4x the floor at {size:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
