"""The command line: look at a saved report (``report.to_json()``) without writing Python.

``python -m processes show REPORT.json`` prints the text view; flags choose the others.
A thin shell over the report's own views; it imports no execution code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from processes.channels.file import write_atomically
from processes.content import ReportContent
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
FileChannel("run.json", format="json") or Path("run.json").write_text(report.to_json()).
"""
_SHOW_EPILOG = """\
examples:
  python -m processes show run.json                  the terminal summary
  python -m processes show run.json --html run.html  write a standalone page to open
  python -m processes show run.json --mermaid        the graph, for a Markdown page
  python -m processes show run.json --errors-only    only the tasks that errored

exit status: 0 when the report was shown; 2 when REPORT is missing, unreadable or not a
processes report, when an output cannot be written, or when the command line is wrong;
1 with --check when a task errored or was skipped. Without --check the status says
nothing about the run itself.
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
    show.add_argument("report", metavar="REPORT", help="a JSON file written by report.to_json()")
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
    return parser


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
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
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
    try:
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
