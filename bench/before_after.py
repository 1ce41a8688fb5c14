"""What a run without a history costs at two commits: ``process.run()`` of the library as
it was and as it is, each case in a fresh interpreter, the two alternating.

    python bench/before_after.py --before 9c6bf15                 # against the work tree
    python bench/before_after.py --before 9c6bf15 --after HEAD --sizes 10000 --reps 7
    python bench/before_after.py --quick                          # smoke run

Each case is one of ``bench/run.py``'s workers (the same graphs, the same no-op tasks,
the same verification of every result) run on a snapshot of ``src/processes`` at each
commit. Alternating keeps a drift of the machine from landing on one side only: the
machine this was written on has phases of about 1.5x. Medians, in us per task, and the
ratio after / before; never a test (``--quick`` is only a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # this folder's run.py: its workers and its snapshots


def spawn(code: Path, case: dict[str, Any]) -> float:
    """Seconds per task of one case, in a fresh interpreter importing the library at ``code``."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, str(Path(bench.__file__).resolve()), "--worker", json.dumps(case)],
        capture_output=True,
        text=True,
        env=env,
        cwd=bench.REPO,
        check=False,
        timeout=300,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    if "error" in answer:
        raise RuntimeError(f"{case}: {answer['error']}\n{answer.get('traceback', '')}")
    if not str(answer["library"]).startswith(str(code)):
        raise RuntimeError(f"{case}: measured the library at {answer['library']}, not {code}")
    return float(answer["seconds"]) / case["size"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="9c6bf15", help="git ref (default 9c6bf15)")
    parser.add_argument("--after", help="git ref (default: the working tree)")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--shapes", default="chain,wide,layered")
    parser.add_argument("--kinds", default="sequential,parallel")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 tasks, 1 rep")
    args = parser.parse_args()
    sizes = [200] if args.quick else [int(size) for size in args.sizes.split(",")]
    reps = 1 if args.quick else args.reps
    with tempfile.TemporaryDirectory(prefix="processes-before-after-") as folder:
        codes = {"before": Path(folder, "before"), "after": Path(folder, "after")}
        bench.snapshot_library(args.before, codes["before"])
        bench.snapshot_library(args.after, codes["after"])
        print(f"before: {args.before}   after: {args.after or 'the working tree'}")
        print("shape       tasks kind          before    after  after/before")
        for size in sizes:
            for shape in args.shapes.split(","):
                for kind in args.kinds.split(","):
                    case = {
                        "shape": shape,
                        "size": size,
                        "kind": kind,
                        "memory": False,
                        "fail": False,
                        "seed": bench.SEED,
                        "workers": bench.WORKERS,
                    }
                    seen: dict[str, list[float]] = {"before": [], "after": []}
                    for _ in range(reps):
                        for side, code in codes.items():  # alternating
                            seen[side].append(spawn(code, case) * 1e6)
                    before, after = (statistics.median(seen[side]) for side in seen)
                    print(
                        f"{shape:<8} {size:>8,} {kind:<11} {before:>8.2f} {after:>8.2f}"
                        f" {after / before:>12.2f}x"
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
