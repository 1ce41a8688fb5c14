"""What stops a task's code from outside: Ctrl-C, SIGTERM, the run's deadline, and the
``Guard`` that says where in the run's thread they may raise.

Plain exceptions and one small class, below ``attempt`` (which lets them through) and the
engine (whose signal handlers raise them, ``execution.signals``). Imports only ``errors``.
"""

from __future__ import annotations

from processes.errors import RunTerminated


class Terminating(BaseException):
    """SIGTERM arrived: raised in a task's code (or a wait) in the run's thread, past the
    task's own ``except Exception``; the run loop turns it into ``RunTerminated``."""


#: What stops a run, raised through the code of the task it cuts off: Ctrl-C, SIGTERM
#: on its way, and the RunTerminated of a run nested in a task.
HALTS = (KeyboardInterrupt, Terminating, RunTerminated)


class DeadlinePassed(BaseException):
    """The run's deadline passed: raised by the SIGALRM handler in a task's code in the
    run's thread, past the task's own ``except Exception``; the attempt ends ERRORED."""


class Guard:
    """Where a signal may raise in the run's thread: in a task's code, never in the run's
    own bookkeeping (recording a result, writing an entry, logging, telling listeners).

    The loop opens the guard (``enter``) just before a task's code runs in its thread and
    closes it (``is_open = False``) as soon as that code returns or raises. A handler
    calls ``halt``: open, it raises there and then; closed, it leaves the exception
    pending: the loop stops at its next step, and a task about to begin raises it in
    ``enter`` instead of starting.
    """

    __slots__ = ("is_open", "pending", "raised")

    def __init__(self) -> None:
        self.is_open = False
        self.pending: type[BaseException] | None = None
        # What was last raised into a task's code, even if the task swallowed it.
        self.raised: type[BaseException] | None = None

    def enter(self) -> None:
        self.is_open = True
        if self.pending is not None:
            self.raised = self.pending
            raise self.pending

    def halt(self, halt: type[BaseException]) -> None:
        if self.is_open:
            self.raised = halt
            raise halt
        if self.pending is None or self.pending is DeadlinePassed:  # a signal outranks it
            self.pending = halt
