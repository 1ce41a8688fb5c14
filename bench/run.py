"""Orchestration overhead of ``processes`` with no-op tasks, against floors measured alongside.

    python bench/run.py                      # sizes 1,000 10,000 100,000 (about 15 minutes)
    python bench/run.py --quick              # smoke run: small sizes, one repetition
    python bench/run.py --sizes 1000,10000 --shapes chain,layered

Every case (one kind, one shape, one size, one repetition) runs in a fresh interpreter
(this script in ``--worker`` mode, answering one JSON line) that imports only what its
kind needs before the clock starts. The parent takes the median of the repetitions,
prints a table, judges the targets of issue 13 and writes everything to
``bench/results/latest.json``. See ``bench/README.md``.

Kinds of measurement, per shape and size:

- ``build``: constructing every ``Task`` (with its ``TaskDependency`` objects) and the
  ``Process``;
- ``plain`` (build floor): the same graph as plain slotted objects (one per dependency,
  one per task holding its list of them) ordered by ``graphlib.TopologicalSorter``: the
  least any library does to hold a graph and order it, allocations (and so the cyclic
  garbage collector's share) included;
- ``sequential``: ``process.run(parallel=False)``;
- ``parallel``: ``process.run(parallel=True, max_workers=4)``;
- ``loop`` (sequential floor): a plain loop over ``graphlib.TopologicalSorter(...)
  .static_order()`` calling the same function, passing results along the edges;
- ``pool`` (parallel floor): ``graphlib.TopologicalSorter`` ``prepare()``/``get_ready()``;
  every ready task submitted at once to a ``ThreadPoolExecutor(4)``, each worker putting
  ``(name, ok, value)`` on a ``queue.SimpleQueue`` that the loop drains, calling
  ``done()``;
- ``pool-wait`` (an extra row, never a denominator): issue 2's floor, at most 4 calls in
  flight collected with ``concurrent.futures.wait(FIRST_COMPLETED)``;
- ``dask-sync`` and ``dask-threaded`` (extra rows, when Dask is installed): the same graph
  run by ``dask.local.get_sync`` and ``dask.threaded.get(num_workers=4)``.

Every task's function receives its upstream results as positional arguments and returns
``1 + max(them)``: its depth in the graph, which every run (floors included) must get
right for every task. Peak memory (tracemalloc) is taken in separate repetitions, and a
variant where the middle task raises checks the exact sets of errors and skips.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import hashlib
import io
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from collections import deque
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

SHAPES = ("chain", "wide", "fan-in", "layered", "random")
LAYER_WIDTH = 50
MAX_UPSTREAMS = 3  # for "layered" (exactly) and "random" (0 to this many)
DEFAULT_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (50, 200)
WORKERS = 4
SEED = 20_240_601

#: Order within one repetition: each floor next to what it is the floor of. ``pool-wait``
#: (the floor of issue 2, bounded and collected with ``wait(FIRST_COMPLETED)``) is only an
#: extra row now; the Dask kinds run when Dask is installed.
KINDS = ("plain", "build", "loop", "sequential", "pool", "parallel", "pool-wait")
DASK_KINDS = ("dask-sync", "dask-threaded")
LIBRARY_KINDS = ("build", "sequential", "parallel")
MEMORY_KINDS = ("build", "sequential", "parallel")
FAILURE_KINDS = ("sequential", "parallel")
FLOOR_OF = {"build": "plain", "sequential": "loop", "parallel": "pool"}

# Targets of issue 13 ("medians at 10,000 tasks, every shape, against those floors").
TARGET_SIZE = 10_000
PARALLEL_MAX_RATIO = 1.5
SEQUENTIAL_MAX_RATIO = 10.0
BUILD_MAX_US = 4.0
SCALE_MAX_RATIO = 1.3
MEMORY_MAX_KB = 1.2
MEMORY_MAX_BYTES = MEMORY_MAX_KB * 1024


# -- the graphs -----------------------------------------------------------------------------


def make_upstreams(shape: str, n: int, seed: int = SEED) -> list[list[int]]:
    """Upstream task indices of each task; every upstream comes earlier in the list."""
    if shape == "chain":
        return [[]] + [[i - 1] for i in range(1, n)]
    if shape == "wide":
        return [[] for _ in range(n)]
    if shape == "fan-in":
        return [[] for _ in range(n - 1)] + [list(range(n - 1))]
    if shape == "layered":
        ups: list[list[int]] = []
        for i in range(n):
            layer, j = divmod(i, LAYER_WIDTH)
            if layer == 0:
                ups.append([])
            else:
                base = (layer - 1) * LAYER_WIDTH
                ups.append(sorted(base + (j + k) % LAYER_WIDTH for k in range(MAX_UPSTREAMS)))
        return ups
    if shape == "random":
        rng = random.Random(seed)
        return [
            sorted(rng.sample(range(i), rng.randint(0, min(MAX_UPSTREAMS, i)))) for i in range(n)
        ]
    raise ValueError(f"unknown shape {shape!r}; choose from {', '.join(SHAPES)}")


def depths(ups: list[list[int]]) -> list[int]:
    """What ``noop`` returns for each task when results flow along every edge."""
    out: list[int] = []
    for upstream in ups:
        out.append(1 + max((out[u] for u in upstream), default=0))
    return out


def dependants_closure(ups: list[list[int]], start: int) -> set[int]:
    """Every task downstream of ``start``, transitively."""
    down: list[list[int]] = [[] for _ in ups]
    for i, upstream in enumerate(ups):
        for u in upstream:
            down[u].append(i)
    seen: set[int] = set()
    stack = list(down[start])
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(down[node])
    return seen


# -- the task functions ---------------------------------------------------------------------


def noop(*upstream_results: int) -> int:
    """The no-op task: its depth, computed from the results piped in along its edges."""
    return 1 + max(upstream_results, default=0)


def boom(*upstream_results: int) -> int:
    raise RuntimeError("planned failure in the middle of the graph")


# -- the worker: one measurement in a fresh interpreter -------------------------------------


class GcClock:
    """Time spent in the cyclic garbage collector while installed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1


