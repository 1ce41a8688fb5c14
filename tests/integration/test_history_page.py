"""The history as a page (SPEC §16): histories written by real runs (failures, retries, a
resumed run, a stopped run, a run killed by SIGKILL, hostile names and messages), rendered
by ``RunHistory.to_html()`` and the CLI, and loaded in headless Chromium. The grid's cells
are checked against the history's own reports. ``UPDATE_SCREENSHOTS=1`` refreshes the
three screenshots in docs/images/.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
import textwrap
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from browser import launch_chromium
from cli_runner import run_cli
from factories import T0, make_entry, make_error, make_report
from processes import (
    Expectation,
    FindingKind,
    Process,
    RunHistory,
    StopReason,
    Task,
    TaskDependency,
    TaskStatus,
)
from processes.outcome import TaskChange
from processes.rendering.common import format_duration

pytestmark = pytest.mark.integration

DOCS_IMAGES = Path(__file__).parents[2] / "docs" / "images"
SCREENSHOTS = {
    "history-page-1440.png": (1440, "light"),
    "history-page-375.png": (375, "light"),
    "history-page-dark.png": (1440, "dark"),
}

HOSTILE_TASK = 'load"<script>window.pwned=1</script>"'
HOSTILE_MESSAGE = (
    "<script>window.pwned=2</script> \"quoted\" & 'single' <img src=x onerror=alert(1)>"
)
HOSTILE_PROCESS = "hourly <img src=x onerror=\"window.pwned=3\"> & 'co'"

# A job that kills itself with SIGKILL in its second task (as the out-of-memory killer
# would): its run stays in the file as running, and reads as crashed (§13).
_CRASHING_JOB = textwrap.dedent(
    """
    import os, signal, sys
    from processes import Process, RunHistory, Task, TaskDependency

    def first():
        return 1

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    history = RunHistory(sys.argv[1], checkpoint_seconds=0.01, heartbeat_seconds=0.05)
    tasks = [Task("first", first), Task("die", die, dependencies=[TaskDependency("first")])]
    Process(tasks, name="crashy").run(parallel=False, history=history)
    """
)

# A job that waits in its second task until told to go on: a run still running.
_WAITING_JOB = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from processes import Process, RunHistory, Task, TaskDependency

    ready, go = Path(sys.argv[2]), Path(sys.argv[3])

    def first():
        return 1

    def wait():
        ready.write_text("waiting")
        while not go.exists():
            time.sleep(0.02)

    history = RunHistory(sys.argv[1], checkpoint_seconds=0.01, heartbeat_seconds=0.05)
    tasks = [Task("first", first), Task("wait", wait, dependencies=[TaskDependency("first")])]
    Process(tasks, name="waiting").run(parallel=False, history=history)
    """
)


class Pipeline:
    """A nightly pipeline whose tasks fail, succeed after a retry, or succeed, as told."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.flaky: set[str] = set()
        self.tries: dict[str, int] = {}

    def step(self, name: str) -> Any:
        def run(*_: object) -> str:
            self.tries[name] = self.tries.get(name, 0) + 1
            if name in self.failing:
                raise ValueError(HOSTILE_MESSAGE if name == HOSTILE_TASK else f"{name} broke")
            if name in self.flaky and self.tries[name] == 1:
                raise ConnectionError("reset by peer")
            return name

        return run

    def process(self) -> Process:
        names = ["extract", HOSTILE_TASK, "trans'form&<b>", "report"]
        tasks = [Task(names[0], self.step(names[0]), retries=2)]
        tasks += [
            Task(name, self.step(name), dependencies=[TaskDependency(before)], retries=1)
            for before, name in itertools.pairwise(names)
        ]
        return Process(tasks, name="nightly")

    def run(self, history: RunHistory, *, failing: tuple[str, ...] = (), **options: Any) -> str:
        self.failing, self.tries = set(failing), {}
        self.flaky = {"extract"} if "flaky" in options.pop("mode", "") else set()
        process = self.process()
        return process.run(history=history, parallel=False, sleep=lambda _: None, **options).run_id


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history written by real runs of three processes."""
    path = tmp_path_factory.mktemp("page") / "runs.db"
    pipeline = Pipeline()
    with RunHistory(path) as history:
        pipeline.run(history)
        pipeline.run(history, failing=(HOSTILE_TASK,))  # a new failure; downstream skipped
        failed = pipeline.run(history, failing=(HOSTILE_TASK,), mode="flaky")  # still failing
        pipeline.run(history, resume=failed)  # extract reused; the failing task recovers
        pipeline.run(history, failing=("extract",), fail_fast=True)  # stopped: fail fast
        Process([Task("ping", lambda: "pong")], name=HOSTILE_PROCESS).run(history=history)
    script = path.parent / "crashing_job.py"
    script.write_text(_CRASHING_JOB)
    child = subprocess.run([sys.executable, str(script), str(path)], timeout=60, check=False)
    assert child.returncode == -9  # it killed itself
    return path


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launch_chromium() as browser:
        yield browser


