"""What recording a failed task costs, in a sequential run against a parallel one.

Each repetition runs ``--tasks`` independent tasks that all raise, once with
``parallel=False`` and once with ``parallel=True``, while the caller of ``run()`` holds a
list of ``--caller-items`` items in a local; it prints the median time per failed task
(wall clock, the whole run divided by the tasks). Capturing a failure looks only into
the frames of the task's own code, so both should cost about the same.

    .venv/bin/python bench/failure_capture.py                 # 300 tasks, 5 repetitions
    .venv/bin/python bench/failure_capture.py --tasks 1000 --reps 3
"""

from __future__ import annotations

import argparse
import statistics
import time

from processes import Process, Task


def fail(i: int) -> None:
    raise ValueError(f"task {i} failed")


def per_failed_task_ms(tasks: int, parallel: bool, caller_items: int) -> float:
    held = list(range(caller_items))  # a big structure in the caller's frame  # noqa: F841
    with Process([Task(f"t{i}", fail, args=(i,)) for i in range(tasks)]) as process:
        started = time.perf_counter()
        report = process.run(parallel=parallel)
        elapsed = time.perf_counter() - started
    failed = [e for e in report.entries.values() if e.error is not None]
    assert len(failed) == tasks, "every task must have failed"
    return elapsed / tasks * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--caller-items", type=int, default=100_000)
    options = parser.parse_args()
    for parallel in (False, True):
        times = [
            per_failed_task_ms(options.tasks, parallel, options.caller_items)
            for _ in range(options.reps)
        ]
        kind = "parallel" if parallel else "sequential"
        print(
            f"{kind:<10} median {statistics.median(times):7.3f} ms per failed task "
            f"(min {min(times):.3f}, max {max(times):.3f}; {options.tasks} tasks, "
            f"{options.reps} runs)"
        )


if __name__ == "__main__":
    main()