def build_process(names: list[str], ups: list[list[int]], fail_at: int | None) -> Any:
    from processes import Process, Task, TaskDependency

    tasks = []
    for i, name in enumerate(names):
        dependencies = [
            TaskDependency(names[u], use_result_as_additional_args=True) for u in ups[i]
        ]
        tasks.append(Task(name, boom if i == fail_at else noop, dependencies=dependencies))
    return Process(tasks)


class PlainEdge:
    __slots__ = ("name", "pass_result")

    def __init__(self, name: str, pass_result: bool) -> None:
        self.name = name
        self.pass_result = pass_result


class PlainNode:
    __slots__ = ("edges", "func", "name")

    def __init__(self, name: str, func: Any, edges: list[PlainEdge]) -> None:
        self.name = name
        self.func = func
        self.edges = edges


def plain_floor(names: list[str], ups: list[list[int]]) -> tuple[list[PlainNode], list[str]]:
    """The build floor: the graph as plain objects, and a topological order of it."""
    from graphlib import TopologicalSorter

    nodes = []
    for i, name in enumerate(names):
        edges = [PlainEdge(names[u], True) for u in ups[i]]
        nodes.append(PlainNode(name, noop, edges))
    graph = {node.name: [edge.name for edge in node.edges] for node in nodes}
    return nodes, list(TopologicalSorter(graph).static_order())


def verify_plain(outcome: tuple[list[PlainNode], list[str]], up_names: dict[str, list[str]]):
    nodes, order = outcome
    position = {name: i for i, name in enumerate(order)}
    check(len(nodes) == len(order) == len(up_names), "plain floor lost nodes")
    late = [n for n, ups in up_names.items() if any(position[u] > position[n] for u in ups)]
    check(not late, f"plain floor order is not topological, e.g. {late[:3]}")
    return {"tasks": len(nodes)}


def loop_floor(order: list[str], up_names: dict[str, list[str]]) -> dict[str, int]:
    results: dict[str, int] = {}
    for name in order:
        results[name] = noop(*[results[u] for u in up_names[name]])
    return results


def pool_floor(up_names: dict[str, list[str]], workers: int) -> dict[str, int]:
    """The parallel floor: every ready task submitted at once, completions from a queue.

    The plain way to run a graph on a thread pool: ``graphlib`` tracks readiness, each
    worker puts ``(name, ok, value)`` on a ``SimpleQueue``, and the loop drains it and
    tells the sorter. The pool's own queue holds what waits for a worker.
    """
    from concurrent.futures import ThreadPoolExecutor
    from graphlib import TopologicalSorter
    from queue import SimpleQueue

    finished: SimpleQueue[tuple[str, bool, Any]] = SimpleQueue()

    def call(name: str, args: list[int]) -> None:
        try:
            finished.put((name, True, noop(*args)))
        except BaseException as exc:  # a worker never dies silently
            finished.put((name, False, exc))

    sorter = TopologicalSorter(up_names)
    sorter.prepare()
    results: dict[str, int] = {}
    with ThreadPoolExecutor(workers) as pool:
        while sorter.is_active():
            for name in sorter.get_ready():
                pool.submit(call, name, [results[u] for u in up_names[name]])
            name, ok, value = finished.get()
            while True:
                if not ok:
                    raise value
                results[name] = value
                sorter.done(name)
                try:
                    name, ok, value = finished.get_nowait()
                except Empty:
                    break
    return results


