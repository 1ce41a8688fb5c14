"""``report.to_html()`` passes the Nu HTML checker (vnu.jar) with no errors.

Pages of real runs: a failed run, a clean run, a run with changes since the previous one
(a history), and a resumed run. Runs the checker once for all four (its JVM is slow to
start); see ``tests/nu_checker.py`` for how it is found, installed and skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nu_checker import nu_errors_of
from processes import Process, RunHistory, Task, TaskDependency

pytestmark = pytest.mark.integration


class Nightly:
    """fetch -> parse -> load, and audit beside them; ``failing`` names what raises."""

    def __init__(self) -> None:
        self.failing: set[str] = set()

    def step(self, name: str) -> Any:
        def run(*upstream: object) -> str:
            rows = [1, 2, 3]  # a traced variable
            if name in self.failing:
                raise ValueError(f"{name} failed on row {rows[-1]} <b>&amp;</b>")
            return f"{name} ok"

        run.__name__ = name
        return run

    def tasks(self) -> list[Task]:
        return [
            Task("fetch", self.step("fetch")),
            Task("parse", self.step("parse"), dependencies=[TaskDependency("fetch")]),
            Task("load", self.step("load"), dependencies=[TaskDependency("parse")]),
            Task("audit", self.step("audit")),
        ]


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    history = RunHistory(Path(tmp_path_factory.mktemp("nu")) / "runs.db")
    nightly = Nightly()
    nightly.failing = {"parse"}
    failed = Process(nightly.tasks(), name="nightly").run(history=history)
    nightly.failing = {"parse", "audit"}
    changed = Process(nightly.tasks(), name="nightly").run(history=history)
    assert changed.changes  # parse still failing, audit a new failure
    nightly.failing = set()
    clean = Process(nightly.tasks(), name="nightly").run()
    resumed = Process(nightly.tasks(), name="nightly").run(resume=failed)
    assert any(entry.reused for entry in resumed.entries.values())
    return {
        "failed": failed.to_html(),
        "clean": clean.to_html(),
        "changes": changed.to_html(),
        "resumed": resumed.to_html(),
        "fan-out": _fan_out().to_html(),
    }


def _fan_out() -> Any:
    """A mapped task, two failed items and the item they skip downstream (SPEC §15)."""

    def load(name: str) -> str:
        if name.startswith("bad"):
            raise ValueError(f"{name} is <malformed>")
        return name

    each = {"use_result_as_additional_args": True, "for_each": True}
    tasks = [
        Task("files", lambda: ["a.csv", "bad <1>.csv", "b.csv", "bad-2.csv"]),
        Task("load", load, dependencies=[TaskDependency("files", **each)], max_failed=2),
        Task("transform", str.upper, dependencies=[TaskDependency("load", **each)]),
    ]
    report = Process(tasks, name="daily").run()
    assert len(report.errored) == 3  # two items of load, and transform summing its skips
    return report


@pytest.fixture(scope="module")
def errors(pages: dict[str, str]) -> dict[str, list[str]]:
    return nu_errors_of(pages)


@pytest.mark.parametrize("page", ["failed", "clean", "changes", "resumed", "fan-out"])
def test_the_page_has_no_nu_checker_errors(errors: dict[str, list[str]], page: str) -> None:
    assert errors[page] == []


def test_the_checker_finds_errors_when_there_are_some(pages: dict[str, str]) -> None:
    # So that an empty list above means "checked and clean", never "not checked".
    broken = pages["clean"].replace("<h2", "<h2 aria-label=x><div><h2", 1)
    assert nu_errors_of({"broken": broken})["broken"]