class Loaded:
    """A page loaded in Chromium, every request it tried refused and kept."""

    def __init__(self, browser: Any, html: str, width: int = 1440, scheme: str = "light") -> None:
        self.context = browser.new_context(
            viewport={"width": width, "height": 900}, color_scheme=scheme
        )
        self.requests: list[str] = []
        self.problems: list[str] = []

        def refuse(route: Any) -> None:
            self.requests.append(route.request.url)
            route.abort()

        self.context.route("**/*", refuse)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.on("dialog", lambda d: (self.problems.append(d.message), d.dismiss()))
        self.page.set_content(html, wait_until="load")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def load(chromium: Any) -> Iterator[Any]:
    opened: list[Loaded] = []

    def _load(html: str, width: int = 1440, scheme: str = "light") -> Loaded:
        loaded = Loaded(chromium, html, width, scheme)
        opened.append(loaded)
        return loaded

    yield _load
    for loaded in opened:
        loaded.close()


_GRID = """() => [...document.querySelectorAll("section")].map(section => ({
  process: section.querySelector("h2").textContent,
  runs: [...section.querySelectorAll("thead th.run")].map(th => ({
    id: th.querySelector(".id").textContent, text: th.textContent, kind: th.className})),
  rows: [...section.querySelectorAll("tbody tr")].map(tr => ({
    task: tr.querySelector("th").textContent,
    cells: [...tr.querySelectorAll("td.c")].map(td => ({
      kind: td.className.replace(/^c ?/, ""),
      text: (td.querySelector("summary") || td).textContent.trim(),
      title: (td.querySelector("[title]") || td).getAttribute("title") || ""})),
    stat: tr.querySelector(".stat").textContent,
    trend: tr.querySelector(".trend svg polyline") ? 1 : 0})),
}))"""


def _expected_kind(history: RunHistory, run_id: str, task: str) -> tuple[str, str]:
    """What the page must show for ``task`` in run ``run_id``: its class and its text."""
    report = history.report(run_id)
    entry = report.entries.get(task)
    if entry is None:
        return "", ""
    change = report.changes.get(task)
    letter = {
        TaskChange.NEW_FAILURE: "N",
        TaskChange.STILL_FAILING: "S",
        TaskChange.RECOVERED: "R",
    }.get(change, "")  # type: ignore[arg-type]
    if entry.status is TaskStatus.ERRORED:
        return ("e n" if change is TaskChange.NEW_FAILURE else "e"), "\u2717" + letter
    if entry.status is TaskStatus.SKIPPED:
        return "k", "\u2298"
    if entry.status is TaskStatus.PENDING:
        return "p", "\u2026"
    if entry.reused:
        return "u", "\u21e0"
    if entry.attempts > 1:
        return "r", f"\u21bb{entry.attempts}"
    return ("s R" if letter else "s"), "\u2713" + letter


def test_the_grid_cells_match_the_history(recorded: Path, load: Any) -> None:
    with RunHistory(recorded) as history:
        html = history.to_html()
        page = load(html)
        grids = page.page.evaluate(_GRID)
        assert [g["process"] for g in grids] == sorted(history.process_names())
        seen = set()
        for grid in grids:
            runs = history.runs(grid["process"], limit=None)[::-1]  # oldest first
            assert [r["id"] for r in grid["runs"]] == [r.run_id for r in runs]
            for row in grid["rows"]:
                assert len(row["cells"]) == len(runs)
                for run, cell in zip(runs, row["cells"], strict=True):
                    kind, text = _expected_kind(history, run.run_id, row["task"])
                    assert (cell["kind"], cell["text"]) == (kind, text), (run.run_id, row)
                    seen.add(kind)
    # Every kind of cell the history holds was checked: ok, retried, new failure, still
    # failing, recovered, skipped, reused, and the tasks a crashed run never reached.
    assert {"s", "r", "e n", "e", "s R", "k", "u"} <= seen
    assert page.requests == []
    assert page.problems == []