def pool_wait_floor(up_names: dict[str, list[str]], workers: int) -> dict[str, int]:
    """Issue 2's parallel floor, kept as an extra row: at most ``workers`` calls in flight,
    collected with ``wait(FIRST_COMPLETED)`` (slower than ``pool_floor``)."""
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
    from graphlib import TopologicalSorter

    sorter = TopologicalSorter(up_names)
    sorter.prepare()
    results: dict[str, int] = {}
    ready: deque[str] = deque()
    running: dict[Future[int], str] = {}
    with ThreadPoolExecutor(workers) as pool:
        while sorter.is_active():
            ready.extend(sorter.get_ready())
            while ready and len(running) < workers:
                name = ready.popleft()
                running[pool.submit(noop, *[results[u] for u in up_names[name]])] = name
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                results[name] = future.result()
                sorter.done(name)
    return results


def dask_graph(up_names: dict[str, list[str]]) -> dict[str, tuple[Any, ...]]:
    """The same graph as a Dask task graph: each task calls ``noop`` on its upstream keys."""
    return {name: (noop, *ups) for name, ups in up_names.items()}


def dask_run(kind: str, graph: dict[str, tuple[Any, ...]], workers: int) -> dict[str, int]:
    import dask.local
    import dask.threaded

    keys = list(graph)
    if kind == "dask-sync":
        values = dask.local.get_sync(graph, keys)
    else:
        values = dask.threaded.get(graph, keys, num_workers=workers)
    return dict(zip(keys, values, strict=True))


def has_dask() -> bool:
    import importlib.util

    return importlib.util.find_spec("dask") is not None


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def verify_floor(results: dict[str, int], names: list[str], expected: list[int]) -> dict[str, int]:
    check(len(results) == len(names), f"floor ran {len(results)} of {len(names)} tasks")
    wrong = [name for i, name in enumerate(names) if results[name] != expected[i]]
    check(not wrong, f"floor results wrong for {len(wrong)} tasks, e.g. {wrong[:3]}")
    return {"successes": len(results), "errored": 0, "skipped": 0}


def verify_report(
    report: Any, names: list[str], ups: list[list[int]], expected: list[int], fail_at: int | None
) -> dict[str, int]:
    """The exact sets of successes, errors and skips, and every success's result."""
    n = len(names)
    if fail_at is None:
        want_errored: set[str] = set()
        want_skipped: set[str] = set()
    else:
        want_errored = {names[fail_at]}
        want_skipped = {names[i] for i in dependants_closure(ups, fail_at)}
    want_successes = set(names) - want_errored - want_skipped
    successes, errored, skipped = report.successes, report.errored, report.skipped
    check(len(report.entries) == n, f"report has {len(report.entries)} entries, expected {n}")
    check(set(successes) == want_successes, f"successes: {len(successes)}/{len(want_successes)}")
    check(set(errored) == want_errored, f"errored: {sorted(errored)} != {sorted(want_errored)}")
    check(set(skipped) == want_skipped, f"skipped: {len(skipped)} != {len(want_skipped)}")
    wrong = [name for name, entry in successes.items() if entry.result != expected[int(name[1:])]]
    check(not wrong, f"results wrong for {len(wrong)} tasks, e.g. {wrong[:3]}")
    for entry in errored.values():
        impact = set(entry.error.downstream_impact)
        check(impact == want_skipped, f"downstream_impact has {len(impact)} tasks")
    return {"successes": len(successes), "errored": len(errored), "skipped": len(skipped)}


