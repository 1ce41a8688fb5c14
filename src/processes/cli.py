"""The command line: look at a saved report (``report.to_json()``) without writing Python.

``python -m processes show REPORT.json`` prints the text view; flags choose the others.
``python -m processes history FILE.db`` lists the runs a ``RunHistory`` recorded, and
``show FILE.db RUN_ID`` shows one of them; ``check FILE.db --expect ...`` is the watch
(``cli_check``). A thin shell over the report's own views, the history page's renderer and
the history's reads; it imports no execution code.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from processes.channels.file import write_atomically
from processes.cli_check import add_check_command, run_check
from processes.content import ReportContent
from processes.history import RunHistory, RunHistoryError, RunSummary, TaskStats
from processes.rendering.history_page import render_history_page, run_page_name
from processes.report import ProcessExecutionReport

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

#: Exit codes: 2 when the command could not do its job (a report that cannot be read, an
#: output that cannot be written; argparse uses 2 for a bad command line too), 1 when
#: ``--check`` finds that the run itself failed.
EXIT_CANNOT = 2
EXIT_RUN_FAILED = 1

_DESCRIPTION = """\
Look at a run's report saved as JSON, e.g. with
FileChannel("run.json", format="json") or Path("run.json").write_text(report.to_json()),
or at the runs a RunHistory("runs.db") recorded.
"""
_SHOW_EPILOG = """\
examples:
  python -m processes show run.json                  the terminal summary
  python -m processes show run.json --html run.html  write a standalone page to open
  python -m processes show run.json --mermaid        the graph, for a Markdown page
  python -m processes show run.json --errors-only    only the tasks that errored

  python -m processes show runs.db RUN_ID            a run recorded by RunHistory("runs.db")

