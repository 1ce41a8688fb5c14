"""Example 4: the same CPU-bound pipeline on threads, on a process pool and on Dask.

Eight tasks each sum the squares of a few million integers; a ninth adds up their
results. Only the ``executor=`` argument of ``Process.run`` changes between the runs.

    python examples/04_scaling_out/example4.py            # 10,000,000 ints per task
    EXAMPLE4_INTS_PER_TASK=500000 python examples/04_scaling_out/example4.py

Dask is optional: without ``distributed`` installed, that part is skipped.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Executor, ProcessPoolExecutor

from processes import Process, Task, TaskDependency

CHUNKS = 8
INTS_PER_TASK = int(os.environ.get("EXAMPLE4_INTS_PER_TASK", "10000000"))
WORKERS = os.cpu_count() or 2


# Module-level functions: a process pool pickles them by name, so worker processes must be
# able to find them; Dask pickles them by value (cloudpickle), so even lambdas would do.
def sum_of_squares(start: int, stop: int) -> int:
    total = 0
    for value in range(start, stop):
        total += value * value
    return total


def add_up(*parts: int) -> int:
    return sum(parts)


def build_pipeline() -> Process:
    chunks = [
        Task(f"chunk{i}", sum_of_squares, args=(i * INTS_PER_TASK, (i + 1) * INTS_PER_TASK))
        for i in range(CHUNKS)
    ]
    fan_in = Task(
        "add_up",
        add_up,
        dependencies=[
            TaskDependency(chunk.name, use_result_as_additional_args=True) for chunk in chunks
        ],
    )
    return Process([*chunks, fan_in], name="sum-of-squares")


def timed_run(executor: Executor | None = None) -> tuple[float, int]:
    """Run the pipeline once; return the seconds it took and the fan-in's result."""
    with build_pipeline() as process:
        started = time.perf_counter()
        report = process.run(parallel=True, max_workers=WORKERS, executor=executor)
        elapsed = time.perf_counter() - started
    report.raise_for_errors()
    return elapsed, report.entries["add_up"].result


def show(label: str, elapsed: float, total: int, note: str = "") -> None:
    print(f"{label:<44} {elapsed:6.2f} s   total={total}{note}")


def main() -> None:
    n = CHUNKS * INTS_PER_TASK
    expected = (n - 1) * n * (2 * n - 1) // 6  # the sum of v * v for v in range(n)
    print("Example 4: the same CPU-bound pipeline on three executors")
    print(
        f"{CHUNKS} tasks x {INTS_PER_TASK:,} ints, then a fan-in; "
        f"{WORKERS} workers on {os.cpu_count()} CPU cores"
    )
    print()
    totals = []

    elapsed, total = timed_run()
    show(f"threads   (the default pool, {WORKERS} threads)", elapsed, total)
    totals.append(total)

    with ProcessPoolExecutor(WORKERS) as pool:
        pool.submit(int).result()  # start the worker processes before the clock does
        elapsed, total = timed_run(pool)
    show(f"processes (ProcessPoolExecutor, {WORKERS} workers)", elapsed, total)
    totals.append(total)

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print(
            "dask      skipped: distributed is not installed "
            "(pip install 'dask[distributed]' to include it)"
        )
    else:
        started = time.perf_counter()
        with (
            LocalCluster(
                n_workers=WORKERS,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",  # any free port: 8787 may be taken
            ) as cluster,
            Client(cluster) as client,
        ):
            startup = time.perf_counter() - started
            elapsed, total = timed_run(client.get_executor())
        show(
            f"dask      (LocalCluster, {WORKERS} worker processes)",
            elapsed,
            total,
            f"   (cluster started in {startup:.2f} s, not counted)",
        )
        totals.append(total)

    print()
    if all(total == expected for total in totals):
        print(f"All {len(totals)} runs agree: the sum of squares is {expected}.")
    else:
        raise SystemExit(f"Results differ: {totals} (expected {expected})")


if __name__ == "__main__":
    main()