def measure(case: dict[str, Any]) -> dict[str, Any]:
    """Run one case; return its time, GC time, peak memory and verified outcome counts."""
    import tracemalloc

    shape, n, kind = case["shape"], case["size"], case["kind"]
    memory, workers = case["memory"], case["workers"]
    fail_at = n // 2 if case["fail"] else None
    ups = make_upstreams(shape, n, case["seed"])
    names = [f"t{i}" for i in range(n)]
    expected = depths(ups)
    up_names = {name: [names[u] for u in ups[i]] for i, name in enumerate(names)}
    order: list[str] = []
    process = None
    graph: dict[str, tuple[Any, ...]] = {}
    if kind == "loop":
        from graphlib import TopologicalSorter

        order = list(TopologicalSorter(up_names).static_order())
    elif kind in ("pool", "pool-wait"):
        # imported before the clock starts, as for every kind
        import concurrent.futures  # noqa: F401
        import graphlib
        import queue  # noqa: F401
    elif kind in DASK_KINDS:
        import dask.local
        import dask.threaded  # noqa: F401

        graph = dask_graph(up_names)
    elif kind == "plain":
        import graphlib  # noqa: F401  (imported before the clock starts)
    else:
        import processes  # noqa: F401  (imported before the clock starts)

        if kind != "build" and not memory:
            process = build_process(names, ups, fail_at)
    gc.collect()

    clock = GcClock()
    gc.callbacks.append(clock)
    if memory:
        tracemalloc.start()
    cpu_started = time.process_time()
    started = time.perf_counter()
    if kind == "build":
        outcome: Any = build_process(names, ups, fail_at)
    elif kind == "plain":
        outcome = plain_floor(names, ups)
    elif kind == "loop":
        outcome = loop_floor(order, up_names)
    elif kind == "pool":
        outcome = pool_floor(up_names, workers)
    elif kind == "pool-wait":
        outcome = pool_wait_floor(up_names, workers)
    elif kind in DASK_KINDS:
        outcome = dask_run(kind, graph, workers)
    else:
        if process is None:  # a memory repetition counts the build as well
            process = build_process(names, ups, fail_at)
        if kind == "sequential":
            outcome = process.run(parallel=False)
        else:
            outcome = process.run(parallel=True, max_workers=workers)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    peak = tracemalloc.get_traced_memory()[1] if memory else None
    if memory:
        tracemalloc.stop()
    gc.callbacks.remove(clock)

    if kind == "build":
        check(len(outcome.tasks) == n, f"process holds {len(outcome.tasks)} of {n} tasks")
        counts = {"tasks": len(outcome.tasks)}
    elif kind == "plain":
        counts = verify_plain(outcome, up_names)
    elif kind in ("loop", "pool", "pool-wait", *DASK_KINDS):
        counts = verify_floor(outcome, names, expected)
    else:
        counts = verify_report(outcome, names, ups, expected, fail_at)
    return {
        "library": str(Path(sys.modules["processes"].__file__ or "").parent)
        if "processes" in sys.modules
        else None,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,  # all threads: well below seconds means a busy machine
        "gc_seconds": clock.seconds,
        "gc_collections": clock.collections,
        "peak_bytes": peak,
        "counts": counts,
    }


def worker_main(spec: str) -> int:
    try:
        answer = measure(json.loads(spec))
        status = 0
    except BaseException as exc:  # reported to the parent, which fails the run
        answer = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        status = 1
    sys.stdout.write("\n" + json.dumps(answer) + "\n")
    sys.stdout.flush()
    return status


# -- the parent: schedule the fresh processes, aggregate, judge -----------------------------


