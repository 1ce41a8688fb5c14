"""Task functions for the executor tests: module-level, so other processes can import them."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def numbers(count: int) -> list[int]:
    return list(range(count))


def square_all(values: list[int]) -> list[int]:
    return [value * value for value in values]


def total(*parts: int | list[int]) -> int:
    return sum(sum(part) if isinstance(part, list) else part for part in parts)


def square_sum(start: int, stop: int) -> int:
    return sum(value * value for value in range(start, stop))


def label(value: int, *, prefix: str) -> str:
    return f"{prefix}{value}"


def worker_pid() -> int:
    return os.getpid()


def fail_with_locals(order_id: int) -> None:
    api_token = "tok-do-not-leak-4242"
    rows_seen = [order_id, order_id + 1]
    raise ValueError(f"order {order_id} is malformed ({len(rows_seen)} rows, {len(api_token)})")


def flaky(counter_path: str, failures: int) -> int:
    """Fail with ConnectionError on the first ``failures`` calls; count calls in a file."""
    path = Path(counter_path)
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    if calls <= failures:
        raise ConnectionError(f"call {calls} refused")
    return calls


def unpicklable_result() -> threading.Lock:
    return threading.Lock()


# -- fan-out (SPEC §15): one call per item -------------------------------------------------


def daily_files(count: int) -> list[str]:
    return [f"2026-12-{day:02d}.csv" for day in range(1, count + 1)]


def load_file(name: str, prefix: str) -> str:
    """Load one file: those whose name holds "bad" are malformed."""
    if "bad" in name:
        raise ValueError(f"{name} is malformed")
    return f"{prefix}{name}:{os.getpid()}"


def flaky_item(name: str, counter_dir: str) -> str:
    """Fail once per item with ConnectionError (counted in a file per item), then succeed."""
    path = Path(counter_dir) / name
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    if calls == 1:
        raise ConnectionError(f"{name}: call {calls} refused")
    return f"{name}:{calls}"


#: Set by the tests once done: an item that hangs waits on it.
RELEASE = threading.Event()


def hang_on(name: str) -> str:
    """Hang (until ``RELEASE``) for an item whose name starts with "hang"."""
    if name.startswith("hang"):
        RELEASE.wait(30)
    return name


def count_loaded(loaded: dict[str, str]) -> int:
    return len(loaded)


def credentials(user: str) -> dict[str, str]:
    return {"user": user, "password": f"pw-{user}-7f3a"}


#: Set by the item of ``mark_done`` for "a": ``wait_for_a`` waits on it for "slow".
A_TRANSFORMED = threading.Event()


def wait_for_a(name: str) -> str:
    """The item "slow" waits (at most 10 s) until "a" went one step further."""
    if name == "slow":
        return f"{name}:{A_TRANSFORMED.wait(10)}"
    return name


def mark_done(value: str) -> str:
    if value == "a":
        A_TRANSFORMED.set()
    return value + "!"


def load_file_or_wait(name: str) -> str:
    if "bad" in name:
        raise ValueError(f"{name} is malformed")
    return wait_for_a(name)


def flaky_or_bad(name: str, counter_dir: str) -> str:
    """Count each call in a file per item; a "bad" item always fails, the others fail once."""
    path = Path(counter_dir) / name
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    if "bad" in name:
        raise ValueError(f"{name} is malformed (call {calls})")
    if calls == 1:
        raise ConnectionError(f"{name}: call {calls} refused")
    return f"{name}:{calls}:{os.getpid()}"
