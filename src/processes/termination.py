"""SIGTERM during a run: a handler of the run's own, installed only while it runs.

``timeout``, cron wrappers, systemd, Docker and Kubernetes stop a script with SIGTERM;
without a handler Python dies at once, with no report and no alert. Imports only
``errors``: the run loop (``execution``) passes in what the handler does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import TYPE_CHECKING

from processes.errors import RunTerminated

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType


class Terminating(BaseException):
    """SIGTERM arrived: raised in a task's code (or a wait) in the run's thread, past the
    task's own ``except Exception``; the run loop turns it into ``RunTerminated``."""


#: What stops a run, raised through the code of the task it cuts off: Ctrl-C, SIGTERM
#: on its way, and the RunTerminated of a run nested in a task.
HALTS = (KeyboardInterrupt, Terminating, RunTerminated)


@contextlib.contextmanager
def handling_sigterm(on_sigterm: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """Call ``on_sigterm`` on SIGTERM while the block runs; restore the previous handler
    however the block ends.

    Only the main thread can own a signal handler: elsewhere nothing is installed. A
    SIGTERM that was ignored (``SIG_IGN``) stays ignored, and one handled outside Python
    (``getsignal`` gives None) is left alone: neither could be put back as it was.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is None or previous is signal.SIG_IGN:
        yield
        return
    owner = os.getpid()

    def handler(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:
            # A child forked during the run (a process pool's worker) inherits the
            # handler: there SIGTERM must end the process as it would have.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        on_sigterm(signum, frame)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
