"""Profile one benchmark case with cProfile: where the time goes inside ``processes``.

    python bench/profile_case.py chain 10000 parallel
    python bench/profile_case.py layered 100000 build --top 25

Builds the graph exactly as ``bench/run.py`` does. cProfile sees the calling thread only:
for ``parallel`` that is the scheduler loop, which is the orchestration being measured
(the worker threads only run the no-op functions). Shares are of the profiled total,
and cProfile's own overhead inflates functions that are called very often.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # this folder's run.py


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("shape", choices=bench.SHAPES)
    parser.add_argument("size", type=int)
    parser.add_argument("kind", choices=("build", "sequential", "parallel"))
    parser.add_argument("--top", type=int, default=20, help="rows to print")
    parser.add_argument("--sort", default="tottime", help="pstats sort key (default tottime)")
    parser.add_argument("--dump", type=Path, help="also write the raw pstats file here")
    args = parser.parse_args()

    import processes  # noqa: F401  (imported before profiling, as run.py does before its clock)

    ups = bench.make_upstreams(args.shape, args.size)
    names = [f"t{i}" for i in range(args.size)]
    process = None if args.kind == "build" else bench.build_process(names, ups, None)
    gc.collect()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    if args.kind == "build":
        bench.build_process(names, ups, None)
    elif args.kind == "sequential":
        process.run(parallel=False)
    else:
        process.run(parallel=True, max_workers=bench.WORKERS)
    profiler.disable()
    elapsed = time.perf_counter() - started
    print(f"{args.shape} {args.size:,} {args.kind}: {elapsed:.2f} s under cProfile")

    stats = pstats.Stats(profiler)
    if args.dump:
        stats.dump_stats(args.dump)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    by_file: dict[str, float] = {}
    for (filename, _, _), row in stats.stats.items():  # type: ignore[attr-defined]
        key = filename.split("/processes/")[-1] if "/processes/" in filename else "(other)"
        if "/processes/" not in filename:
            key = "stdlib/builtins" if filename.startswith(("~", "/usr", sys.prefix)) else key
        by_file[key] = by_file.get(key, 0.0) + row[2]
    print("\nown time by module:")
    for key, seconds in sorted(by_file.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds / total:6.1%}  {key}")
    print()
    stats.sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
