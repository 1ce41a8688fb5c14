"""A channel that writes the report to a file: a CI artifact, a page to open, a JSON log.

Rendering comes from ``processes.rendering``; this module only writes, atomically. Imports
``channels.base``, ``checks``, ``content`` and ``rendering``; ``report`` for type checking.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from processes.channels.base import ReportChannel
from processes.checks import check_choice, check_type
from processes.content import ReportContent
from processes.rendering.email_html import PALETTES
from processes.rendering.findings import render_finding_html, render_finding_text
from processes.rendering.html import render_html
from processes.rendering.text import render_text

if TYPE_CHECKING:
    from processes.report import Finding, ProcessExecutionReport

__all__ = ["FileChannel"]

FORMATS = ("html", "json", "text")
#: Mode of a new report file (a replaced file keeps its own): readable by the CI job
#: that uploads it, unlike the private 0o600 of the temporary file it starts as.
NEW_FILE_MODE = 0o644


class FileChannel(ReportChannel):
    """Write the report to ``path`` as ``"html"``, ``"json"`` or ``"text"``.

    The file is written whole or not at all (a temporary file in the same folder, then
    ``os.replace``), so a reader or an artifact upload never sees half a report. Missing
    parent folders are created. ``content`` chooses the failure details of the HTML and
    text views.

    Examples:
        >>> report.notify(FileChannel("artifacts/run.html"), FileChannel("run.json", "json"))
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        format: Literal["html", "json", "text"] = "html",
        *,
        content: ReportContent | None = None,
    ) -> None:
        check_type(
            "path", path, (str, os.PathLike), owner="FileChannel", what="a str or os.PathLike"
        )
        check_choice("format", format, FORMATS, owner="FileChannel")
        check_type("content", content, ReportContent, owner="FileChannel", allow_none=True)
        self.path = Path(path)
        self.format = format
        self.content = content

    def __repr__(self) -> str:
        return f"FileChannel({str(self.path)!r}, format={self.format!r})"

    def render(self, report: ProcessExecutionReport, *, errors_only: bool = False) -> str:
        """Return the text this channel would write for ``report``.

        With ``errors_only`` the JSON holds the errored entries alone; the text and HTML
        views still count every task and detail only the errored ones.
        """
        if self.format == "json":
            data = report.only(report.errored) if errors_only else report
            return data.to_json(indent=2) + "\n"
        if self.format == "text":
            text = render_text(report, color=False, content=self.content, errors_only=errors_only)
            return text + "\n"
        return render_html(report, content=self.content, errors_only=errors_only)

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        """Write ``report`` (only its errored entries with ``errors_only``) to the file."""
        write_atomically(self.path, self.render(report, errors_only=errors_only).encode("utf-8"))

    def render_finding(self, finding: Finding) -> str:
        """Return the text this channel would write for a finding of the watch (§14)."""
        if self.format == "json":
            return json.dumps(finding.to_dict(), indent=2, ensure_ascii=False) + "\n"
        if self.format == "text":
            return render_finding_text(finding) + "\n"
        return render_finding_html(finding, PALETTES["neutral"])

    def send_finding(self, finding: Finding) -> None:
        """Write a finding of the watch to the file, in the channel's format."""
        write_atomically(self.path, self.render_finding(finding).encode("utf-8"))


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    # Same folder as the target: os.replace is only atomic within one file system.
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
