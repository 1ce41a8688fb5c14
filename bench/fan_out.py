"""What fan-out costs (SPEC §15): N items of one no-op mapped task against N declared no-op
tasks, sequential and parallel, each case in a fresh interpreter, alternating.

    python bench/fan_out.py                   # 100,000 items, 5 repetitions
    python bench/fan_out.py --sizes 1000,10000,100000 --repeat 3
    python bench/fan_out.py --quick           # smoke run: 1,000 items, once

Cases, per size N and mode (``sequential``: ``run(parallel=False)``; ``parallel``:
``run(parallel=True, max_workers=4)``):

- ``declared``: N tasks ``noop(k)`` with no dependencies, built before the clock starts;
- ``mapped``: a task returning ``range(N)``, one task ``noop`` with
  ``TaskDependency(..., for_each=True)`` over it (N items, keys "0" .. "N-1"), and
  ``len`` of its dict of results.

The clock times ``process.run()`` alone; the build is timed apart (the mapped process
has two tasks to build, the declared one N). The ratio judged against the target of
issue 24 (1.5x) is mapped run / declared run, medians. Every run is checked: N
successes, the mapped task's dict of N results. Prints a table; ``--out`` writes JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = 1.5


def noop(*args: object) -> int:
    return 1


def _worker(kind: str, mode: str, size: int) -> dict[str, float]:
    from processes import Process, Task, TaskDependency

    began = time.perf_counter()
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
    process = Process(tasks)
    built = time.perf_counter() - began
    began = time.perf_counter()
    report = process.run(parallel=mode == "parallel", max_workers=4)
    ran = time.perf_counter() - began
    succeeded = len(report.successes)
    if kind == "declared":
        assert succeeded == size, succeeded
    else:
        assert succeeded == size + 3, succeeded
        assert report.entries["count"].result == size  # the dict of every item's result
    return {"build": built, "run": ran}


def _case(kind: str, mode: str, size: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", kind, mode, str(size)],
        capture_output=True,
        text=True,
        check=True,
    )
    measured: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "MODE", "SIZE"))
    options = parser.parse_args()
    if options.worker:
        kind, mode, size = options.worker
        print(json.dumps(_worker(kind, mode, int(size))))
        return 0
    sizes = [1000] if options.quick else [int(s) for s in options.sizes.split(",")]
    repeat = 1 if options.quick else options.repeat
    rows = []
    print(f"{'size':>8} {'mode':<11} {'declared s':>10} {'mapped s':>9} {'ratio':>6}  build d/m s")
    for size in sizes:
        for mode in ("sequential", "parallel"):
            runs: dict[str, list[dict[str, float]]] = {"declared": [], "mapped": []}
            for _ in range(repeat):  # alternating, so that drift hits both alike
                for kind in ("declared", "mapped"):
                    runs[kind].append(_case(kind, mode, size))
            declared = statistics.median(r["run"] for r in runs["declared"])
            mapped = statistics.median(r["run"] for r in runs["mapped"])
            builds = [statistics.median(r["build"] for r in runs[k]) for k in runs]
            ratio = mapped / declared
            rows.append(
                {"size": size, "mode": mode, "declared": declared, "mapped": mapped,
                 "ratio": ratio, "build_declared": builds[0], "build_mapped": builds[1]}
            )  # fmt: skip
            print(
                f"{size:>8,} {mode:<11} {declared:>10.3f} {mapped:>9.3f} {ratio:>6.2f}"
                f"  {builds[0]:.3f}/{builds[1]:.4f}"
            )
    worst = max(row["ratio"] for row in rows)
    verdict = "PASS" if worst <= TARGET else "FAIL"
    print(f"{verdict} mapped/declared run time at most {TARGET}x: worst {worst:.2f}x")
    if options.out is not None:
        options.out.write_text(json.dumps({"target": TARGET, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
