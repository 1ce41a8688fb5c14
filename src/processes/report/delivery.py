"""Handing a report to channels: ``notify()`` filters it once, masks the channels' own
secrets out of it, calls each channel and catches per channel, returning ``Delivery``s;
``notify_finding()`` does the same for a finding of the watch (§14).

Imports ``errors``, ``outcome`` and ``redaction``; the model only for type checking (its
``notify()`` calls this module). Channels import the model, never this module.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from processes.errors import TaskNotFoundError
from processes.outcome import TaskChange
from processes.redaction import channel_secrets

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from processes.report.finding import Finding
    from processes.report.model import ProcessExecutionReport

__all__ = ["Channel", "Delivery", "notify", "notify_finding"]


class Channel(Protocol):
    """What ``notify()`` needs of a channel (``ReportChannel`` is the one to subclass)."""

    def send_report(self, report: ProcessExecutionReport, *, errors_only: bool) -> Any: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one channel in ``notify()``: ``ok`` or the ``error`` it raised.

    ``sent`` is False when there was nothing to send (``only_errors`` and no error, or
    ``only_changes`` and nothing new or recovered).
    """

    channel: Any
    ok: bool
    error: BaseException | None = None
    sent: bool = True


def notify(
    report: ProcessExecutionReport,
    *channels: Channel,
    only_errors: bool = False,
    tasks: Iterable[str] | str | None = None,
    show_warnings: bool = True,
    only_changes: bool = False,
) -> list[Delivery]:
    """Send ``report`` through each channel, in order; never raise for a delivery.

    ``ProcessExecutionReport.notify()`` documents the options; a channel that fails gives
    one ``UserWarning`` (``stacklevel`` points at the caller of the report's method).
    """
    for channel in channels:
        _check_channel(channel)
    if only_changes and not report.compared and not report.changes:
        warnings.warn(
            "notify(only_changes=True) on a report made without a history never sends: "
            "changes are worked out against the previous run recorded in one "
            "(process.run(history=RunHistory(path)))",
            UserWarning,
            stacklevel=3,
        )
    if tasks is not None:
        if isinstance(tasks, str):  # one name, not a set of one-letter names
            tasks = (tasks,)
        tasks = list(tasks)
        _check_names(report, tasks)
        report = report.only(tasks)
    if (only_errors and not report.errored) or (only_changes and not _has_alerting_change(report)):
        return [Delivery(channel, ok=True, sent=False) for channel in channels]
    if secrets := channel_secrets(channels):
        report = report.masked(secrets)
    return _deliver(
        channels,
        lambda channel: channel.send_report(report, errors_only=only_errors),
        "report",
        show_warnings=show_warnings,
    )


def notify_finding(finding: Finding, *channels: Any, show_warnings: bool = True) -> list[Delivery]:
    """Send a finding of the watch through each channel's ``send_finding``, in order;
    never raise for a delivery. Its texts are masked first, as a report's are: the
    channels' own secrets, and a credential's shape in a process name. A channel without
    ``send_finding`` (one written before the watch existed) is a failed ``Delivery``."""
    finding = finding.masked(channel_secrets(channels))

    def send(channel: Any) -> object:
        method = getattr(channel, "send_finding", None)
        if method is None:
            raise TypeError(f"{type(channel).__name__} has no send_finding(finding) method")
        return method(finding)

    return _deliver(channels, send, "finding", show_warnings=show_warnings)


def _deliver(
    channels: Sequence[Any],
    send: Callable[[Any], object],
    what: str,
    *,
    show_warnings: bool = True,
) -> list[Delivery]:
    deliveries = []
    for channel in channels:
        try:
            outcome = send(channel)
            if outcome is False:  # channels in the apprise style report by returning False
                raise RuntimeError("the channel reported that it could not deliver")
        except Exception as exc:
            deliveries.append(Delivery(channel, ok=False, error=exc))
        else:
            deliveries.append(Delivery(channel, ok=True))
    # Warned only once every channel had its turn: warnings turned into errors
    # (``-W error``) must not keep the later channels from delivering.
    for delivery in deliveries:
        if show_warnings and delivery.error is not None:
            warnings.warn(
                f"{type(delivery.channel).__name__} failed to deliver the {what}: "
                f"{type(delivery.error).__name__}: {delivery.error}",
                UserWarning,
                stacklevel=4,
            )
    return deliveries


def _has_alerting_change(report: ProcessExecutionReport) -> bool:
    """A new failure, a recovery, or an earlier run found dead (§12, §13)."""
    if report.crashes:
        return True
    return any(
        change is TaskChange.NEW_FAILURE or change is TaskChange.RECOVERED
        for name, change in report.changes.items()
        if name in report.entries  # a change of a task the report no longer holds is moot
    )


#: Configurations given where their channel was meant, and the channel that takes each.
_CHANNEL_OF_CONFIG = {"SMTPConfig": "EmailChannel", "WebhookConfig": "WebhookChannel"}


def _check_channel(channel: object) -> None:
    """Refuse at once what is not a channel, saying how to pass it."""
    if callable(getattr(channel, "send_report", None)):
        return
    kind = type(channel).__name__
    if isinstance(channel, list | tuple | set | frozenset):
        fix = "pass channels as separate arguments: notify(a, b), or notify(*channels)"
    elif kind in _CHANNEL_OF_CONFIG:
        fix = f"wrap the {kind} in {_CHANNEL_OF_CONFIG[kind]}(...)"
    elif isinstance(channel, str):
        fix = "wrap the address in its channel: SlackChannel(url), WebhookChannel(...), ..."
    else:
        fix = "pass channels such as EmailChannel(...) or WebhookChannel(...)"
    raise TypeError(
        f"notify() takes channels (objects with send_report(report, *, errors_only)), "
        f"got {kind}: {fix}"
    )


def _check_names(report: ProcessExecutionReport, names: list[str]) -> None:
    """Refuse a name the report does not hold: a typo must not send an all-clear."""
    held = {name.lower(): name for name in report.entries}
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"notify(tasks=...) takes task names (str), got {name!r}")
    missing = [name for name in names if name.lower() not in held]
    if not missing:
        return
    said = []
    for name in missing:
        near = difflib.get_close_matches(name.lower(), list(held), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(repr(held[n]) for n in near)}?)" if near else ""
        said.append(f"{name!r}{hint}")
    where = f" of {report.process_name!r}" if report.process_name else ""
    raise TaskNotFoundError(
        missing[0],
        f"notify(tasks=...): no task named {'; '.join(said)} in the report{where}",
    )
