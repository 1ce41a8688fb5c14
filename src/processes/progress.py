"""A one-line live progress display on stderr, built on the run's events.

Draws only when the stream is a terminal, so logs and CI output stay clean. Imports
only ``events`` and ``outcome``.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

from processes.events import EventKind, TaskEvent
from processes.outcome import TaskStatus

if TYPE_CHECKING:
    from collections.abc import Callable

_REDRAW_EVERY_SECONDS = 0.1


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressLine:
    """Counts events and redraws ``done/total, running, failed, skipped, elapsed, left``."""

    def __init__(
        self,
        total: int,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.enabled = _is_terminal(self.stream)
        self.started = clock()
        self.done = self.running = self.failed = self.skipped = 0
        self._running: set[str] = set()  # by name: an attempt ends at most once
        self._last_draw = float("-inf")
        self._width = 0

    def __call__(self, event: TaskEvent) -> None:
        if event.kind is EventKind.STARTED:
            self._running.add(event.task_name)
        else:  # a retry waits without running; a finished task, however it ended, is done
            self._running.discard(event.task_name)
        self.running = len(self._running)
        if event.kind is EventKind.FINISHED:
            self.done += 1
            if event.status is TaskStatus.ERRORED:
                self.failed += 1
            elif event.status is TaskStatus.SKIPPED:
                self.skipped += 1
        now = self.clock()
        if self.enabled and (
            now - self._last_draw >= _REDRAW_EVERY_SECONDS or self.done == self.total
        ):
            self._last_draw = now
            self._draw(self.render(now))

    def render(self, now: float) -> str:
        elapsed = now - self.started
        line = (
            f"{self.done}/{self.total} done | {self.running} running | "
            f"{self.failed} failed | {self.skipped} skipped | {_clock(elapsed)} elapsed"
        )
        if 0 < self.done < self.total:
            left = elapsed / self.done * (self.total - self.done)
            line += f" | ~{_clock(left)} left"
        return line

    def _draw(self, line: str) -> None:
        padding = " " * max(self._width - len(line), 0)
        self._width = len(line)
        self.stream.write(f"\r{line}{padding}")
        self.stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line; a stream that broke meanwhile is left."""
        if self.enabled:
            try:
                self._draw(self.render(self.clock()))
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