def test_each_column_gives_its_run_id_start_duration_and_outcome(recorded: Path, load: Any) -> None:
    with RunHistory(recorded) as history:
        grids = {g["process"]: g for g in load(history.to_html()).page.evaluate(_GRID)}
        nightly = grids["nightly"]["runs"]
        runs = history.runs("nightly", limit=None)[::-1]
    assert [r["kind"] for r in nightly] == [
        "run ok", "run failed", "run failed", "run ok", "run stopped",
    ]  # fmt: skip
    assert runs[-1].stopped_by is StopReason.FAIL_FAST
    assert "stopped (fail fast)" in nightly[-1]["text"]
    for shown, run in zip(nightly, runs, strict=True):
        assert run.started_at is not None
        assert run.started_at.strftime("%Y-%m-%d %H:%M:%S UTC") in shown["text"]
        assert " ms" in shown["text"] or " s" in shown["text"]  # its duration
    crashy = grids["crashy"]["runs"]
    assert len(crashy) == 1
    assert crashy[0]["kind"] == "run crashed"
    assert "crashed" in crashy[0]["text"]


def test_each_row_gives_p50_p95_and_a_trend(recorded: Path, load: Any) -> None:
    with RunHistory(recorded) as history:
        grids = {g["process"]: g for g in load(history.to_html()).page.evaluate(_GRID)}
        stats = history.task_stats("nightly", "extract")
    extract = next(row for row in grids["nightly"]["rows"] if row["task"] == "extract")
    assert stats.p50_seconds is not None
    assert stats.p95_seconds is not None
    # Over the runs shown (all of them here), as task_stats() counts them.
    assert extract["stat"] == (
        f"{format_duration(stats.p50_seconds)} / {format_duration(stats.p95_seconds)}"
    )
    assert extract["trend"] == 1
    ping = grids[HOSTILE_PROCESS]["rows"][0]
    assert ping["trend"] == 0  # one run: no trend to draw


def test_every_name_and_message_is_escaped_and_a_failure_is_one_click_away(
    recorded: Path, load: Any
) -> None:
    with RunHistory(recorded) as history:
        html = history.to_html()
    page = load(html, width=1440)
    assert page.page.evaluate("window.pwned") is None
    assert page.page.evaluate("document.scripts.length") == 1  # the page's own, only
    assert page.page.evaluate("document.images.length") == 0
    names = page.page.evaluate(
        "[...document.querySelectorAll('tbody th.task, h2')].map(e => e.textContent)"
    )
    assert HOSTILE_TASK in names
    assert "trans'form&<b>" in names
    assert HOSTILE_PROCESS in names
    # The message: on hover (title) and on click (a <details> reachable by the keyboard).
    cell = page.page.locator('td.e:has(summary[title*="pwned=2"])').first
    failed = cell.locator("summary")
    assert HOSTILE_MESSAGE in (failed.get_attribute("title") or "")
    message = cell.locator("details > div")
    assert not message.is_visible()
    failed.focus()
    page.page.keyboard.press("Enter")
    assert message.is_visible()
    assert HOSTILE_MESSAGE in message.inner_text()
    assert page.requests == []
    assert page.problems == []


