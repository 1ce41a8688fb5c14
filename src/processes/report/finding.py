"""A finding of the watch (SPEC §14): a run that did not happen, hung, died, or ran too long
or too short, as one value that channels deliver like a report.

Imports ``delivery`` and ``redaction``; channels and rendering import this module for the
types, never the other way round.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime  # noqa: TC003 (a dataclass field's type)
from typing import TYPE_CHECKING, Any

from processes.redaction import DEFAULT_REDACTOR, mask, remember_secret

if TYPE_CHECKING:
    from collections.abc import Iterable

    from processes.report.delivery import Delivery

__all__ = ["Finding", "FindingKind"]

#: The most characters ``to_dict()`` keeps of a process name or a run id, and of the
#: message: a finding's payload stays small whatever the names hold.
MOST_NAME_CHARS = 200
MOST_MESSAGE_CHARS = 1000


def _cut(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "\u2026"


class FindingKind(enum.Enum):
    """What the watch found wrong with a process, or that it is back."""

    MISSED = "missed"
    CRASHED = "crashed"
    OVERDUE = "overdue"
    TOO_LONG = "too_long"
    TOO_SHORT = "too_short"
    BACK = "back"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing ``RunHistory.check()`` found, reported once.

    ``run_id`` is the run it is about (None for MISSED; for BACK the run that started
    again); ``since`` when the problem began (for MISSED, when the run was due);
    ``message`` one English sentence. The rest is what a reader needs around it: the
    last run (``last_run_id``, its start, its outcome ``"ok"``, ``"failed"``,
    ``"crashed"`` or ``"running"`` and its duration), the ``usual_seconds`` (median of
    the recent ok runs, when known), the bound that was crossed (``limit_seconds``) and
    when the check ran (``checked_at``).
    """

    kind: FindingKind
    process_name: str
    run_id: str | None
    since: datetime
    message: str
    last_run_id: str | None = None
    last_started_at: datetime | None = None
    last_outcome: str | None = None
    last_seconds: float | None = None
    usual_seconds: float | None = None
    limit_seconds: float | None = None
    checked_at: datetime | None = None

    def notify(self, *channels: Any, show_warnings: bool = True) -> list[Delivery]:
        """Deliver this finding through each channel (``send_finding``); never raise for
        a delivery. Returns one ``Delivery`` per channel, as ``report.notify()`` does."""
        from processes.report.delivery import notify_finding

        return notify_finding(self, *channels, show_warnings=show_warnings)

    def masked(self, secrets: Iterable[str] = ()) -> Finding:
        """A copy whose texts show none of ``secrets`` nor a credential's shape (a URL's
        password in a process name), as reports are masked before channels see them."""
        forms: list[str] = []
        for secret in secrets:
            remember_secret(secret, forms)

        def clean(text: str | None) -> str | None:
            if text is None:
                return None
            return DEFAULT_REDACTOR.mask_shapes(mask(text, forms))

        return replace(
            self,
            process_name=clean(self.process_name) or "",
            run_id=clean(self.run_id),
            message=clean(self.message) or "",
            last_run_id=clean(self.last_run_id),
        )

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-native values (``--json``, the webhook's fields); names
        past ``MOST_NAME_CHARS`` and a message past ``MOST_MESSAGE_CHARS`` are cut."""
        return {
            "kind": self.kind.value,
            "process_name": _cut(self.process_name, MOST_NAME_CHARS),
            "run_id": _cut(self.run_id, MOST_NAME_CHARS),
            "since": self.since.isoformat(),
            "message": _cut(self.message, MOST_MESSAGE_CHARS),
            "last_run": None
            if self.last_run_id is None
            else {
                "run_id": _cut(self.last_run_id, MOST_NAME_CHARS),
                "started_at": self.last_started_at.isoformat() if self.last_started_at else None,
                "outcome": self.last_outcome,
                "elapsed_seconds": self.last_seconds,
            },
            "usual_seconds": self.usual_seconds,
            "limit_seconds": self.limit_seconds,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
        }
