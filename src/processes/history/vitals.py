"""Whether the process that recorded a run is still alive (SPEC §13).

On the same host: its pid runs, and it is the same process (its start time, read from
``/proc/<pid>/stat`` where Linux has it, is the one recorded; elsewhere only the pid and
the heartbeat are known). From another host: its heartbeat is recent. Imports nothing
from the package.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

HOST = socket.gethostname()  # read once: a run names the machine it ran on


def process_start(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return None
    # Field 2 is the command in parentheses, which may hold spaces and parentheses itself:
    # the fields after it are counted from its last ")". starttime is field 22.
    fields = text[text.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def own_start() -> int | None:
    """This process's start time, as ``process_start`` reads it."""
    return process_start(os.getpid())


def is_alive(pid: int) -> bool:
    """Whether a process of id ``pid`` exists on this host (whoever owns it)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    except OSError:
        return False
    return True


def has_died(
    host: str,
    pid: int | None,
    started: int | None,
    heartbeat_at: datetime | None,
    now: datetime,
    stale_seconds: float,
) -> bool:
    """Whether the process that recorded a run still in the file as running is gone.

    Its heartbeat is older than ``stale_seconds`` (the only sign from another host, and
    on this one the sign of a pid reused where the start time cannot be read); or, on this
    host, its pid is not alive, or belongs to a process started at another time.
    """
    stale = heartbeat_at is None or now - heartbeat_at > timedelta(seconds=stale_seconds)
    if host != HOST or pid is None:
        return stale
    if not is_alive(pid):
        return True
    if started is not None:
        running_since = process_start(pid)
        if running_since is not None:
            return running_since != started
    return stale
