"""Run a graph of Python callables in dependency order, then report what happened, once."""

from processes.channels.base import ReportChannel
from processes.channels.file import FileChannel
from processes.content import ReportContent
from processes.errors import (
    CircularDependencyError,
    DependencyNotFoundError,
    ProcessesError,
    ProcessFailedError,
    TaskNotFoundError,
)
from processes.outcome import ErrorData, TaskResult, TaskStatus
from processes.process import Process
from processes.report import Delivery, ProcessExecutionReport, TaskReportEntry
from processes.task import Task, TaskDependency

__all__ = [
    "CircularDependencyError",
    "Delivery",
    "DependencyNotFoundError",
    "ErrorData",
    "FileChannel",
    "Process",
    "ProcessExecutionReport",
    "ProcessFailedError",
    "ProcessesError",
    "ReportChannel",
    "ReportContent",
    "Task",
    "TaskDependency",
    "TaskNotFoundError",
    "TaskReportEntry",
    "TaskResult",
    "TaskStatus",
]
