"""The task graph as a Mermaid flowchart (placeholder until the Mermaid view lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from processes.report import ProcessExecutionReport


def render_mermaid(report: ProcessExecutionReport) -> str:
    """Return a Mermaid ``flowchart`` of the report's tasks."""
    return "flowchart LR\n" + "\n".join(f"  {name}" for name in report.entries)
