"""Run a graph of Python callables in dependency order, then report what happened, once.

The public surface: re-exports and ``__all__`` only. May import any module of the package;
none of them imports this one.
"""

from processes.channels.base import ReportChannel
from processes.channels.chat import DiscordChannel, SlackChannel, TeamsChannel
from processes.channels.email import EmailChannel, EmailDeliveryError, HTMLEmailStyle, SMTPConfig
from processes.channels.file import FileChannel
from processes.channels.webhook import WebhookChannel, WebhookConfig, WebhookDeliveryError
from processes.content import ReportContent
from processes.errors import (
    CircularDependencyError,
    DependencyNotFoundError,
    ProcessesError,
    ProcessFailedError,
    RunTerminated,
    TaskNotFoundError,
)
from processes.events import EventKind, TaskEvent
from processes.history import (
    Expectation,
    Finding,
    FindingKind,
    RunHistory,
    RunHistoryError,
    RunSummary,
    TaskStats,
)
from processes.outcome import (
    ErrorData,
    FailureStreak,
    SkipReason,
    StopReason,
    TaskChange,
    TaskResult,
    TaskStatus,
)
from processes.process import Process
from processes.report import Delivery, ProcessExecutionReport, TaskReportEntry
from processes.signing import verify
from processes.task import Task, TaskDependency

__all__ = [
    "CircularDependencyError",
    "Delivery",
    "DependencyNotFoundError",
    "DiscordChannel",
    "EmailChannel",
    "EmailDeliveryError",
    "ErrorData",
    "EventKind",
    "Expectation",
    "FailureStreak",
    "FileChannel",
    "Finding",
    "FindingKind",
    "HTMLEmailStyle",
    "Process",
    "ProcessExecutionReport",
    "ProcessFailedError",
    "ProcessesError",
    "ReportChannel",
    "ReportContent",
    "RunHistory",
    "RunHistoryError",
    "RunSummary",
    "RunTerminated",
    "SMTPConfig",
    "SkipReason",
    "SlackChannel",
    "StopReason",
    "Task",
    "TaskChange",
    "TaskDependency",
    "TaskEvent",
    "TaskNotFoundError",
    "TaskReportEntry",
    "TaskResult",
    "TaskStats",
    "TaskStatus",
    "TeamsChannel",
    "WebhookChannel",
    "WebhookConfig",
    "WebhookDeliveryError",
    "verify",
]