class Runner:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.problems: list[str] = []  # crashed workers and failed verifications
        self.env = {**os.environ, "PYTHONHASHSEED": "0"}
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(args.code), self.env.get("PYTHONPATH", "")) if p
        )

    def spawn(self, case: dict[str, Any]) -> dict[str, Any]:
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(case)]
        label = f"{case['shape']:>7} {case['size']:>7,} {case['kind']:<10}"
        if case["memory"]:
            label += " memory"
        if case["fail"]:
            label += " failing-task"
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=self.args.case_timeout,
                env=self.env,
                cwd=REPO,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self.log(f"{label} TIMEOUT after {self.args.case_timeout:g} s")
            return {"timeout": self.args.case_timeout}
        lines = done.stdout.strip().splitlines()
        try:
            answer: dict[str, Any] = json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            answer = {"error": f"worker exited {done.returncode}", "traceback": done.stderr}
        library = answer.get("library")
        if library is not None and not library.startswith(str(self.args.code)):
            answer = {"error": f"measured the library at {library}, not the snapshot"}
        if "error" in answer:
            self.problems.append(f"{' '.join(label.split())}: {answer['error']}")
            self.log(f"{label} ERROR {answer['error']}\n{answer.get('traceback', '')}")
        else:
            n = case["size"]
            text = f"{answer['seconds'] / n * 1e6:9.2f} us/task"
            if answer["peak_bytes"] is not None:
                text = f"{answer['peak_bytes'] / n:9.0f} B/task peak"
            if case["fail"]:
                text += f"  {answer['counts']}"
            self.log(f"{label} {text}")
        return answer

    def log(self, text: str) -> None:
        if not self.args.quiet:
            print(text, file=sys.stderr, flush=True)

    def case(self, shape: str, n: int, kind: str, *, memory: bool = False, fail: bool = False):
        spec = {
            "shape": shape,
            "size": n,
            "kind": kind,
            "memory": memory,
            "fail": fail,
            "seed": self.args.seed,
            "workers": WORKERS,
        }
        return self.spawn(spec)

    def run(self) -> dict[str, Any]:
        args = self.args
        timings: list[dict[str, Any]] = []
        memory: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        for n in args.sizes:
            for shape in args.shapes:
                ups = make_upstreams(shape, n, args.seed)
                edges = sum(len(u) for u in ups)
                reps: dict[str, list[dict[str, Any]]] = {kind: [] for kind in args.kinds}
                too_slow = False  # building timed out: nothing that builds can finish
                for _ in range(args.reps):
                    for kind in args.kinds:
                        if too_slow and kind in LIBRARY_KINDS:
                            continue
                        answer = self.case(shape, n, kind)
                        reps[kind].append(answer)
                        if kind == "build" and "timeout" in answer:
                            too_slow = True
                for kind in args.kinds:
                    timings.append(summarise(shape, n, edges, kind, reps[kind], too_slow))
                if not args.no_memory:
                    for kind in MEMORY_KINDS:
                        if too_slow:
                            answer = {"timeout": args.case_timeout, "not_run": True}
                        else:
                            answer = self.case(shape, n, kind, memory=True)
                        peak = answer.get("peak_bytes")
                        memory.append(
                            {
                                "shape": shape,
                                "size": n,
                                "kind": kind,
                                "peak_bytes": peak,
                                "bytes_per_task": None if peak is None else peak / n,
                                "status": status_of([answer]),
                            }
                        )
                if n <= args.fail_max_size:
                    for kind in FAILURE_KINDS:
                        if too_slow:
                            answer = {"timeout": args.case_timeout, "not_run": True}
                        else:
                            answer = self.case(shape, n, kind, fail=True)
                        failures.append(
                            {
                                "shape": shape,
                                "size": n,
                                "kind": kind,
                                "failing_task": f"t{n // 2}",
                                "counts": answer.get("counts"),
                                "seconds": answer.get("seconds"),
                                "status": status_of([answer]),
                            }
                        )
        return {
            "timings": timings,
            "memory": memory,
            "failures": failures,
            "problems": self.problems,
        }


def status_of(answers: list[dict[str, Any]]) -> str:
    if any("error" in a for a in answers):
        return "error"
    if any(a.get("not_run") for a in answers):
        return "not run (build timed out)"
    if any("timeout" in a for a in answers):
        return "timeout"
    return "ok"


def summarise(
    shape: str, n: int, edges: int, kind: str, answers: list[dict[str, Any]], too_slow: bool
) -> dict[str, Any]:
    seconds = [a["seconds"] for a in answers if "seconds" in a]
    complete = len(seconds) == len(answers) and bool(answers)
    median = statistics.median(seconds) if complete else None
    status = status_of(answers)
    if not answers and too_slow:
        status = "not run (build timed out)"
    return {
        "shape": shape,
        "size": n,
        "edges": edges,
        "kind": kind,
        "status": status,
        "seconds": seconds,
        "median_seconds": median,
        "us_per_task": None if median is None else median / n * 1e6,
        "cpu_seconds": [a["cpu_seconds"] for a in answers if "cpu_seconds" in a],
        "gc_seconds": [a["gc_seconds"] for a in answers if "gc_seconds" in a],
    }


# -- judging and printing -------------------------------------------------------------------


def index_timings(results: dict[str, Any]) -> dict[tuple[str, int, str], dict[str, Any]]:
    return {(t["shape"], t["size"], t["kind"]): t for t in results["timings"]}


