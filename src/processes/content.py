"""How much detail a rendering shows for each failure. A plain value; imports only ``checks``."""

from __future__ import annotations

from dataclasses import dataclass

from processes.checks import check_flag


@dataclass(frozen=True, slots=True)
class ReportContent:
    """Which failure details a channel shows: the traceback, the traced variables, both."""

    show_traceback: bool = True
    show_traced_vars: bool = True

    def __post_init__(self) -> None:
        for name in ("show_traceback", "show_traced_vars"):
            check_flag(name, getattr(self, name), owner="ReportContent")

    @classmethod
    def full(cls) -> ReportContent:
        """Traceback and captured local variables."""
        return cls(show_traceback=True, show_traced_vars=True)

    @classmethod
    def trace(cls) -> ReportContent:
        """Traceback only."""
        return cls(show_traceback=True, show_traced_vars=False)

    @classmethod
    def min(cls) -> ReportContent:
        """Task name, status and error message only."""
        return cls(show_traceback=False, show_traced_vars=False)
