"""Every error of the library, under the module path v7 code imports them from.

``from processes.exceptions import CircularDependencyError`` works as it did in v7. The
errors are defined where they belong (``errors``, and each channel's own module); this
module only gathers them, so nothing inside the package imports it.
"""

from processes.channels.email import EmailDeliveryError
from processes.channels.webhook import WebhookDeliveryError
from processes.errors import (
    CircularDependencyError,
    DependencyNotFoundError,
    ProcessesError,
    ProcessFailedError,
    RunTerminated,
    TaskNotFoundError,
    TaskTraceback,
)
from processes.history import RunHistoryError

__all__ = [
    "CircularDependencyError",
    "DependencyNotFoundError",
    "EmailDeliveryError",
    "ProcessFailedError",
    "ProcessesError",
    "RunHistoryError",
    "RunTerminated",
    "TaskNotFoundError",
    "TaskTraceback",
    "WebhookDeliveryError",
]
