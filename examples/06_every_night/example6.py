"""Example 6: a pipeline that runs every night, and remembers.

The orders pipeline of example 3, run three times in one script as cron would run it on
three nights, with one run history (an SQLite file) kept between the runs:

1. the payment gateway refuses the charge: a new failure, so an alert is sent;
2. it refuses again, the same way: still failing, so nothing is sent (only_changes);
3. the gateway is fixed and the run resumes the failed one: only the failed and skipped
   tasks run again, the others' results come from the history, and a "recovered" alert
   is sent;
4. the job is killed with SIGKILL while ``ship_orders`` runs (what the kernel's
   out-of-memory killer does): no report, no alert, but the history has the run;
5. the same cron command, ``run(resume="last")``, finds night 4 dead, closes it, reuses
   what it finished, and its alert says that the previous run died.

Offline, in about a second: the alerts are the real emails EmailChannel would send,
written to ``outbox/`` as ``.eml`` files instead of going to an SMTP server.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from processes import (
    HTMLEmailStyle,
    Process,
    ReportChannel,
    RunHistory,
    SMTPConfig,
    Task,
    TaskDependency,
)
from processes.channels.email import build_message

if TYPE_CHECKING:
    from processes import ProcessExecutionReport

HERE = Path(__file__).resolve().parent
STATE = HERE / "state"  # the history and the outbox; delete it to start from scratch
OUTBOX = STATE / "outbox"

CALLS: Counter[str] = Counter()  # how many times each task's function ran, in all runs
GATEWAY = {"up": False}  # the bug: fixed before the third night
HANGS = STATE / "ship_orders.hangs"  # night 4: written when ship_orders hangs, to be killed

Order = dict[str, Any]


# -- the pipeline -------------------------------------------------------------------------


def fetch_inventory() -> list[Order]:
    CALLS["fetch_inventory"] += 1
    return [{"sku": "A-1", "qty": 3, "price": 10.0}, {"sku": "B-2", "qty": 1, "price": 99.5}]


def enrich_pricing(orders: list[Order]) -> list[Order]:
    CALLS["enrich_pricing"] += 1
    return [{**order, "total": order["qty"] * order["price"]} for order in orders]


def charge_payments(orders: list[Order]) -> str:
    CALLS["charge_payments"] += 1
    amount = sum(order["total"] for order in orders)
    if not GATEWAY["up"]:
        raise ConnectionError(f"payments.example.test refused the charge of {amount:.2f}")
    return f"receipt-{amount:.2f}"


def ship_orders(receipt: str) -> str:
    CALLS["ship_orders"] += 1
    if os.environ.get("ORDERS_EXAMPLE_NIGHT") == "4":  # the night the process is killed
        HANGS.write_text(str(os.getpid()))
        while True:
            time.sleep(0.1)
    return f"shipped with {receipt}"


def archive_logs() -> int:
    CALLS["archive_logs"] += 1
    return 7


def build_tasks() -> list[Task]:
    def uses(name: str) -> list[TaskDependency]:
        return [TaskDependency(name, use_result_as_additional_args=True)]

    return [
        Task("fetch_inventory", fetch_inventory),
        Task("enrich_pricing", enrich_pricing, dependencies=uses("fetch_inventory")),
        Task(
            "charge_payments",
            charge_payments,
            dependencies=uses("enrich_pricing"),
            retries=2,
            retry_on=(ConnectionError,),
        ),
        Task("ship_orders", ship_orders, dependencies=uses("charge_payments")),
        Task("archive_logs", archive_logs),
    ]


# -- the alert ----------------------------------------------------------------------------


class Outbox(ReportChannel):
    """The email EmailChannel would send, written to a folder instead of an SMTP server."""

    def __init__(self, folder: Path, config: SMTPConfig, style: HTMLEmailStyle) -> None:
        self.folder, self.config, self.style = folder, config, style
        self.sent: list[Path] = []

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        message = build_message(report, self.config, self.style, errors_only=errors_only)
        path = self.folder / f"{len(self.sent) + 1}-{report.run_id}.eml"
        path.write_bytes(message.as_bytes())
        self.sent.append(path)
        print(f"  alert sent: {message['Subject']!r} -> {path.relative_to(HERE)}")


def night(number: int, history: RunHistory, outbox: Outbox, **run: Any) -> ProcessExecutionReport:
    resume = run.get("resume")
    how = {None: "", "last": ' (resume="last": the cron line of every night)'}
    print(f"\n== night {number}" + how.get(resume, " (resuming the failed run)"))
    before = CALLS.copy()
    with Process(build_tasks(), name="orders-pipeline") as process:
        report = process.run(parallel=False, history=history, **run)
    for name, entry in report.entries.items():
        change = report.changes.get(name)
        notes = [f"{entry.status.value:8} {name:16}"]
        if entry.reused:
            notes.append("reused, not run")
        if change is not None:
            notes.append(change.value.replace("_", " "))
        if name in report.streaks:
            streak = report.streaks[name]
            notes.append(f"({streak.runs} runs in a row)")
        print("  " + "  ".join(notes))
    ran = sorted((CALLS - before).keys())
    print(f"  functions called: {', '.join(ran)}")
    deliveries = report.notify(outbox, only_changes=True)
    if not any(delivery.sent for delivery in deliveries):
        print("  no alert: nothing new since the last run (only_changes=True)")
    return report


def the_night_that_dies() -> None:
    """Night 4, in a process of its own, as cron starts it; killed while ship_orders runs."""
    print("\n== night 4 (killed with SIGKILL while ship_orders runs)")
    env = {**os.environ, "ORDERS_EXAMPLE_NIGHT": "4"}
    job = subprocess.Popen([sys.executable, __file__, "--one-night"], env=env)
    while not HANGS.exists():
        time.sleep(0.05)
    time.sleep(0.5)  # a checkpoint (checkpoint_seconds=0.2 here) has written its progress
    job.send_signal(signal.SIGKILL)  # no handler runs, nothing is said: the OOM killer
    job.wait()
    print(f"  the job died (exit status {job.returncode}): no report, no alert")


def main() -> int:
    if sys.argv[1:] == ["--one-night"]:  # night 4's own process
        GATEWAY["up"] = True
        with RunHistory(STATE / "history.db", checkpoint_seconds=0.2) as history:
            Process(build_tasks(), name="orders-pipeline").run(parallel=False, history=history)
        return 0
    shutil.rmtree(STATE, ignore_errors=True)
    OUTBOX.mkdir(parents=True)
    config = SMTPConfig(("127.0.0.1", 1025), "pipeline@example.test", ["oncall@example.test"])
    outbox = Outbox(OUTBOX, config, HTMLEmailStyle(palette="slate"))
    with RunHistory(STATE / "history.db") as history:
        night(1, history, outbox)
        second = night(2, history, outbox)
        GATEWAY["up"] = True  # the fix is deployed
        night(3, history, outbox, resume=second.run_id)
        the_night_that_dies()
        fifth = night(5, history, outbox, resume="last")
        for crash in fifth.crashes:
            print(
                f"  found dead: {crash.run_id}, after {crash.tasks_finished} of "
                f"{crash.tasks_total} tasks, during {', '.join(crash.running)}"
            )
        print("\nThe history (python -m processes history state/history.db):")
        for run in history.runs("orders-pipeline"):
            verdict = "ok" if run.ok else (run.stopped_by.value if run.stopped_by else "failed")
            print(f"  {run.run_id}  {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
