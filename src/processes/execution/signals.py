"""The signal handlers a run installs while it runs: SIGTERM, Ctrl-C and SIGALRM.

``timeout``, cron wrappers, systemd, Docker and Kubernetes stop a script with SIGTERM;
without a handler Python dies at once, with no report and no alert. A sequential run
also handles Ctrl-C, so that it stops a task's code but never the run's bookkeeping
(``termination.Guard``), and enforces its deadline with SIGALRM where it can. Imports
nothing from the package: the drivers pass in what the handlers do.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType


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


class _CtrlC:
    """A run's own Ctrl-C handler; a run nested in a task installs its own over it."""

    __slots__ = ("on_sigint", "owner")

    def __init__(self, on_sigint: Callable[[int, FrameType | None], None]) -> None:
        self.on_sigint = on_sigint
        self.owner = os.getpid()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self.owner:  # a child forked during the run: as by default
            signal.default_int_handler(signum, frame)
        self.on_sigint(signum, frame)


@contextlib.contextmanager
def handling_ctrl_c(on_sigint: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """Call ``on_sigint`` on Ctrl-C (SIGINT) while the block runs, in place of Python's
    default handler, which raises ``KeyboardInterrupt`` wherever the main thread is.

    A handler of the caller's own is left alone, and so is every thread but the main
    thread; the previous handler is restored however the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler and not isinstance(previous, _CtrlC):
        yield
        return
    signal.signal(signal.SIGINT, _CtrlC(on_sigint))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def alarm_after(
    seconds: float, on_alarm: Callable[[int, FrameType | None], None]
) -> Iterator[bool]:
    """Call ``on_alarm`` when ``seconds`` have passed, if the block is still running;
    yield whether the alarm could be set.

    SIGALRM and ``signal.setitimer`` exist only on POSIX and serve only the main thread,
    and they are the script's if it gave SIGALRM a handler or has a timer running:
    then nothing is set. Otherwise the timer is stopped and SIGALRM's default handler
    restored however the block ends.
    """
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGALRM) is not signal.SIG_DFL
        or signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0)
    ):
        yield False
        return
    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def holding_signals() -> Iterator[list[int]]:
    """While the block runs, SIGTERM and Ctrl-C are held, not acted on: the list yielded
    receives their numbers, for the caller to act on once the block is done (a run's
    report being recorded is never cut in half). Main thread only, as any handler; a
    signal ignored (``SIG_IGN``) or handled outside Python stays so."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = {}
    for number in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(number)
        if handler is None or handler is signal.SIG_IGN:
            continue
        previous[number] = handler
        signal.signal(number, lambda signum, frame: held.append(signum))
    try:
        yield held
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
