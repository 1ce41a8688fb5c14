"""Task functions for the resume tests on other executors: module-level, so that worker
processes can import them. Each call leaves a file, so the tests count calls across
processes."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def _called(calls_dir: str, name: str) -> None:
    Path(calls_dir, f"{name}.{os.getpid()}.{uuid.uuid4().hex}").touch()


def calls_of(calls_dir: str | os.PathLike[str], name: str) -> int:
    return len(list(Path(calls_dir).glob(f"{name}.*")))


def source(calls_dir: str, count: int) -> list[int]:
    _called(calls_dir, "source")
    return list(range(count))


def square_all(calls_dir: str, values: list[int]) -> list[int]:
    _called(calls_dir, "square_all")
    return [value * value for value in values]


def total_unless_broken(calls_dir: str, broken_flag: str, values: list[int]) -> int:
    _called(calls_dir, "total")
    if Path(broken_flag).exists():
        raise ValueError("the total is broken until the flag file is removed")
    return sum(values)


def worker_pid(calls_dir: str) -> int:
    _called(calls_dir, "worker_pid")
    return os.getpid()
