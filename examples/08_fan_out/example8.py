"""Example 8: fan-out. One task loads each daily file of a folder, found when the run
starts; one file is malformed. The alert names it; after the fix, ``resume="last"``
loads only that file again. Offline, in a temporary folder.

Run it: python examples/08_fan_out/example8.py
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from pathlib import Path

from processes import FileChannel, Process, RunHistory, Task, TaskDependency

INCOMING = Path(__file__).parent / "incoming"
loaded: list[str] = []  # the files load_file read in this process, in order


def list_files(folder: str) -> list[str]:
    """The work of the night: every CSV file in the folder, in name order."""
    return sorted(str(path) for path in Path(folder).glob("*.csv"))


def file_name(path: str) -> str:
    """Each item's key: the file's name (``load[2026-12-03.csv]``)."""
    return Path(path).name


def load_file(path: str) -> dict[str, float]:
    """One file's rows and their sum; a malformed amount fails this file only."""
    loaded.append(file_name(path))
    with open(path, newline="") as lines:
        rows = list(csv.reader(lines))
    total = 0.0
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 2:
            raise ValueError(f"{file_name(path)} line {number}: expected 2 fields, got {row}")
        total += float(row[1])
    return {"rows": len(rows) - 1, "amount": round(total, 2)}


def summarise(per_file: dict[str, dict[str, float]]) -> str:
    """What the night adds up to: receives the dict of every file's result."""
    rows = sum(int(result["rows"]) for result in per_file.values())
    amount = sum(result["amount"] for result in per_file.values())
    return f"{len(per_file)} files, {rows} rows, {amount:.2f} EUR"


def daily_sales(folder: Path) -> Process:
    return Process(
        [
            # reuse=False: a resumed run lists the folder again, so a file that came
            # since is loaded too (a new key), and the others are reused.
            Task("list_files", list_files, args=(str(folder),), reuse=False),
            Task(
                "load_file",
                load_file,
                dependencies=[
                    TaskDependency("list_files", use_result_as_additional_args=True, for_each=True)
                ],
                item_key=file_name,
            ),
            Task(
                "summarise",
                summarise,
                dependencies=[TaskDependency("load_file", use_result_as_additional_args=True)],
            ),
        ],
        name="daily-sales",
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "incoming"
        shutil.copytree(INCOMING, folder)
        alert = Path(scratch) / "alert.txt"
        with RunHistory(Path(scratch) / "history.db") as history:
            print("== night 1: five files, one malformed")
            with daily_sales(folder) as process:
                first = process.run(parallel=True, max_workers=4, history=history)
            first.notify(FileChannel(alert, "text"))  # the alert, as a text file
            print(f"ok: {first.ok}; loaded: {', '.join(sorted(loaded))}")
            print("the alert says (its table, and the malformed file's error):")
            shown: set[str] = set()
            for line in map(str.strip, alert.read_text().splitlines()):
                if line.startswith(("FAILED ", "SKIPPED ", "ValueError")) and line not in shown:
                    shown.add(line)
                    if "(Function" not in line:
                        print(f"  {line}")

            print("== the file is fixed; the same command with resume='last'")
            bad = folder / "2026-12-03.csv"
            bad.write_text(bad.read_text().replace("12,5O", "12.50"))
            loaded.clear()
            with daily_sales(folder) as process:
                second = process.run(parallel=True, max_workers=4, history=history, resume="last")
            reused = [name for name, entry in second.entries.items() if entry.reused]
            print(f"ok: {second.ok}; loaded again: {', '.join(loaded)}")
            print(f"reused from night 1: {', '.join(reused)}")
            print(f"changes: {', '.join(f'{n} {c.value}' for n, c in second.changes.items())}")
            print(f"summarise: {second.entries['summarise'].result}")
            stats = history.task_stats("daily-sales", "load_file")
            print(
                f"load_file per run: items {stats.items_per_run},"
                f" not succeeded {stats.failed_items_per_run}"
            )


if __name__ == "__main__":
    main()