def _contrast(foreground: str, background: str) -> float:
    def luminance(css: str) -> float:
        parts = css[css.index("(") + 1 : css.index(")")].split(",")
        channels = [float(part) / 255 for part in parts[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


_COLOURS = """() => [...document.querySelectorAll("td.c:not(:empty), th.run, .legend .c")]
  .map(e => { const s = getComputedStyle(e);
    return {kind: e.className, color: s.color, background: s.backgroundColor}; })"""


_MAPPED_WORDS = """() => [...document.querySelectorAll(".mapped")].map(e => ({
  color: getComputedStyle(e).color,
  background: getComputedStyle(e.closest("th")).backgroundColor}))"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("which", ["recorded", "fanned"])
def test_marks_pass_wcag_aa_contrast(
    request: pytest.FixtureRequest, load: Any, scheme: str, which: str
) -> None:
    recorded = request.getfixturevalue(which)
    with RunHistory(recorded if which == "recorded" else recorded[0]) as history:
        html = history.to_html()
    found = load(html, scheme=scheme).page.evaluate(_COLOURS)
    kinds = set()
    for element in found:
        assert "rgba(0, 0, 0, 0)" not in element["background"], element
        assert _contrast(element["color"], element["background"]) >= 4.5, element
        kinds.add(element["kind"])
    assert len(kinds) >= 8
    if which == "fanned":  # the missed run's column, the mapped task's cells and legend
        assert {"run missed", "c s", "c e n", "c s R", "c run missed"} <= kinds
    # The words beside a mapped task's name, on the task column's panel.
    for words in load(html, scheme=scheme).page.evaluate(_MAPPED_WORDS):
        assert _contrast(words["color"], words["background"]) >= 4.5, words


def _docs_history(path: Path) -> RunHistory:
    """A nightly pipeline's 30 runs, recorded with ``record()``: durations that drift, a
    task failing three nights running, a flaky one, a stopped run and a resumed one, a
    mapped task of 120 shards whose failed shards vary, and a night the watch found
    missing (no run on night 12)."""
    history = RunHistory(path)
    names = ["extract_orders", "extract_refunds", "extract_customers", "clean", "join",
             "charge_payments", "refresh_marts", "export_finance", "notify_team"]  # fmt: skip
    for night in range(30):
        t0 = T0 + timedelta(days=night)
        if night == 12:  # no run that night: the watch finds it missing the next morning
            history.check(
                Expectation("nightly-etl", every=timedelta(days=1), grace=timedelta(hours=2)),
                now=t0 + timedelta(hours=3),
            )
            continue
        entries = []
        for i, name in enumerate(names):
            seconds = 2.0 + i * 3 + (night % 7) * 0.4 + (night * 0.5 if name == "join" else 0)
            status, error, attempts = TaskStatus.SUCCESS, None, 1
            if name == "charge_payments" and night in (21, 22, 23):
                status, error = TaskStatus.ERRORED, make_error(name)
            elif name in ("refresh_marts", "export_finance") and night in (21, 22, 23):
                status = TaskStatus.SKIPPED
            elif name == "extract_refunds" and night % 5 == 3:
                attempts = 2
            elif name == "export_finance" and night == 27:
                status, error = TaskStatus.ERRORED, make_error(name, "TimeoutError: SFTP")
            entry = make_entry(name, status, start=i * 4.0, seconds=seconds, attempts=attempts,
                               error=error, t0=t0)  # fmt: skip
            entries.append(entry)
            if name == "clean":
                entries += _shards(night, t0)
        report = make_report(*entries, name="nightly-etl", t0=t0)
        if night == 25:
            before = entries[: names.index("clean") + 1]  # stopped before its shards
            report = replace(make_report(*before, t0=t0), stopped_by=StopReason.DEADLINE)
        run_id = f"{t0:%Y%m%dT%H%M%SZ}-{hashlib.sha256(bytes([night])).hexdigest()[:8]}"
        history.record(replace(report, process_name="nightly-etl", run_id=run_id))
    return history


def _shards(night: int, t0: Any) -> list[Any]:
    """The mapped task ``load_shards`` (§15) of 120 items and its items, as a run
    records them: 2 shards fail on night 8, 9 on nights 17 and 18 (more than its
    ``max_failed``: it fails), one on night 28."""
    failing = {8: 2, 17: 9, 18: 9, 28: 1}.get(night, 0)
    items = []
    for k in range(120):
        key = f"shard-{k * 7 % 120:03d}.parquet"
        name = f"load_shards[{key}]"
        if k < failing:
            error = make_error(name, f"OSError: {key}: checksum mismatch")
            item = make_entry(name, TaskStatus.ERRORED, start=12.0, seconds=0.4, error=error,
                              t0=t0)  # fmt: skip
            items.append(replace(item, mapped_task="load_shards", item_key=key))
        else:
            items.append(make_entry(name, start=12.0, seconds=0.3 + k % 5 * 0.1, t0=t0))
    status = TaskStatus.ERRORED if failing > 5 else TaskStatus.SUCCESS
    mapped = make_entry("load_shards", status, start=12.0, seconds=9.0 + night % 4, t0=t0)
    return [*items, mapped]


@pytest.mark.parametrize("name", list(SCREENSHOTS))
def test_screenshots_at_both_widths_and_in_dark_mode(tmp_path: Path, load: Any, name: str) -> None:
    width, scheme = SCREENSHOTS[name]
    with _docs_history(tmp_path / "docs.db") as history:
        html = history.to_html()
    page = load(html, width=width, scheme=scheme)
    # The page itself never scrolls sideways: the grid scrolls in its own region, which
    # the keyboard can focus, and starts at the newest runs (on the right).
    assert page.page.evaluate("document.documentElement.scrollWidth") == width
    region = page.page.locator(".scroll").first
    assert region.get_attribute("tabindex") == "0"
    scrolled = page.page.evaluate(
        "(() => { const r = document.querySelector('.scroll');"
        " return r.scrollWidth - r.clientWidth - r.scrollLeft; })()"
    )
    assert scrolled <= 1
    shot = page.page.screenshot(full_page=True)
    assert len(shot) > 10_000
    assert page.requests == []
    if os.environ.get("UPDATE_SCREENSHOTS"):
        (DOCS_IMAGES / name).write_bytes(shot)
    assert (DOCS_IMAGES / name).exists(), "run with UPDATE_SCREENSHOTS=1 to make it"


def test_reading_the_page_never_writes_the_history(recorded: Path) -> None:
    before = hashlib.sha256(recorded.read_bytes()).hexdigest()
    with RunHistory(f"file:{recorded}?mode=ro") as history:
        html = history.to_html()  # a read-only connection: any write would raise
    assert "crashed" in html
    assert hashlib.sha256(recorded.read_bytes()).hexdigest() == before


def test_the_cli_writes_the_page(recorded: Path, tmp_path: Path, load: Any) -> None:
    out = tmp_path / "page.html"
    done = run_cli("history", recorded, "--html", out, "--process", "nightly", "--limit", "3",
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    grids = load(out.read_text(encoding="utf-8")).page.evaluate(_GRID)
    assert [g["process"] for g in grids] == ["nightly"]
    with RunHistory(recorded) as history:
        newest = [r.run_id for r in history.runs("nightly", limit=3)][::-1]
    assert [r["id"] for r in grids[0]["runs"]] == newest
    missing = run_cli("history", recorded, "--html", out, "--process", "nope", cwd=tmp_path)
    assert missing.returncode == 2
    assert "no runs of a process 'nope'" in missing.stderr
    clash = run_cli("history", recorded, "--html", out, "--json", cwd=tmp_path)
    assert clash.returncode == 2


def test_a_run_still_running_is_shown_running_never_crashed(tmp_path: Path, load: Any) -> None:
    path, ready, go = tmp_path / "runs.db", tmp_path / "ready", tmp_path / "go"
    script = tmp_path / "waiting_job.py"
    script.write_text(_WAITING_JOB)
    child = subprocess.Popen([sys.executable, str(script), str(path), str(ready), str(go)])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert child.poll() is None, "the job ended before it waited"
            assert time.monotonic() < deadline, "the job never reached its waiting task"
            time.sleep(0.02)
        with RunHistory(path) as history:
            grids = load(history.to_html()).page.evaluate(_GRID)
    finally:
        go.write_text("go")
        child.wait(60)
    assert child.returncode == 0
    (grid,) = grids
    assert [run["kind"] for run in grid["runs"]] == ["run running"]
    assert "running" in grid["runs"][0]["text"]
    cells = {row["task"]: row["cells"][0]["kind"] for row in grid["rows"]}
    assert cells["wait"] == "p"


# -- a mapped task (§15), a missed run (§14) and each run's own page -------------------------

HOSTILE_KEY = "<img src=x onerror=\"window.pwned=4\">&'k'"
_KEYS = [f"part-{i:04d}.csv" for i in range(999)] + [HOSTILE_KEY]
#: Which items fail in each run: none; 11 and the hostile one; 301 (more than max_failed:
#: the mapped task fails, its dependant is skipped); 3 and the hostile one.
_FAILING = [
    set(),
    {k for i, k in enumerate(_KEYS) if i % 97 == 1} | {HOSTILE_KEY},
    {k for i, k in enumerate(_KEYS) if i % 3 == 0 and i < 903},
    {_KEYS[5], _KEYS[6], _KEYS[7], HOSTILE_KEY},
]


def _fanning(failing: set[str]) -> Process:
    def parts() -> list[str]:
        return _KEYS

    def load(key: str) -> int:
        if key in failing:
            raise ValueError(f"cannot read {key}")
        return len(key)

    def summarise(loaded: dict[str, int]) -> int:
        return len(loaded)

    return Process(
        [
            Task("parts", parts),
            Task(
                "load",
                load,
                dependencies=[
                    TaskDependency("parts", use_result_as_additional_args=True, for_each=True)
                ],
                max_failed=0.2,
            ),
            Task(
                "summarise",
                summarise,
                dependencies=[TaskDependency("load", use_result_as_additional_args=True)],
            ),
        ],
        name="fanned",
    )


@pytest.fixture(scope="module")
def fanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """Four real runs of a mapped task of 1,000 items failing differently each run, and a
    run the watch found missing between the second and the third."""
    path = tmp_path_factory.mktemp("fanned") / "runs.db"
    with RunHistory(path) as history:
        for index, failing in enumerate(_FAILING):
            _fanning(failing).run(history=history)
            if index == 1:
                (missed,) = history.check(Expectation("fanned", every=0.001))
                assert missed.kind is FindingKind.MISSED
    return path, missed


def _expected_mapped(history: RunHistory, run_id: str) -> tuple[str, str, list[str]]:
    """The mapped task's cell in run ``run_id``: its text, its title, the keys it names."""
    report = history.report(run_id)
    load = report.entries["load"]
    failed = [
        name[len("load[") : -1]
        for name, entry in report.entries.items()
        if name.startswith("load[") and entry.status is not TaskStatus.SUCCESS
    ]
    letter = {TaskChange.NEW_FAILURE: "N", TaskChange.STILL_FAILING: "S",
              TaskChange.RECOVERED: "R"}.get(report.changes.get("load"), "")  # type: ignore[arg-type]  # fmt: skip
    mark = "\u2717" if load.status is TaskStatus.ERRORED else "\u2713"
    text = mark + letter + (f"{len(failed):,}" if failed else "")
    title = f"{len(failed):,} of 1,000 items failed"
    return text, title, failed[:10]


def test_a_mapped_task_is_one_row_with_its_failed_items_per_run(
    fanned: tuple[Path, Any], load: Any
) -> None:
    path, _ = fanned
    with RunHistory(path) as history:
        html = history.to_html()
        page = load(html)
        (grid,) = page.page.evaluate(_GRID)
        runs = history.runs("fanned", limit=None)[::-1]
        assert [row["task"] for row in grid["rows"]] == [
            "parts",
            "loadmapped \u00b7 1,000 items",
            "summarise",
        ]  # one row for the mapped task, never one per item
        cells = [c for c in grid["rows"][1]["cells"] if c["kind"] != "m"]
        assert len(cells) == len(runs) == 4
        for run, cell in zip(runs, cells, strict=True):
            text, title, keys = _expected_mapped(history, run.run_id)
            assert cell["text"] == text
            assert title in cell["title"]
            assert all(key in cell["title"] for key in keys)
    texts = [c["text"] for c in cells]
    assert texts[0] == "\u2713"  # no item failed
    assert texts[1] == "\u271312"  # 12 failed, within max_failed: the mapped task succeeded
    assert texts[2] == "\u2717N301"  # 301 failed: more than max_failed, a new failure
    assert texts[3] == "\u2713R4"
    assert "and 291 more" in cells[2]["title"]  # 10 keys named, the others counted
    # The failed keys and their messages, one click (or Enter) away, escaped.
    summary = page.page.locator("td.c.s summary").first
    details = page.page.locator("td.c.s details > div").first
    assert not details.is_visible()
    summary.focus()
    page.page.keyboard.press("Enter")
    assert details.is_visible()
    said = details.inner_text()
    assert "12 of 1,000 items failed" in said
    assert "cannot read part-0001.csv" in said
    assert "and 2 more" in said
    assert page.page.evaluate("window.pwned") is None
    assert page.page.evaluate("document.images.length") == 0
    hostile = page.page.locator("td.c.s summary").nth(1).get_attribute("title") or ""
    assert hostile.endswith(f"part-0007.csv, {HOSTILE_KEY}")  # named as text, run 4's keys
    assert page.requests == []
    assert page.problems == []


def test_the_hostile_key_of_a_failed_item_is_shown_escaped(tmp_path: Path, load: Any) -> None:
    path = tmp_path / "hostile.db"
    with RunHistory(path) as history:
        _fanning({HOSTILE_KEY}).run(history=history)
        page = load(history.to_html())
    cell = page.page.locator("td.c.s details").first
    cell.locator("summary").click()
    assert HOSTILE_KEY in cell.locator("div").inner_text()
    assert HOSTILE_KEY in (cell.locator("summary").get_attribute("title") or "")
    assert page.page.evaluate("window.pwned") is None
    assert page.page.evaluate("document.images.length") == 0
    assert page.requests == []


def test_the_page_of_a_mapped_task_stays_small_and_linear(fanned: tuple[Path, Any]) -> None:
    path, _ = fanned
    with RunHistory(path) as history:
        sizes = [len(history.to_html(limit=n).encode("utf-8")) for n in (1, 2, 3, 4)]
    # 1,000 items a run, yet a run's column costs a few kilobytes: its mapped task's
    # cell names 10 keys at most, whatever the number of items that failed.
    steps = [b - a for a, b in itertools.pairwise(sizes)]
    assert max(steps) < 6_000, sizes
    assert sizes[-1] < 40_000, sizes


def test_a_missed_run_is_a_column_of_its_own_in_time_order(
    fanned: tuple[Path, Any], load: Any
) -> None:
    path, missed = fanned
    with RunHistory(path) as history:
        page = load(history.to_html())
        runs = history.runs("fanned", limit=None)[::-1]
    (grid,) = page.page.evaluate(_GRID)
    ids = [column["id"] for column in grid["runs"]]
    assert ids == [runs[0].run_id, runs[1].run_id, "\u25cc missed", runs[2].run_id,
                   runs[3].run_id]  # fmt: skip
    column = grid["runs"][2]
    assert column["kind"] == "run missed"
    due = missed.since.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"expected by {due}" in column["text"]  # words and a symbol, not colour alone
    assert "no run" in column["text"]
    for row in grid["rows"]:
        assert row["cells"][2]["kind"] == "m"
        assert row["cells"][2]["text"] == ""
    # Its stats stay those of the runs: a missed run has no duration to count.
    assert all(len(row["cells"]) == 5 for row in grid["rows"])
    # Limited to the last two runs, the missed run (older) is not shown.
    with RunHistory(path) as history:
        (shorter,) = load(history.to_html(limit=2)).page.evaluate(_GRID)
    assert [column["id"] for column in shorter["runs"]] == [runs[2].run_id, runs[3].run_id]


def test_a_process_that_never_ran_shows_its_missed_run(tmp_path: Path, load: Any) -> None:
    with RunHistory(tmp_path / "never.db") as history:
        history.check(Expectation("never", every=0.001), now=T0)
        assert history.check(Expectation("never", every=0.001), now=T0 + timedelta(hours=1))
        html = history.to_html()
    (grid,) = load(html).page.evaluate(_GRID)
    assert grid["process"] == "never"
    assert [column["id"] for column in grid["runs"]] == ["\u25cc missed"]
    assert "0 runs, 0 tasks, 1 missed" in html


def test_the_cli_writes_each_runs_page_beside_the_page_and_links_to_it(
    fanned: tuple[Path, Any], recorded: Path, tmp_path: Path, load: Any
) -> None:
    path, _ = fanned
    out = tmp_path / "out dir" / "fan page.html"
    out.parent.mkdir()
    done = run_cli("history", path, "--html", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = out.parent / "fan page-runs"
    page = load(out.read_text(encoding="utf-8"))
    links = page.page.evaluate(
        "[...document.querySelectorAll('th.run a.id')]"
        ".map(a => [a.textContent, a.getAttribute('href')])"
    )
    with RunHistory(path) as history:
        run_ids = [run.run_id for run in history.runs("fanned", limit=None)][::-1]
    assert [run_id for run_id, _ in links] == run_ids
    for run_id, href in links:
        # Relative to the page: its folder beside it, the run's id as its file's name.
        assert not urllib.parse.urlsplit(href).scheme
        written = out.parent / urllib.parse.unquote(href)
        assert written.parent == folder
        assert written.exists(), href
        shown = tmp_path / f"{run_id}.html"
        same = run_cli("show", path, run_id, "--html", shown, cwd=tmp_path)
        assert same.returncode == 0, same.stderr
        assert written.read_bytes() == shown.read_bytes()  # the show --html view of that run
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{r}.html" for r in run_ids)
    # The links are keyboard reachable: Tab reaches each run's link.
    page.page.keyboard.press("Tab")
    reached = set()
    for _ in range(40):
        reached.add(page.page.evaluate("document.activeElement.textContent"))
        page.page.keyboard.press("Tab")
    assert set(run_ids) <= reached
    assert page.requests == []
