"""What a user or a recipient could see of a report: the red-team tests look for secrets
in all of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from processes import ProcessExecutionReport


def everything(report: ProcessExecutionReport) -> str:
    """Every serialisation of a report, and every text field of its entries, joined."""
    parts = [report.to_json(), report.to_text(color=False), report.to_html(), report.to_mermaid()]
    for entry in report.entries.values():
        parts += [repr(entry.args), repr(entry.kwargs), repr(entry.result)]
        parts += list(entry.attempt_errors)
        if entry.error is not None:
            error = entry.error
            parts += [error.exception, error.traceback_str, repr(error.traced_vars)]
            parts += [repr(error.args), repr(error.kwargs)]
    return "\n".join(parts)
