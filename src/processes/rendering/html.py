"""The report as one standalone HTML page (placeholder until the HTML view lands)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from processes.content import ReportContent
    from processes.report import ProcessExecutionReport


def render_html(report: ProcessExecutionReport, *, content: ReportContent | None = None) -> str:
    """Return a standalone HTML page of the report."""
    rows = "".join(
        f"<li>{html.escape(name)}: {entry.status.value}</li>" for name, entry in report.entries.items()
    )
    return f"<!doctype html><title>{html.escape(report.process_name)}</title><ul>{rows}</ul>"
