"""The exceptions this library raises on purpose.

ProcessesError
 ├── CircularDependencyError (ValueError)
 ├── DependencyNotFoundError (KeyError)
 ├── TaskNotFoundError (KeyError)
 └── ProcessFailedError (RuntimeError)   raised by ``report.raise_for_errors()``

RunTerminated (SystemExit) is not a ProcessesError: like the default SIGTERM it ends the
script (status 143) unless caught, and ``except Exception`` must not swallow it.

TaskTraceback (Exception) is not raised on its own: it is the cause chained to a
ProcessFailedError in place of a task's exception whose text held a secret.

Imports nothing from the package: every other module may import it.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from processes.report import ProcessExecutionReport  # for the type only: no cycle


class ProcessesError(Exception):
    """Base of every error this library raises on purpose."""


class CircularDependencyError(ProcessesError, ValueError):
    """The tasks' dependencies form a cycle; ``.cycle`` holds one, closed (a -> b -> a)."""

    def __init__(self, message: str, cycle: Sequence[str] = ()) -> None:
        self.cycle = tuple(cycle)
        super().__init__(message)

    @classmethod
    def from_cycle(cls, cycle: Sequence[str]) -> CircularDependencyError:
        """Build the error whose message names ``cycle``, given closed (a, b, a)."""
        return cls(f"Circular dependency detected. {' -> '.join(cycle)}", cycle)


class DependencyNotFoundError(ProcessesError, KeyError):
    """A task depends on a name that is not in the process."""

    def __init__(self, task_name: str, missing_dep: str) -> None:
        self.task_name = task_name
        self.missing_dep = missing_dep
        super().__init__(
            f"Task {task_name!r} depends on {missing_dep!r}, which is not in the process. "
            "Add that task, or fix the name in its TaskDependency."
        )

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class TaskNotFoundError(ProcessesError, KeyError):
    """No task of that name is in the process."""

    def __init__(self, task_name: str, message: str = "") -> None:
        self.task_name = task_name
        super().__init__(message or f"No task named {task_name!r} in the process.")

    def __str__(self) -> str:
        return str(self.args[0])


class TaskTraceback(Exception):
    """A task's traceback as captured, standing in for an exception that held a secret."""

    def __str__(self) -> str:
        return f"\n{self.args[0].rstrip()}" if self.args else ""


class ProcessFailedError(ProcessesError, RuntimeError):
    """Some tasks of a run errored; ``.failed`` names them and ``.report`` holds the run."""

    def __init__(self, message: str, failed: Sequence[str], report: object) -> None:
        self.failed = tuple(failed)
        self.report = report
        super().__init__(message)


class RunTerminated(SystemExit):
    """A run stopped by SIGTERM; ``.report`` holds what it did, ``.signal`` the signal.

    ``code`` is 143 (128 + SIGTERM), the exit status of a script that dies of the
    default SIGTERM, so an uncaught one ends the script as the signal would have. Catch
    it to deliver the alert first, then re-raise::

        except RunTerminated as stop:
            stop.report.notify(channel)
            raise
    """

    def __init__(self, report: ProcessExecutionReport, signal_number: int = signal.SIGTERM) -> None:
        super().__init__(128 + signal_number)
        self.report = report
        self.signal = signal.Signals(signal_number)

    def __reduce__(self) -> tuple[type[RunTerminated], tuple[object, int]]:
        return type(self), (self.report, self.signal.value)

    def __str__(self) -> str:
        return f"the run was stopped by {self.signal.name} (exit status {self.code})"
