"""The report as plain text for a terminal (placeholder until the text view lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from processes.content import ReportContent
    from processes.report import ProcessExecutionReport


def render_text(
    report: ProcessExecutionReport,
    *,
    color: bool | None = None,
    content: ReportContent | None = None,
) -> str:
    """Return one line per task: status, name, attempts and duration."""
    lines = [f"{report.process_name or 'process'}: {len(report.entries)} tasks"]
    for name, entry in report.entries.items():
        lines.append(f"{entry.status.value:8} {name} {entry.attempts} {entry.elapsed_seconds:.3f}s")
    return "\n".join(lines)
