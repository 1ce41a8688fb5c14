"""What the run history costs (issue 11): recording, listing, and nothing when unused.

    python bench/history.py                  # 10,000 and 100,000 tasks, 5 processes each
    python bench/history.py --quick          # smoke run: small sizes, 1 process each
    python bench/history.py --baseline REF   # the commit a run without history= is compared to
    python bench/history.py --record-baseline REF   # the commit recording is compared to

Every measurement runs in a fresh interpreter (this script with ``--worker``, answering one
JSON line) and the parent prints the medians over those processes:

- ``record``: ``history.record(report, results)`` of a chain of no-op tasks, per task,
  alone and then with ``history.close()`` (closing the file's last connection
  checkpoints the WAL into the database, which a record may or may not have done
  already, depending on the page size: the verdicts judge record + close), into a
  fresh file (the schema already made: that is paid once per file), then again
  with that run as the previous one, then with ``keep_runs=2`` so that the same
  transaction also deletes the oldest run (what a full history pays on every run); with
  this working tree and with ``--record-baseline`` (default: the recorder before the
  ``tasks`` rows were slimmed), alternating; and the floor, in a fresh interpreter of its
  own: the ``tasks`` rows alone, ``(run, name, status, attempts, elapsed)`` appended to a
  bare rowid table in one transaction, 100 rows per statement (a third cheaper per row
  than one ``executemany`` of a row at a time), then its close, the least a row per task
  costs;
- ``runs``: on a file holding 10,000 runs of 10 process names, ``runs()`` (the newest 20),
  ``runs(name)``, ``last(name)`` and ``report(run_id)``, the first call of a fresh
  interpreter (it opens the file) and the median of 20 calls after it;
- ``plain run``: ``process.run(parallel=False)`` without ``history=``, per task, with this
  working tree and with ``--baseline`` (default: the commit before the history landed),
  alternating between the two so that both see the same machine load.

Results are written to ``bench/results/history.json`` (git-ignored). Never a test: the
suite only runs ``--quick`` to check that it works (tests/test_bench_smoke.py does the
same for bench/run.py).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from run import snapshot_library

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: main just before ``RunHistory`` landed (08246d5): the library a plain run is compared to.
DEFAULT_BASELINE = "093144c"
#: main before the recorder's rows were slimmed (schema 2: nine columns per task row, the
#: whole entry in the stored report): what recording is compared to.
DEFAULT_RECORD_BASELINE = "b1ca113"
TARGET_RECORD_US = 5.0
TARGET_RUNS_MS = 10.0


def noop(*upstream: int) -> int:
    return 1 + max(upstream, default=0)


def chain(size: int) -> Any:
    from processes import Process, Task, TaskDependency

    tasks = [
        Task(
            f"t{i}",
            noop,
            dependencies=[TaskDependency(f"t{i - 1}", use_result_as_additional_args=True)]
            if i
            else None,
        )
        for i in range(size)
    ]
    return Process(tasks, name="bench")


class Captured:
    """Takes what ``run(history=...)`` hands a history, to record it later on the clock
    (as its own recorder of the run as it goes, it keeps nothing)."""

    def begin(self, *args: Any) -> Captured:
        return self

    def follow(self, run: Any) -> None:
        pass

    def stop(self) -> None:
        pass

    def record(self, report: Any, results: Any, live: Any = None, **options: Any) -> Any:
        self.report, self.results = report, list(results)
        return report


# -- workers (fresh interpreters) -------------------------------------------------------------


def work_record(size: int, folder: Path) -> dict[str, float]:
    import dataclasses

    from processes import RunHistory
    from processes.report import new_run_id

    process = chain(size)
    captured = Captured()
    process.run(parallel=False, history=captured)
    report, results = captured.report, captured.results
    cpu = time.process_time()
    process.run(parallel=False)  # the yardstick: what the run itself costs, here and now
    answer: dict[str, float] = {"plain run cpu": (time.process_time() - cpu) / size * 1e6}
    # keep_runs=2 on the third record: one run in, the oldest out, as in a full history
    for label, keep in (("fresh", 1000), ("second", 1000), ("retention", 2)):
        history = RunHistory(folder / "record.db", keep_runs=keep)
        history.runs(limit=1)  # opens the file, makes the schema: not part of a record
        gc.collect()
        report = dataclasses.replace(report, run_id=new_run_id())
        began, cpu = time.perf_counter(), time.process_time()
        recorded = history.record(report, results)
        answer[f"{label} cpu"] = (time.process_time() - cpu) / size * 1e6
        answer[label] = (time.perf_counter() - began) / size * 1e6
        history.close()  # the last connection's close checkpoints the WAL: paid by the run
        answer[f"{label} closed"] = (time.perf_counter() - began) / size * 1e6
        assert recorded.changes == {}
    return answer


def work_record_floor(size: int, folder: Path) -> dict[str, float]:
    """The least a row per task costs: the tasks' rows alone, written the plain way."""
    import sqlite3

    process = chain(size)
    captured = Captured()
    process.run(parallel=False, history=captured)
    entries = list(captured.report.entries.values())
    connection = sqlite3.connect(folder / "floor.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(  # rows appended in order, under the rowid SQLite gives them
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, run INTEGER, name TEXT, status TEXT,"
        " attempts INTEGER, elapsed_seconds REAL)"
    )
    gc.collect()
    began, cpu = time.perf_counter(), time.process_time()
    # 100 rows per statement: a third cheaper per row than executemany's row at a time
    values = [
        v for e in entries for v in (1, e.name, e.status.value, e.attempts, e.elapsed_seconds)
    ]
    insert = "INSERT INTO tasks (run, name, status, attempts, elapsed_seconds) VALUES "
    hundred = insert + ", ".join(["(?, ?, ?, ?, ?)"] * 100)
    whole = len(values) - len(values) % 500
    connection.execute("BEGIN")
    connection.executemany(hundred, (values[i : i + 500] for i in range(0, whole, 500)))
    if whole < len(values):
        rest = ", ".join(["(?, ?, ?, ?, ?)"] * ((len(values) - whole) // 5))
        connection.execute(insert + rest, values[whole:])
    connection.execute("COMMIT")
    answer = {
        "floor cpu": (time.process_time() - cpu) / size * 1e6,
        "floor": (time.perf_counter() - began) / size * 1e6,
    }
    connection.close()
    answer["floor closed"] = (time.perf_counter() - began) / size * 1e6
    return answer


def work_build_runs(path: Path, count: int) -> dict[str, float]:
    from processes import Process, RunHistory, Task

    processes = [
        Process([Task(f"task{j}", noop) for j in range(5)], name=f"job{i}") for i in range(10)
    ]
    captured = Captured()
    reports = []
    for process in processes:
        process.run(parallel=False, history=captured)
        reports.append((captured.report, captured.results))
    import dataclasses

    from processes.report import new_run_id

    began = time.perf_counter()
    with RunHistory(path) as history:
        for i in range(count):
            report, results = reports[i % len(reports)]
            history.record(dataclasses.replace(report, run_id=new_run_id()), results)
    return {"seconds": time.perf_counter() - began}


def work_runs(path: Path) -> dict[str, float]:
    from processes import RunHistory

    history = RunHistory(path)
    answer: dict[str, float] = {}
    began = time.perf_counter()
    listed = history.runs()
    answer["runs() first call"] = (time.perf_counter() - began) * 1e3
    assert len(listed) == 20
    run_id = listed[7].run_id
    calls = {
        "runs()": lambda: history.runs(),
        "runs(name)": lambda: history.runs("job3"),
        "last(name)": lambda: history.last("job3"),
        "report(run_id)": lambda: history.report(run_id),
    }
    for label, call in calls.items():
        times = []
        for _ in range(20):
            began = time.perf_counter()
            call()
            times.append((time.perf_counter() - began) * 1e3)
        answer[label] = statistics.median(times)
    history.close()
    return answer


def work_plain(size: int) -> dict[str, float]:
    process = chain(size)
    process.run(parallel=False)  # warm: imports, first calls
    gc.collect()
    began = time.perf_counter()
    report = process.run(parallel=False)
    elapsed = time.perf_counter() - began
    assert report.entries[f"t{size - 1}"].result == size
    return {"us_per_task": elapsed / size * 1e6}


def worker(job: dict[str, Any]) -> dict[str, Any]:
    kind = job["kind"]
    if kind == "record":
        return work_record(job["size"], Path(job["folder"]))
    if kind == "record-floor":
        return work_record_floor(job["size"], Path(job["folder"]))
    if kind == "build-runs":
        return work_build_runs(Path(job["path"]), job["count"])
    if kind == "runs":
        return work_runs(Path(job["path"]))
    if kind == "plain":
        return work_plain(job["size"])
    raise ValueError(f"unknown job {kind!r}")


# -- the parent -------------------------------------------------------------------------------


def spawn(job: dict[str, Any], code: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {job} failed:\n{done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def snapshot(git_ref: str | None, into: Path) -> Path:
    """``src/processes`` of the working tree, or of a commit, as an importable folder."""
    into.mkdir(parents=True)
    snapshot_library(git_ref, into)  # run.py's: extracts on every Python 3.11.x
    return into


def medians(answers: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(a[key] for a in answers) for key in answers[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 process each")
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per case")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git ref to compare to")
    parser.add_argument(
        "--record-baseline",
        default=DEFAULT_RECORD_BASELINE,
        help="git ref whose recording is compared to",
    )
    parser.add_argument("--out", type=Path, help="where to write the results (JSON)")
    args = parser.parse_args()
    if args.worker:
        warnings.simplefilter("error")  # a history that warns did not record: no number
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    sizes = [200, 1000] if args.quick else [10_000, 100_000]
    run_count = 300 if args.quick else 10_000
    repeat = 1 if args.quick else args.repeat
    results: dict[str, Any] = {
        "sizes": sizes,
        "repeat": repeat,
        "baseline": args.baseline,
        "record baseline": args.record_baseline,
    }
    verdicts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-history-") as scratch:
        root = Path(scratch)
        current = snapshot(None, root / "current")
        baseline = snapshot(args.baseline, root / "baseline")
        record_baseline = snapshot(args.record_baseline, root / "record-baseline")

        print("recording a run, us per task (median of fresh processes): wall / CPU")
        print(
            f"{'tasks':>8} {'fresh file':>15} {'second run':>15} {'+retention':>15}"
            f" {'run itself (CPU)':>17} {'floor':>13}"
        )
        for size in sizes:
            answers, before, floors = [], [], []
            for i in range(repeat):  # alternating: all three see the same machine load
                for code, into in ((current, answers), (record_baseline, before)):
                    folder = root / f"record-{size}-{i}-{len(into)}-{code.name}"
                    folder.mkdir()
                    job = {"kind": "record", "size": size, "folder": str(folder)}
                    into.append(spawn(job, code))
                folder = root / f"floor-{size}-{i}"
                folder.mkdir()
                job = {"kind": "record-floor", "size": size, "folder": str(folder)}
                floors.append(spawn(job, current))
            m, b, f = medians(answers), medians(before), medians(floors)
            results[f"record {size}"] = {"median": m, "all": answers}
            results[f"record {size} baseline"] = {"median": b, "all": before}
            results[f"record {size} floor"] = {"median": f, "all": floors}
            for row, label in ((m, "now"), (b, args.record_baseline)):
                cells = [
                    f"{row[key]:.2f} / {row[key + ' cpu']:.2f}"
                    for key in ("fresh", "second", "retention")
                ]
                print(
                    f"{size:>8,} {cells[0]:>15} {cells[1]:>15} {cells[2]:>15}"
                    f" {row['plain run cpu']:>17.2f} {f['floor']:>6.2f} / {f['floor cpu']:.2f}"
                    f"  ({label})"
                )
            for row, label in ((m, "now"), (b, args.record_baseline)):
                cells = [f"{row[key + ' closed']:.2f}" for key in ("fresh", "second", "retention")]
                print(
                    f"{'+ close':>8} {cells[0]:>15} {cells[1]:>15} {cells[2]:>15}"
                    f" {'':>17} {f['floor closed']:>6.2f}{'':>7}  ({label})"
                )
            for label in ("fresh", "second", "retention"):
                closed = m[f"{label} closed"]  # what the run pays: record, then its checkpoint
                ok = closed <= TARGET_RECORD_US
                verdicts.append(
                    f"{'PASS' if ok else 'FAIL'} record {size:,} tasks ({label}): "
                    f"{closed:.2f} us/task with close ({m[label]:.2f} record alone, "
                    f"{m[label + ' cpu']:.2f} CPU, "
                    f"{m[label + ' cpu'] / m['plain run cpu']:.2f}x the run's own CPU), "
                    f"{closed / f['floor closed']:.2f}x the floor, "
                    f"{closed / b[label + ' closed']:.2f}x {args.record_baseline} "
                    f"(target <= {TARGET_RECORD_US} us)"
                )

        path = root / "runs.db"
        built = spawn({"kind": "build-runs", "path": str(path), "count": run_count}, current)
        print(f"\nreading a history of {run_count:,} runs (built in {built['seconds']:.1f} s), ms")
        answers = [spawn({"kind": "runs", "path": str(path)}, current) for _ in range(repeat)]
        m = medians(answers)
        results["reading"] = {"runs": run_count, "median": m, "all": answers}
        for label, value in m.items():
            print(f"  {label:<20} {value:8.3f}")
        for label in ("runs()", "runs() first call"):
            ok = m[label] < TARGET_RUNS_MS
            verdicts.append(
                f"{'PASS' if ok else 'FAIL'} {label} on {run_count:,} runs: {m[label]:.3f} ms "
                f"(target < {TARGET_RUNS_MS})"
            )

        print(f"\na run without history=, us per task: this tree against {args.baseline}")
        print(f"{'tasks':>8} {'baseline':>9} {'now':>9} {'ratio':>7}")
        for size in sizes:
            mine, theirs = [], []
            for _ in range(repeat):  # alternating: both see the same machine load
                theirs.append(spawn({"kind": "plain", "size": size}, baseline)["us_per_task"])
                mine.append(spawn({"kind": "plain", "size": size}, current)["us_per_task"])
            now, before = statistics.median(mine), statistics.median(theirs)
            results[f"plain {size}"] = {"now": mine, "baseline": theirs}
            print(f"{size:>8,} {before:>9.2f} {now:>9.2f} {now / before:>7.2f}")
            verdicts.append(
                f"INFO plain run {size:,} tasks: {now:.2f} us/task now, {before:.2f} before "
                f"({now / before:.2f}x)"
            )
    print()
    print("\n".join(verdicts))
    out = args.out or HERE / "results" / ("history-quick.json" if args.quick else "history.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({**results, "verdicts": verdicts}, indent=2))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
