"""A task's fingerprint (SPEC §12: a task whose function or own arguments changed runs
again): what changes it, and that a whole process's are taken as each task's would be."""

from __future__ import annotations

import functools

from processes import Task
from processes.fingerprint import fingerprint, fingerprints, what_changed
from processes.task import fingerprinted_parts


def load(path: str = "a.csv") -> str:
    return path


def other(path: str = "a.csv") -> str:
    return path.upper()


def test_the_function_and_its_own_arguments_make_the_fingerprint() -> None:
    plain = fingerprint(load, (), {})
    assert fingerprint(load, (), {}) == plain
    assert fingerprint(other, (), {}) != plain
    assert what_changed(plain, fingerprint(other, (), {})) == "its function"
    assert what_changed(plain, fingerprint(load, ("b.csv",), {})) == "its arguments"
    assert fingerprint(load, (), {"path": "b"}) != fingerprint(load, (), {"path": "c"})
    bound = functools.partial(load, "b.csv")
    assert what_changed(fingerprint(bound, (), {}), plain) == "its function"


def test_a_process_s_fingerprints_are_each_task_s_own() -> None:
    """Tasks sharing a function without arguments share one, taken once; the others
    are taken each."""
    tasks = [
        Task("a", load),
        Task("b", load),
        Task("c", load, args=("c.csv",)),
        Task("d", other),
        Task("e", load, kwargs={"path": "e.csv"}),
        Task("f", load),
    ]
    printed = fingerprints(map(fingerprinted_parts, tasks))
    assert printed == [fingerprint(t.func, t.args, t.kwargs) for t in tasks]
    assert printed[0] is printed[1] is printed[5]  # one string for the shared ones
    assert len(set(printed)) == 4