def _with_missing(
    timings: dict[tuple[str, int, str], dict[str, Any]],
) -> dict[tuple[str, int, str], dict[str, Any]]:
    """Timings where a kind left out (``--kinds``) reads as not measured."""
    missing = {"median_seconds": None, "us_per_task": None, "gc_seconds": [], "seconds": []}

    class Timings(dict[tuple[str, int, str], dict[str, Any]]):
        def __missing__(self, key: tuple[str, int, str]) -> dict[str, Any]:
            return missing

    return Timings(timings)


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def judge(results: dict[str, Any], sizes: list[int], shapes: list[str]) -> list[dict[str, Any]]:
    """One verdict per target and shape, at the sizes issue 13 names (or the nearest run)."""
    timings = _with_missing(index_timings(results))
    at = TARGET_SIZE if TARGET_SIZE in sizes else max(sizes)
    small, large = min(sizes), max(sizes)
    verdicts: list[dict[str, Any]] = []

    def add(target: str, shape: str, value: float | None, limit: float, unit: str) -> None:
        verdicts.append(
            {
                "target": target,
                "shape": shape,
                "value": value,
                "limit": limit,
                "unit": unit,
                "pass": value is not None and value <= limit,
            }
        )

    for shape in shapes:
        for mode, limit in (("parallel", PARALLEL_MAX_RATIO), ("sequential", SEQUENTIAL_MAX_RATIO)):
            floor = FLOOR_OF[mode]
            value = ratio(
                timings[shape, at, mode]["median_seconds"],
                timings[shape, at, floor]["median_seconds"],
            )
            add(f"{mode} <= {limit:g}x {floor} floor at {at:,}", shape, value, limit, "x")
    for shape in shapes:
        add(
            f"build <= {BUILD_MAX_US:g} us/task at {at:,}",
            shape,
            timings[shape, at, "build"]["us_per_task"],
            BUILD_MAX_US,
            "us/task",
        )
    if large > small:
        for shape in shapes:
            for mode in LIBRARY_KINDS:
                value = ratio(
                    timings[shape, large, mode]["us_per_task"],
                    timings[shape, small, mode]["us_per_task"],
                )
                add(
                    f"{mode} per-task cost at {large:,} <= {SCALE_MAX_RATIO:g}x at {small:,}",
                    shape,
                    value,
                    SCALE_MAX_RATIO,
                    "x",
                )
    memory_sizes = [n for n in sizes if n >= TARGET_SIZE] or [large]
    for m in results["memory"]:
        if m["size"] in memory_sizes and m["kind"] != "build":
            add(
                f"peak memory ({m['kind']}, build + run) <= {MEMORY_MAX_KB:g} KB/task "
                f"at {m['size']:,}",
                m["shape"],
                m["bytes_per_task"],
                MEMORY_MAX_BYTES,
                "B/task",
            )
    return verdicts


def context(results: dict[str, Any], sizes: list[int], shapes: list[str]) -> list[str]:
    """Not targets: how building compares with the build floor, and what the collector costs.

    CPython's cyclic garbage collector runs a full collection whenever the objects that
    survived grow by a quarter: building 100,000 tasks pays for a few passes over every
    object built, building 1,000 (in a fresh interpreter) for none. The build floor shows
    how much of the growth any pure-Python graph of objects has.
    """
    timings = _with_missing(index_timings(results))
    at = TARGET_SIZE if TARGET_SIZE in sizes else max(sizes)
    small, large = min(sizes), max(sizes)

    def per_shape(value: Callable[[str], float | None], spec: str = ".2f") -> str:
        return ", ".join(f"{shape} {fmt(value(shape), spec)}" for shape in shapes)

    def us(shape: str, n: int, kind: str) -> float | None:
        return timings[shape, n, kind]["us_per_task"]

    def gc_share(shape: str, n: int, kind: str) -> float | None:
        cell = timings[shape, n, kind]
        if not cell["gc_seconds"] or not cell["seconds"]:
            return None
        return 100 * statistics.median(cell["gc_seconds"]) / statistics.median(cell["seconds"])

    lines = [
        f"build / plain floor at {at:,}: "
        + per_shape(lambda shape: ratio(us(shape, at, "build"), us(shape, at, "plain"))),
    ]
    if large > small:
        lines.append(
            f"plain floor per-task cost at {large:,} / at {small:,}: "
            + per_shape(lambda shape: ratio(us(shape, large, "plain"), us(shape, small, "plain")))
        )
        for n in (small, large):
            lines.append(
                f"% of build time in the cyclic GC at {n:,} (library / plain floor): "
                + ", ".join(
                    f"{shape} {fmt(gc_share(shape, n, 'build'), '.0f')}"
                    f"/{fmt(gc_share(shape, n, 'plain'), '.0f')}"
                    for shape in shapes
                )
            )
    return lines


