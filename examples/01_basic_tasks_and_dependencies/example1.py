"""Example 1: tasks, dependencies, and what a failure does to the rest of the run.

A small "morning digest" pipeline. Two downloads run independently; the digest waits for
both; sending waits for the digest. A separate clean-up task depends on nothing.

The first run succeeds. The second breaks the news download: the tasks downstream of it
are skipped, and everything else (the weather download, the clean-up) still runs.

    python examples/01_basic_tasks_and_dependencies/example1.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from processes import Process, Task, TaskDependency

if TYPE_CHECKING:
    from collections.abc import Callable

HERE = Path(__file__).resolve().parent
LOGS = HERE / "logs"

# Tasks here share data through this dict; example 2 shows the library passing results.
shared: dict[str, str] = {}


def download_weather() -> None:
    shared["weather"] = "sunny, 21 °C"


def download_news() -> None:
    shared["news"] = "processes 8 released"


def broken_news() -> None:
    raise ConnectionError("news.example.test did not answer")


def build_digest() -> None:
    shared["digest"] = f"Weather: {shared['weather']}. News: {shared['news']}."


def send_digest() -> None:
    print(f"    (sending) {shared['digest']}")


def clean_up() -> None:
    shared["cleaned"] = "yes"


def build_tasks(news: Callable[[], None]) -> list[Task]:
    # Listed out of order on purpose: the process orders them by their dependencies.
    return [
        Task(
            "send_digest",
            send_digest,
            LOGS / "send.log",
            dependencies=[TaskDependency("Build_Digest")],  # names ignore case
        ),
        Task(
            "build_digest",
            build_digest,
            LOGS / "digest.log",
            dependencies=[TaskDependency("download_weather"), TaskDependency("download_news")],
        ),
        Task("download_weather", download_weather, LOGS / "weather.log"),
        Task("download_news", news, LOGS / "news.log"),
        Task("clean_up", clean_up),
    ]


def show(title: str, process: Process, parallel: bool) -> bool:
    print(f"== {title} ==")
    report = process.run(parallel=parallel, max_workers=2)
    for name, entry in report.entries.items():
        print(f"  {entry.status.value:<8} {name}")
    print(
        f"  {len(report.successes)} succeeded, {len(report.errored)} errored, "
        f"{len(report.skipped)} skipped"
    )
    for name, entry in report.errored.items():
        assert entry.error is not None
        impact = ", ".join(entry.error.downstream_impact)
        print(f"  {name} failed with {entry.error.headline}; skipped because of it: {impact}")
    return report.ok


def main() -> int:
    shutil.rmtree(LOGS, ignore_errors=True)  # log files append: start each demo afresh
    shared.clear()
    with Process(build_tasks(download_news), name="morning-digest") as process:
        print("Run order:", " -> ".join(task.name for task in process.tasks))
        downstream = [task.name for task in process.get_dependant_tasks("download_news")]
        print("Downstream of download_news:", ", ".join(downstream))
        first_ok = show("a good morning (sequential)", process, parallel=False)

    shared.clear()
    with Process(build_tasks(broken_news), name="morning-digest") as process:
        second_ok = show("the news site is down (parallel, 2 workers)", process, parallel=True)

    print("Log files:", ", ".join(sorted(path.name for path in LOGS.glob("*.log"))))
    print("news.log ends with:", (LOGS / "news.log").read_text().splitlines()[-1])
    print(f"First run ok: {first_ok}; second run ok: {second_ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
