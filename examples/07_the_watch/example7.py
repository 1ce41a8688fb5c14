"""Example 7: the watch. A nightly job runs into a history; a watch asks the history what
went wrong: the night its input was empty (too short), the night it did not run at all
(missed), and the night it came back. Offline: the findings go to files, and the email
a finding would send is built and shown, not sent.

Run it: python examples/07_the_watch/example7.py
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from processes import (
    Expectation,
    FileChannel,
    HTMLEmailStyle,
    Process,
    RunHistory,
    SMTPConfig,
    Task,
    TaskDependency,
)
from processes.channels.email import build_finding_message


def nightly(rows: int) -> Process:
    """The job: extract ``rows`` rows, then load them (a few milliseconds each)."""

    def extract() -> list[int]:
        return list(range(rows))

    def load(data: list[int]) -> int:
        time.sleep(0.002 * len(data))  # the work: longer with more rows
        return len(data)

    return Process(
        [
            Task("extract", extract),
            Task(
                "load",
                load,
                dependencies=[TaskDependency("extract", use_result_as_additional_args=True)],
            ),
        ],
        name="nightly-etl",
    )


def night(history: RunHistory, rows: int) -> None:
    with nightly(rows) as process:
        report = process.run(parallel=False, history=history)
    print(f"night: {rows} rows, {report.elapsed_seconds:.2f} s, ok={report.ok}")


def watch(history: RunHistory, expectation: Expectation, now: datetime, out: Path) -> None:
    findings = history.check(expectation, now=now)
    if not findings:
        print("watch: nothing to report")
    for finding in findings:
        print(f"watch: {finding.kind.name} {finding.process_name}: {finding.message}")
        finding.notify(FileChannel(out / f"{finding.kind.value}.html"))
        email = build_finding_message(
            finding,
            SMTPConfig("smtp.example.com", "watch@example.com", ["oncall@example.com"]),
            HTMLEmailStyle(language="en"),
        )
        print(f"       email subject: {email['Subject']}")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        history = RunHistory(out / "runs.db")
        expectation = Expectation(
            "nightly-etl", timedelta(days=1), grace=timedelta(hours=1), min_runtime="usual"
        )
        for _ in range(5):  # five ordinary nights: what "usual" is made of
            night(history, rows=60)
        last = history.runs("nightly-etl", limit=1)[0]
        assert last.started_at is not None
        watch(history, expectation, last.started_at + timedelta(minutes=10), out)

        print("== the input is empty tonight")
        night(history, rows=0)
        last = history.runs("nightly-etl", limit=1)[0]
        assert last.started_at is not None
        watch(history, expectation, last.started_at + timedelta(minutes=10), out)

        print("== the next night, nothing runs (the crontab was edited)")
        due = last.started_at + timedelta(days=1)
        watch(history, expectation, due + timedelta(minutes=30), out)  # within grace
        watch(history, expectation, due + timedelta(hours=1, minutes=10), out)
        watch(history, expectation, due + timedelta(hours=5), out)  # told once

        print("== the crontab is fixed")
        night(history, rows=60)
        last = history.runs("nightly-etl", limit=1)[0]
        assert last.started_at is not None
        watch(history, expectation, last.started_at + timedelta(minutes=10), out)
        print("findings written:", ", ".join(sorted(p.name for p in out.glob("*.html"))))
        history.close()


if __name__ == "__main__":
    main()
