"""The interface every channel implements; user-written channels subclass it too.

Imports ``processes.report`` only for type checking.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from processes.report import Finding, ProcessExecutionReport


class ReportChannel(abc.ABC):
    """A destination for a run's report: implement ``send_report`` and raise on failure.

    ``notify()`` calls ``send_report`` once per channel; with ``errors_only`` the channel
    restricts what it sends to the errored entries. Raising is how a channel says it
    failed: ``notify()`` turns that into a warning and a failed ``Delivery``.
    """

    @abc.abstractmethod
    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> None:
        """Deliver ``report``; raise if it could not be delivered."""

    def send_finding(self, finding: Finding) -> None:
        """Deliver a finding of the watch (§14, ``Finding.notify()``); raise if it could
        not be delivered. The built-in channels implement it; a user-written channel that
        should carry findings overrides it (``finding.message`` is one English sentence,
        ``finding.to_dict()`` every field)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not deliver findings: implement send_finding(finding)"
        )

    def secret_values(self) -> Sequence[str]:
        """Values this channel holds that no channel may show: a password, a URL's token.

        ``notify()`` masks them out of the report before any channel sees it, so a task
        that happened to hold one cannot leak it through another channel. Optional.
        """
        return ()
