"""A one-line live progress display on stderr, built on the run's events and a timer.

Draws only when the stream is a terminal, so logs and CI output stay clean. Imports
only ``events`` and ``outcome``.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from processes.events import EventKind, TaskEvent
from processes.outcome import TaskStatus

if TYPE_CHECKING:
    from collections.abc import Callable

_REDRAW_EVERY_SECONDS = 0.1
#: Between events, the line is redrawn this often, so that its clocks tick during a long
#: task. Tests shorten it.
TICK_SECONDS = 1.0
_JOIN_SECONDS = 1.0  # the end of a run waits at most this long for the timer's thread


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressLine:
    """Counts events and redraws ``done/total, running, failed, skipped, elapsed, left``,
    and how long the task running longest has run; ``start()`` redraws it every
    ``interval`` seconds too, until ``close()``."""

    def __init__(
        self,
        total: int,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval: float | None = None,
    ) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.interval = TICK_SECONDS if interval is None else interval
        self.enabled = _is_terminal(self.stream)
        self.started = clock()
        self.done = self.running = self.failed = self.skipped = 0
        # By name, in the order they started: an attempt ends at most once.
        self._running: dict[str, float] = {}
        self._last_draw = float("-inf")
        self._width = 0
        # The run's thread (events) and the timer's draw in turn.
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    def __call__(self, event: TaskEvent) -> None:
        with self._lock:
            now = self.clock()
            if event.kind is EventKind.STARTED:
                self._running[event.task_name] = now
            else:  # a retry waits without running; a finished task, however it ended, is done
                self._running.pop(event.task_name, None)
            self.running = len(self._running)
            if event.kind is EventKind.FINISHED:
                self.done += 1
                if event.status is TaskStatus.ERRORED:
                    self.failed += 1
                elif event.status is TaskStatus.SKIPPED:
                    self.skipped += 1
            if self.enabled and (
                now - self._last_draw >= _REDRAW_EVERY_SECONDS or self.done == self.total
            ):
                self._last_draw = now
                self._draw(self.render(now))

    def add_to_total(self, count: int) -> None:
        """``count`` more tasks to run: a mapped task's items, spawned (SPEC §15)."""
        with self._lock:
            self.total += count

    def render(self, now: float) -> str:
        elapsed = now - self.started
        line = (
            f"{self.done}/{self.total} done | {self.running} running | "
            f"{self.failed} failed | {self.skipped} skipped | {_clock(elapsed)} elapsed"
        )
        if 0 < self.done < self.total:
            left = elapsed / self.done * (self.total - self.done)
            line += f" | ~{_clock(left)} left"
        if self._running:
            longest, since = next(iter(self._running.items()))
            line += f" | {longest} {_clock(now - since)}"
        return line

    def _draw(self, line: str) -> None:
        padding = " " * max(self._width - len(line), 0)
        self._width = len(line)
        self.stream.write(f"\r{line}{padding}")
        self.stream.flush()

    def start(self) -> None:
        """Redraw every ``interval`` seconds in a daemon thread, until ``close()``."""
        if not self.enabled or self._timer is not None:
            return
        self._timer = threading.Thread(target=self._tick, name="processes-progress", daemon=True)
        self._timer.start()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                if self._stop.is_set():
                    return
                try:
                    now = self.clock()
                    self._last_draw = now
                    self._draw(self.render(now))
                except (OSError, ValueError):  # the stream broke: nothing more to draw
                    return

    def close(self) -> None:
        """Stop the timer, draw the final state and end the line; a stream that broke
        meanwhile is left."""
        self._stop.set()
        timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.join(_JOIN_SECONDS)
        # A timer stuck writing to a stalled terminal must not hold the run's end.
        if self.enabled and self._lock.acquire(timeout=_JOIN_SECONDS):
            try:
                self._draw(self.render(self.clock()))
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            finally:
                self._lock.release()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
