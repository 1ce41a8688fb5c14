"""The ``check`` command (SPEC §14): ``python -m processes check FILE.db --expect ...`` asks a
history what the watch finds, for cron and monitoring: exit 1 when anything, 0 when
nothing, 2 on bad usage. Imports the history and the report's findings; ``cli`` imports it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from processes.history import Expectation, RunHistory, RunHistoryError

if TYPE_CHECKING:
    from processes.report import Finding

__all__ = ["add_check_command", "parse_duration", "parse_expectation", "run_check"]

EXIT_FOUND = 1
EXIT_CANNOT = 2
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?P<unit>[smhd]?)")
_OPTIONS = {"grace": "grace", "max": "max_runtime", "min": "min_runtime"}

_EPILOG = """\
examples:
  python -m processes check runs.db --expect nightly=1d,grace=1h
  python -m processes check runs.db --expect nightly=1d,grace=1h,max=usual,min=usual
  python -m processes check runs.db --expect sync=15m,grace=5m,max=10m --json

Durations: 90s, 15m, 2h, 1d (a number alone is seconds); usual for max and min: three
times, or a third of, the median of the last 20 ok runs (checked once 5 exist).

Each finding is printed once: the file remembers what was reported, so the next check
prints only what is new (a process still missing is not reported again until it runs).

exit status: 0 when nothing was found; 1 when something was; 2 when FILE is missing or not
a run history, or the command line is wrong.
"""


def add_check_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check",
        help="report runs that did not happen, hung, died, or ran too long or too short",
        description=(
            "Check the runs a RunHistory recorded against what is expected of them: a run\n"
            "missed, crashed, overdue, too long or too short, or back after a miss."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("file", metavar="FILE", help='a file made by RunHistory("FILE")')
    check.add_argument(
        "--expect",
        metavar="NAME=EVERY[,grace=G][,max=M][,min=N]",
        type=parse_expectation,
        action="append",
        required=True,
        help="a process and how often it runs (repeatable)",
    )
    check.add_argument("--json", action="store_true", help="print the findings as a JSON list")
    check.set_defaults(command_parser=check)


def parse_duration(text: str, *, usual: bool = False) -> float | str:
    """Seconds from ``90s``, ``15m``, ``2h``, ``1d`` or ``30``; ``"usual"`` when allowed."""
    if usual and text == "usual":
        return "usual"
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        allowed = ", or usual" if usual else ""
        raise argparse.ArgumentTypeError(
            f"a duration is a number with s, m, h or d (90s, 15m, 2h, 1d){allowed}; got {text!r}"
        )
    return float(match["number"]) * _UNITS[match["unit"] or "s"]


def parse_expectation(text: str) -> Expectation:
    """An ``Expectation`` from ``NAME=EVERY[,grace=G][,max=M][,min=N]``."""
    first, *options = text.split(",")
    name, equals, every = first.rpartition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=EVERY, e.g. nightly=1d; got {text!r}")
    keywords: dict[str, float | str] = {}
    for option in options:
        key, equals, value = option.partition("=")
        if not equals or key.strip() not in _OPTIONS:
            raise argparse.ArgumentTypeError(
                f"an option is grace=G, max=M or min=N; got {option!r} in {text!r}"
            )
        key = key.strip()
        keywords[_OPTIONS[key]] = parse_duration(value, usual=key != "grace")
    try:
        return Expectation(name, parse_duration(every), **keywords)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _line(finding: Finding) -> str:
    return f"{finding.kind.name} {finding.process_name}: {finding.message}"


def run_check(args: argparse.Namespace) -> int:
    """Check the file; print each finding (a line, or a JSON list); return the status."""
    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return EXIT_CANNOT
    try:
        with RunHistory(path) as history:
            findings = history.check(*args.expect)
    except (ValueError, RunHistoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT
    shown = [finding.masked() for finding in findings]
    if args.json:
        print(json.dumps([finding.to_dict() for finding in shown], indent=2, ensure_ascii=False))
    else:
        for finding in shown:
            print(_line(finding))
    return EXIT_FOUND if findings else 0
