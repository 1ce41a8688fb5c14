"""What fan-out costs (SPEC §15): N items of one no-op mapped task against N declared no-op
tasks, sequential and parallel, each case in a fresh interpreter, alternating.

    python bench/fan_out.py                   # 1,000 / 10,000 / 100,000 items, 5 repetitions
    python bench/fan_out.py --sizes 10000,100000 --repeat 3
    python bench/fan_out.py --quick           # smoke run: 100 and 1,000 items, once

Cases, per size N and mode (``sequential``: ``run(parallel=False)``; ``parallel``:
``run(parallel=True, max_workers=4)``):

- ``declared``: N tasks ``noop(k)`` with no dependencies, built before the clock starts;
- ``mapped``: a task returning ``range(N)``, one task ``noop`` with
  ``TaskDependency(..., for_each=True)`` over it (N items, keys "0" .. "N-1"), and
  ``len`` of its dict of results.

The clock times ``process.run()`` alone; the build is timed apart (the mapped process
has two tasks to build, the declared one N). Peak memory comes from separate repetitions
(never a timed one) under ``tracemalloc``, build + run, as ``bench/run.py`` takes it, divided
by N: bytes per item for the mapped process, per task for the declared one. Every run is
checked: N successes, the mapped task's dict of N results.

Verdicts (issue 24), on medians, per mode:

- time: the mapped run within 1.5x of the declared run, at every size of 10,000 and more
  (the largest size when all are smaller; at 1,000 a run lasts about 10 ms, and the ratio
  there, printed as INFO, is mostly noise);
- growth: the mapped run's cost per item at the largest size within 1.3x of that at the
  smallest (1,000 -> 100,000 by default); the declared run's own growth is printed beside
  it (INFO), since a loaded machine moves both;
- memory: peak bytes per item (build + run) at most 1.2 KB (1,229 B), the per-task budget
  of SPEC §9 as ``bench/run.py`` judges it, at the same sizes as the time.

Prints a table and one PASS/FAIL line per verdict; ``--out`` writes JSON. Exits 1 only when
a run gives a wrong answer (a case's process fails).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TARGET = 1.5
GROWTH_TARGET = 1.3
MEMORY_MAX_KB = 1.2
MEMORY_MAX_BYTES = MEMORY_MAX_KB * 1024
JUDGED_FROM = 10_000  # time and memory are judged from this size up, as bench/run.py does
MODES = ("sequential", "parallel")
KINDS = ("declared", "mapped")


def noop(*args: object) -> int:
    return 1


def _build(kind: str, size: int) -> Any:
    from processes import Process, Task, TaskDependency

    if kind == "declared":
        tasks = [Task(f"t{k}", noop, args=(k,)) for k in range(size)]
    else:
        each = TaskDependency("items", use_result_as_additional_args=True, for_each=True)
        whole = TaskDependency("work", use_result_as_additional_args=True)
        tasks = [
            Task("items", range, args=(size,)),
            Task("work", noop, dependencies=[each]),
            Task("count", len, dependencies=[whole]),
        ]
    return Process(tasks)


def _check(kind: str, size: int, report: Any) -> None:
    succeeded = len(report.successes)
    if kind == "declared":
        assert succeeded == size, succeeded
    else:
        assert succeeded == size + 3, succeeded
        assert report.entries["count"].result == size  # the dict of every item's result


def _worker(kind: str, mode: str, size: int, memory: bool) -> dict[str, float]:
    import gc
    import tracemalloc

    import processes  # noqa: F401  (imported before the clock starts)

    parallel = mode == "parallel"
    gc.collect()
    if memory:  # build + run under tracemalloc, as bench/run.py measures a task
        tracemalloc.start()
        report = _build(kind, size).run(parallel=parallel, max_workers=4)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        _check(kind, size, report)
        return {"peak": peak, "per_item": peak / size}
    began = time.perf_counter()
    process = _build(kind, size)
    built = time.perf_counter() - began
    began = time.perf_counter()
    report = process.run(parallel=parallel, max_workers=4)
    ran = time.perf_counter() - began
    _check(kind, size, report)
    return {"build": built, "run": ran}


def _case(kind: str, mode: str, size: int, *, memory: bool = False) -> dict[str, float]:
    command = [sys.executable, __file__, "--worker", kind, mode, str(size)]
    done = subprocess.run(
        [*command, *(["--memory"] if memory else [])],
        capture_output=True,
        text=True,
        check=True,
    )
    measured: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


def _measure(size: int, mode: str, repeat: int, memory_repeat: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    for _ in range(repeat):  # alternating, so that drift hits both alike
        for kind in KINDS:
            runs[kind].append(_case(kind, mode, size))
    peaks: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(memory_repeat):  # apart from the timed repetitions
        for kind in KINDS:
            peaks[kind].append(_case(kind, mode, size, memory=True)["per_item"])
    declared = statistics.median(r["run"] for r in runs["declared"])
    mapped = statistics.median(r["run"] for r in runs["mapped"])
    return {
        "size": size,
        "mode": mode,
        "declared": declared,
        "mapped": mapped,
        "ratio": mapped / declared,
        "declared_us_per_task": declared / size * 1e6,
        "mapped_us_per_item": mapped / size * 1e6,
        "build_declared": statistics.median(r["build"] for r in runs["declared"]),
        "build_mapped": statistics.median(r["build"] for r in runs["mapped"]),
        "memory_declared": statistics.median(peaks["declared"]) if peaks["declared"] else None,
        "memory_mapped": statistics.median(peaks["mapped"]) if peaks["mapped"] else None,
    }


def _verdicts(rows: list[dict[str, Any]]) -> list[tuple[str, bool | None]]:
    """One line per verdict: its text and whether it passed (None: information only)."""
    lines: list[tuple[str, bool | None]] = []
    sizes = sorted({row["size"] for row in rows})
    judged = [row for row in rows if row["size"] >= JUDGED_FROM] or [
        row for row in rows if row["size"] == sizes[-1]
    ]
    worst = max(row["ratio"] for row in judged)
    ratios = ", ".join(f"{row['size']:,} {row['mode'][:3]} {row['ratio']:.2f}" for row in judged)
    lines.append((f"mapped/declared run time <= {TARGET}x: {ratios}", worst <= TARGET))
    if small := [row for row in rows if row not in judged]:
        ratios = ", ".join(f"{row['size']:,} {row['mode'][:3]} {row['ratio']:.2f}" for row in small)
        lines.append((f"mapped/declared run time where a run lasts milliseconds: {ratios}", None))
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        at = {(row["size"], row["mode"]): row for row in rows}
        for mode in MODES:
            first, last = at[small, mode], at[large, mode]
            growth = last["mapped_us_per_item"] / first["mapped_us_per_item"]
            own = last["declared_us_per_task"] / first["declared_us_per_task"]
            lines.append(
                (
                    f"{mode} per-item cost at {large:,} <= {GROWTH_TARGET}x at {small:,}: "
                    f"{first['mapped_us_per_item']:.2f} -> {last['mapped_us_per_item']:.2f} "
                    f"us/item, {growth:.2f}x",
                    growth <= GROWTH_TARGET,
                )
            )
            lines.append(
                (f"{mode} declared tasks' own growth {small:,} -> {large:,}: {own:.2f}x", None)
            )
    judged = [row for row in judged if row["memory_mapped"] is not None]
    if judged:
        worst_memory = max(row["memory_mapped"] for row in judged)
        shown = ", ".join(
            f"{row['size']:,} {row['mode'][:3]} {row['memory_mapped']:,.0f}" for row in judged
        )
        lines.append(
            (
                f"peak memory (build + run) <= {MEMORY_MAX_KB:g} KB/item: {shown}",
                worst_memory <= MEMORY_MAX_BYTES,
            )
        )
    return lines


def _print_row(row: dict[str, Any]) -> None:
    memory = [
        "-" if row[key] is None else f"{row[key]:,.0f}"
        for key in ("memory_declared", "memory_mapped")
    ]
    print(
        f"{row['size']:>8,} {row['mode']:<11} {row['declared']:>10.3f} {row['mapped']:>9.3f}"
        f" {row['ratio']:>6.2f} {row['declared_us_per_task']:>9.2f}"
        f" {row['mapped_us_per_item']:>9.2f}"
        f" {memory[0]:>9} {memory[1]:>9}  {row['build_declared']:.3f}/{row['build_mapped']:.4f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions")
    parser.add_argument("--memory-repeat", type=int, default=1, help="tracemalloc repetitions")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "MODE", "SIZE"))
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        kind, mode, size = options.worker
        print(json.dumps(_worker(kind, mode, int(size), options.memory)))
        return 0
    sizes = [100, 1000] if options.quick else [int(s) for s in options.sizes.split(",")]
    repeat = 1 if options.quick else options.repeat
    memory_repeat = 1 if options.quick else options.memory_repeat
    print(
        f"{'size':>8} {'mode':<11} {'declared s':>10} {'mapped s':>9} {'ratio':>6}"
        f" {'us/task':>9} {'us/item':>9} {'B/task':>9} {'B/item':>9}  build d/m s"
    )
    rows = []
    try:
        for size in sizes:
            for mode in MODES:
                rows.append(_measure(size, mode, repeat, memory_repeat))
                _print_row(rows[-1])
    except subprocess.CalledProcessError as failed:
        print(f"a case failed: {failed.cmd}\n{failed.stderr}", file=sys.stderr)
        return 1
    verdicts = _verdicts(rows)
    for text, passed in verdicts:
        print(f"{'INFO' if passed is None else 'PASS' if passed else 'FAIL'}  {text}")
    if options.out is not None:
        summary = [{"verdict": text, "passed": passed} for text, passed in verdicts]
        options.out.write_text(
            json.dumps({"target": TARGET, "growth_target": GROWTH_TARGET,
                        "memory_max_bytes": MEMORY_MAX_BYTES, "rows": rows,
                        "verdicts": summary}, indent=2)
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