exit status: 0 when the report was shown; 2 when REPORT is missing, unreadable or not a
processes report (or RUN_ID is not in the history), when an output cannot be written, or
when the command line is wrong; 1 with --check when a task errored or was skipped.
Without --check the status says nothing about the run itself.
"""
_HISTORY_EPILOG = """\
examples:
  python -m processes history runs.db                       the 20 newest runs
  python -m processes history runs.db --process nightly     those of one process
  python -m processes history runs.db --limit 100 --json    as JSON, for a script
  python -m processes history runs.db --process nightly --task load
                                                            one task's record
  python -m processes history runs.db --html runs.html      the runs by tasks, as a page
                                                            (each run's page in runs-runs/)
  python -m processes show runs.db RUN_ID                   one run, as show does a file

exit status: 0 when the runs were listed; 2 when FILE is missing or not a run history,
when --process or --task names nothing recorded, or when the command line is wrong.
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the parser, separate from ``main`` so its help can be tested."""
    parser = argparse.ArgumentParser(
        prog="python -m processes",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    show = commands.add_parser(
        "show",
        help="print or convert a saved report",
        description=(
            "Print the report's text view, or with --json / --mermaid that view instead; "
            "--html also writes a standalone page (then nothing is printed unless a "
            "printed view is asked for too)."
        ),
        epilog=_SHOW_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument(
        "report",
        metavar="REPORT",
        help="a JSON file written by report.to_json(), or a RunHistory file with RUN_ID",
    )
    show.add_argument(
        "run_id",
        metavar="RUN_ID",
        nargs="?",
        help="the run to show, when REPORT is a RunHistory file (see the history command)",
    )
    printed = show.add_mutually_exclusive_group()
    printed.add_argument(
        "--text", action="store_true", help="print the terminal summary (the default)"
    )
    printed.add_argument("--json", action="store_true", help="print the report as indented JSON")
    printed.add_argument(
        "--mermaid", action="store_true", help="print the task graph as a Mermaid flowchart"
    )
    show.add_argument(
        "--html", metavar="OUT.html", type=Path, help="write the report as one HTML page"
    )
    show.add_argument("--errors-only", action="store_true", help="keep only the tasks that errored")
    show.add_argument(
        "--color",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="colour the text view (default: only when printing to a terminal)",
    )
    show.add_argument(
        "--no-details",
        action="store_true",
        help="leave tracebacks and traced variables out of the text and HTML views",
    )
    show.add_argument(
        "--check",
        action="store_true",
        help="exit with status 1 when a task errored or was skipped in the run",
    )
    _add_history_command(commands)
    add_check_command(commands)
    return parser


def _add_history_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    history = commands.add_parser(
        "history",
        help="list the runs recorded in a RunHistory file",
        description=(
            "List the runs a RunHistory recorded, newest first; with --process and --task,\n"
            "that task's record over them: runs, failures, flaky runs (succeeded after\n"
            "retries) and its duration, p50 and p95."
        ),
        epilog=_HISTORY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    history.add_argument("file", metavar="FILE", help='a file made by RunHistory("FILE")')
    history.add_argument("--process", metavar="NAME", help="only the runs of this process")
    history.add_argument(
        "--limit",
        metavar="N",
        type=_positive,
        default=None,
        help="list at most N runs (default: 20; with --html, N runs per process, default 50)",
    )
    history.add_argument("--task", metavar="TASK", help="that task's record (needs --process)")
    history.add_argument("--json", action="store_true", help="print JSON instead of a table")
    history.add_argument(
        "--html",
        metavar="OUT.html",
        type=Path,
        help=(
            "write one standalone page: each process's last runs by its tasks; each run's"
            " own page goes in the folder OUT-runs beside it"
        ),
    )
    history.set_defaults(command_parser=history)


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {number}")
    return number


def load_report(path: Path) -> ProcessExecutionReport:
    """Read a report file; raise ``ValueError`` with a readable reason if it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a folder, not a report file") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return ProcessExecutionReport.from_json(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except ValueError as exc:  # what is wrong and where: entries.a: unknown status 'x'
        detail = str(exc)
        if detail.startswith("not a processes report"):
            raise ValueError(f"{path}: {detail}") from None
        raise ValueError(f"{path}: not a processes report ({detail})") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_CANNOT
    if args.command == "check":
        return run_check(args)
    if args.command == "history":
        _check_history_args(args)
        return _history(args)
    try:
        if args.run_id is None and _is_history_file(Path(args.report)):
            raise ValueError(
                f"{args.report}: a run history, not a report file: give a RUN_ID too"
                f" (python -m processes history {args.report} lists them)"
            )
        if args.run_id is not None:
            report = load_recorded_report(Path(args.report), args.run_id)
        else:
            report = load_report(Path(args.report))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT
    if args.errors_only:
        report = report.only(report.errored)
    content = ReportContent.min() if args.no_details else None
    if args.html is not None:
        try:
            write_atomically(args.html, report.to_html(content=content).encode("utf-8"))
        except OSError as exc:
            print(f"error: cannot write {args.html}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_CANNOT
    if args.json:
        print(report.to_json(indent=2))
    elif args.mermaid:
        print(report.to_mermaid(), end="")
    elif args.text or args.html is None:
        # None lets the text view decide, from the terminal it writes to.
        print(report.to_text(color=args.color, content=content))
    if args.check and not report.ok:
        return EXIT_RUN_FAILED
    return 0


def _check_history_args(args: argparse.Namespace) -> None:
    """Exit with argparse's usage error for the ``history`` options that do not go together."""
    if args.task is not None and args.process is None:
        args.command_parser.error("--task needs --process NAME: a task's record is in one process")
    if args.html is not None and (args.task is not None or args.json):
        args.command_parser.error("--html writes the page: not with --task or --json")


# -- run histories ----------------------------------------------------------------------------

_SQLITE_HEADER = b"SQLite format 3\x00"


def _is_history_file(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
    except OSError:
        return False  # load_report says what is wrong with it


def _open_history(path: Path) -> RunHistory:
    """The history in ``path``; ``ValueError`` when there is none (never creates one)."""
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a run history file")
    return RunHistory(path)


def load_recorded_report(path: Path, run_id: str) -> ProcessExecutionReport:
    """Read run ``run_id`` from a history file; ``ValueError`` with the reason if it fails."""
    with _open_history(path) as history:
        try:
            return history.report(run_id)
        except (RunHistoryError, LookupError) as exc:
            raise ValueError(str(exc)) from None


def _history(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if args.html is not None:
        return _history_page(path, args.html, args.process, args.limit or 50)
    limit = args.limit or 20
    try:
        with _open_history(path) as history:
            if args.task is not None:
                stats = history.task_stats(args.process, args.task)
                if stats.runs == 0:
                    raise ValueError(_nothing_recorded(history, args.process, args.task))
                print(_stats_json(stats) if args.json else _stats_text(stats))
                return 0
            runs = history.runs(args.process, limit=limit)
            if not runs and args.process is not None:
                raise ValueError(_nothing_recorded(history, args.process))
    except (ValueError, RunHistoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT
    if args.json:
        print(json.dumps([_summary_dict(run) for run in runs], indent=2))
    elif not runs:
        print(f"no runs recorded in {path} yet")
    else:
        print(_runs_table(runs))
    return 0


def _history_page(path: Path, out: Path, process_name: str | None, limit: int) -> int:
    """Write the history's page to ``out`` (``RunHistory.to_html``) and each run's own page
    (``show FILE.db RUN_ID --html``) in the folder ``<out's stem>-runs`` beside it, which
    the page links to: the page and its folder go together, with no server."""
    folder = out.with_name(f"{out.stem}-runs")
    try:
        with _open_history(path) as history:
            if process_name is not None and process_name not in history.process_names():
                raise ValueError(_nothing_recorded(history, process_name))
            grids = history.grids(process_name, limit)
            page = render_history_page(grids, limit=limit, run_pages=folder.name)
            run_ids = [column.run.run_id for grid in grids for column in grid.runs]
            run_pages = {run_page_name(run_id): history.report(run_id) for run_id in run_ids}
    except (ValueError, LookupError, RunHistoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT
    try:
        folder.mkdir(exist_ok=True)
        for name, report in run_pages.items():  # first: the page's links resolve once it is
            write_atomically(folder / name, report.to_html().encode("utf-8"))
        write_atomically(out, page.encode("utf-8"))
    except OSError as exc:
        print(f"error: cannot write {exc.filename or out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT
    return 0


def _nothing_recorded(history: RunHistory, process_name: str, task_name: str | None = None) -> str:
    names = history.process_names()
    if task_name is None or process_name not in names:
        known = ", ".join(repr(name) for name in names) or "none yet"
        return f"no runs of a process {process_name!r} in {history.path} (recorded: {known})"
    last = history.last(process_name)
    tasks = ", ".join(last.entries) if last is not None else ""
    return (
        f"no task {task_name!r} in the recorded runs of {process_name!r} "
        f"(its last run had: {tasks})"
    )


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 0.001:
        return "<1 ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def _outcome(run: RunSummary) -> str:
    counts = [f"{run.succeeded} ok"]
    if run.errored:
        counts.append(f"{run.errored} errored")
    if run.skipped:
        counts.append(f"{run.skipped} skipped")
    if run.ok:
        word = "succeeded"
    elif run.stopped_by is not None:
        word = f"stopped ({run.stopped_by.value.replace('_', ' ')})"
    else:
        word = "failed"
    return f"{word}: {', '.join(counts)}"


def _runs_table(runs: list[RunSummary]) -> str:
    rows = [("RUN ID", "PROCESS", "STARTED (UTC)", "TOOK", "HOST", "OUTCOME")]
    rows += [
        (
            run.run_id,
            run.process_name or "-",
            _when(run.started_at),
            _seconds(run.elapsed_seconds),
            run.host or "-",
            _outcome(run),
        )
        for run in runs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    )


def _summary_dict(run: RunSummary) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "process_name": run.process_name,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "elapsed_seconds": run.elapsed_seconds,
        "ok": run.ok,
        "summary": {"success": run.succeeded, "errored": run.errored, "skipped": run.skipped},
        "host": run.host,
        "pid": run.pid,
        "argv": list(run.argv),
        "stopped_by": run.stopped_by.value if run.stopped_by else None,
    }


def _stats_text(stats: TaskStats) -> str:
    recorded = stats.runs + stats.skipped + stats.reused
    lines = [
        f"task {stats.task_name} of {stats.process_name}, over its {recorded} recorded runs:",
        f"  succeeded  {stats.succeeded}",
        f"  failed     {stats.failures}",
        f"  flaky      {stats.flaky} (succeeded after retries)",
        f"  skipped    {stats.skipped}",
        f"  reused     {stats.reused} (resumed: the earlier run's result used)",
        f"  duration   p50 {_seconds(stats.p50_seconds)}, p95 {_seconds(stats.p95_seconds)}",
    ]
    if stats.items_per_run is not None and stats.failed_items_per_run is not None:
        pairs = zip(stats.items_per_run[-10:], stats.failed_items_per_run[-10:], strict=True)
        per_run = ", ".join(f"{failed:,}/{count:,}" for count, failed in pairs)
        lines.append(f"  items      not succeeded/items, last runs: {per_run}")
    return "\n".join(lines)


def _stats_json(stats: TaskStats) -> str:
    return json.dumps(
        {
            "process_name": stats.process_name,
            "task": stats.task_name,
            "runs": stats.runs,
            "succeeded": stats.succeeded,
            "failures": stats.failures,
            "flaky": stats.flaky,
            "skipped": stats.skipped,
            "reused": stats.reused,
            "p50_seconds": stats.p50_seconds,
            "p95_seconds": stats.p95_seconds,
            "items_per_run": stats.items_per_run,
            "failed_items_per_run": stats.failed_items_per_run,
        },
        indent=2,
    )