def fmt(value: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def table(results: dict[str, Any]) -> str:
    timings = index_timings(results)
    memory = {(m["shape"], m["size"], m["kind"]): m for m in results["memory"]}
    failures: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for f in results["failures"]:
        failures.setdefault((f["shape"], f["size"]), []).append(f)
    kinds_run = {kind for (_, _, kind) in timings}
    extra = [kind for kind in (*DASK_KINDS, "pool-wait") if kind in kinds_run]
    short = {"dask-sync": "dask sync", "dask-threaded": "dask thr", "pool-wait": "pool-wait"}
    header = (
        "shape", "tasks", "edges", "plain", "build", "build/plain", "loop", "seq", "seq/loop",
        "pool", "par", "par/pool", *(short[kind] for kind in extra), "mem seq", "mem par",
        "failing-task check",
    )  # fmt: skip
    rows = [
        header,
        (
            "", "", "", "us/task", "us/task", "", "us/task", "us/task", "", "us/task", "us/task",
            "", *("us/task" for _ in extra), "B/task", "B/task", "(errored/skipped)",
        ),
    ]  # fmt: skip
    groups = sorted({(t["size"], SHAPES.index(t["shape"]), t["shape"]) for t in timings.values()})
    for n, _, shape in groups:
        cell = {
            kind: timings[shape, n, kind]
            for kind in (*KINDS, *extra)
            if (shape, n, kind) in timings
        }
        us: dict[str, float | None] = {k: c["us_per_task"] for k, c in cell.items()}
        time_cell = {
            k: fmt(c["us_per_task"]) if c["status"] == "ok" else c["status"].split()[0].upper()
            for k, c in cell.items()
        }
        for kind in (*KINDS, *extra):  # kinds left out with --kinds
            us.setdefault(kind, None)
            time_cell.setdefault(kind, "-")
        mem_cell = {}
        for kind in MEMORY_KINDS:
            m = memory.get((shape, n, kind))
            mem_cell[kind] = "-" if m is None else fmt(m["bytes_per_task"], ",.0f")
        checks = failures.get((shape, n), [])
        if not checks:
            check_cell = "-"
        elif all(f["status"] == "ok" for f in checks):
            c = checks[0]["counts"]
            check_cell = f"ok {c['errored']}/{c['skipped']:,}"
        else:
            check_cell = "/".join(f["status"].split()[0].upper() for f in checks)
        rows.append(
            (
                shape,
                f"{n:,}",
                f"{next(iter(cell.values()))['edges']:,}",
                time_cell["plain"],
                time_cell["build"],
                fmt(ratio(us["build"], us["plain"]), ".2f", "x"),
                time_cell["loop"],
                time_cell["sequential"],
                fmt(ratio(us["sequential"], us["loop"]), ".1f", "x"),
                time_cell["pool"],
                time_cell["parallel"],
                fmt(ratio(us["parallel"], us["pool"]), ".2f", "x"),
                *(time_cell[kind] for kind in extra),
                mem_cell["sequential"],
                mem_cell["parallel"],
                check_cell,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width) if i == 0 or i == len(row) - 1 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def verdict_lines(verdicts: list[dict[str, Any]]) -> str:
    lines = []
    for target in dict.fromkeys(v["target"] for v in verdicts):
        group = [v for v in verdicts if v["target"] == target]
        ok = all(v["pass"] for v in group)
        detail = ", ".join(
            f"{v['shape']} {fmt(v['value'], '.2f' if v['unit'] != 'B/task' else ',.0f')}"
            + ("" if v["pass"] else " FAIL")
            for v in group
        )
        lines.append(f"{'PASS' if ok else 'FAIL'}  {target}: {detail}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
            ).stdout.strip()
        except OSError:
            return ""

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "commit": git("rev-parse", "--short", "HEAD"),
        "src_dirty": bool(git("status", "--porcelain", "--", "src")),
        "loadavg_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def snapshot_library(git_ref: str | None, into: Path) -> None:
    """Copy ``src/processes`` from the working tree, or from a commit, into ``into``."""
    if git_ref is None:
        shutil.copytree(REPO / "src" / "processes", into / "processes")
        return
    archive = subprocess.run(
        ["git", "archive", "--format=tar", git_ref, "src/processes"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            tar.extractall(into, filter="data")
        else:  # our own repository's archive
            tar.extractall(into)
    (into / "src" / "processes").rename(into / "processes")


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", help="comma-separated task counts (default 1000,10000,100000)")
    parser.add_argument("--shapes", help=f"comma-separated, from {','.join(SHAPES)} (default all)")
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes, 1 rep")
    parser.add_argument("--reps", type=int, help="repetitions per timing (default 3; quick 1)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the random shape")
    parser.add_argument("--case-timeout", type=float, default=90.0, help="seconds per process")
    parser.add_argument(
        "--fail-max-size",
        type=int,
        default=TARGET_SIZE,
        help="run the failing-task variant up to this size (default 10000)",
    )
    parser.add_argument(
        "--git-ref",
        help="measure src/processes as committed at this ref (default: the working tree)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    parser.add_argument(
        "--kinds",
        dest="kinds_given",
        help="comma-separated subset of the kinds to time (default all; for a look)",
    )
    parser.add_argument("--no-dask", action="store_true", help="no Dask rows, even if installed")
    parser.add_argument(
        "--no-old-floor", action="store_true", help="no pool-wait row (issue 2's floor)"
    )
    parser.add_argument("--out", type=Path, help="JSON results (default bench/results/latest.json)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--worker", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is None:
        sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
        if args.sizes:
            sizes = tuple(int(s.replace("_", "")) for s in args.sizes.split(","))
        if any(n < 2 for n in sizes):
            parser.error("every size must be at least 2")
        args.sizes = sorted(set(sizes))
        args.shapes = args.shapes.split(",") if args.shapes else list(SHAPES)
        for shape in args.shapes:
            if shape not in SHAPES:
                parser.error(f"unknown shape {shape!r}; choose from {', '.join(SHAPES)}")
        if args.reps is None:
            args.reps = 1 if args.quick else 3
        args.kinds = [k for k in KINDS if not (args.no_old_floor and k == "pool-wait")]
        if not args.no_dask and has_dask():
            args.kinds += DASK_KINDS
        if args.kinds_given:
            wanted = args.kinds_given.split(",")
            unknown = set(wanted) - set(KINDS) - set(DASK_KINDS)
            if unknown:
                parser.error(f"unknown kinds {sorted(unknown)}; choose from {KINDS + DASK_KINDS}")
            args.kinds = [kind for kind in args.kinds if kind in wanted]
        if args.out is None:
            name = "quick.json" if args.quick else "latest.json"
            args.out = HERE / "results" / name
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is not None:
        return worker_main(args.worker)
    meta = machine()
    meta.update(
        sizes=args.sizes,
        shapes=args.shapes,
        reps=args.reps,
        seed=args.seed,
        workers=WORKERS,
        case_timeout=args.case_timeout,
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="processes-bench-") as snapshot:
        # One copy of the library for the whole run: src/ may change while it runs.
        args.code = Path(snapshot)
        snapshot_library(args.git_ref, args.code)
        meta["library_source"] = f"git {args.git_ref}" if args.git_ref else "working tree"
        if args.git_ref:
            meta["commit"] = subprocess.run(
                ["git", "rev-parse", "--short", args.git_ref],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        meta["src_sha256"] = tree_digest(args.code / "processes")
        results = Runner(args).run() | {"meta": meta}
    meta["wall_seconds"] = round(time.perf_counter() - started, 1)
    meta["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    verdicts = judge(results, args.sizes, args.shapes)
    results["targets"] = verdicts
    results["context"] = context(results, args.sizes, args.shapes)
    runner_problems = results["problems"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")

    reps = f"median of {args.reps}" if args.reps > 1 else "1 repetition"
    print(
        f"processes orchestration overhead, no-op tasks ({reps}, each in a fresh process; "
        f"{WORKERS} workers; {meta['cpu_count']} CPUs; Python {meta['python']}; "
        f"library {meta['library_source']} at {meta['commit']}"
        f"{' + uncommitted src' if meta['src_dirty'] and not args.git_ref else ''}, "
        f"src sha256 {meta['src_sha256']})"
    )
    print()
    print(table(results))
    print()
    print(verdict_lines(verdicts))
    print("\n".join(f"INFO  {line}" for line in results["context"]))
    print()
    passed = sum(v["pass"] for v in verdicts)
    print(f"targets: {passed}/{len(verdicts)} pass; wall time {meta['wall_seconds']:.0f} s")
    print(f"results: {args.out}")
    if runner_problems:
        print(f"\nVERIFICATION FAILED ({len(runner_problems)}):", *runner_problems, sep="\n  ")
        return 1
    if args.strict and passed < len(verdicts):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
