"""A task's fingerprint: its function and its own arguments, each in a short digest.

A history keeps the fingerprints of a run's tasks, never the values themselves, so that a
run resuming it reuses a task only when neither changed (SPEC §12). Imports nothing from
the package.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from types import CodeType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    #: A task's function and its own arguments: what its fingerprint is taken of.
    Parts = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]

_DIGEST_BYTES = 8  # 16 hex digits: a collision between two versions of one task is moot


def fingerprint(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``"<function digest>:<arguments digest>"`` for a task's function and own arguments."""
    return f"{function_digest(func)}:{arguments_digest(args, kwargs)}"


def fingerprints(tasks: Iterable[Parts]) -> list[str]:
    """Each task's ``fingerprint``, given its ``Parts``. Tasks of one function without
    arguments of their own (most tasks of a big process) share theirs, taken once: a
    run with a history takes them all at its start."""
    shared: dict[int, str] = {}  # by id(func): the caller keeps each function alive
    printed = []
    for func, args, kwargs in tasks:
        if args or kwargs:
            printed.append(fingerprint(func, args, kwargs))
            continue
        one = shared.get(id(func))
        if one is None:
            one = shared[id(func)] = fingerprint(func, args, kwargs)
        printed.append(one)
    return printed


def what_changed(before: str, now: str) -> str:
    """In words, what differs between two fingerprints ("" when nothing does)."""
    function_before, _, arguments_before = before.partition(":")
    function_now, _, arguments_now = now.partition(":")
    changed = []
    if function_before != function_now:
        changed.append("its function")
    if arguments_before != arguments_now:
        changed.append("its arguments")
    return " and ".join(changed)


def arguments_digest(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    if not args and not kwargs:
        return _NO_ARGUMENTS
    try:
        data = pickle.dumps((args, sorted(kwargs.items())), protocol=4)
    except Exception:  # not picklable: its repr stands in, as the report shows it
        data = _text((args, sorted(kwargs.items(), key=lambda item: item[0])))
    return _digest(data)


@functools.lru_cache(maxsize=4096)
def _function_digest(func: Callable[..., Any]) -> str:
    return _digest(_function_identity(func))


def function_digest(func: Callable[..., Any]) -> str:
    """The function's name, module and code (its body, constants and defaults), digested:
    the same function edited between two runs has another digest."""
    try:
        return _function_digest(func)
    except TypeError:  # unhashable callable: not cached
        return _digest(_function_identity(func))


def _function_identity(func: Callable[..., Any]) -> bytes:
    while isinstance(func, functools.partial):
        inner = func.func
        bound = arguments_digest(tuple(func.args), dict(func.keywords))
        return _function_identity(inner) + b"|partial:" + bound.encode()
    target = getattr(func, "__func__", func)  # a bound method: its function
    code = getattr(target, "__code__", None)
    if code is None:  # a callable object: its class's __call__
        code = getattr(type(target).__call__, "__code__", None)
    qualname = getattr(target, "__qualname__", type(target).__qualname__)
    name = f"{getattr(target, '__module__', '')}.{qualname}".encode()
    if code is None:
        return name
    defaults = _text(getattr(target, "__defaults__", None))
    return b"|".join((name, _code_bytes(code), defaults))


def _code_bytes(code: CodeType) -> bytes:
    """A code object's instructions and constants; nested code (a lambda, a comprehension)
    by its own, never by its repr, which holds its address in this process."""
    parts = [code.co_code]
    parts.extend(
        _code_bytes(const) if isinstance(const, CodeType) else _text(const)
        for const in code.co_consts
    )
    return b"|".join(parts)


def _text(value: object) -> bytes:
    """``repr(value)``, or its type where that raises (a huge int, a broken ``__repr__``)."""
    try:
        return repr(value).encode(errors="replace")
    except Exception:
        return f"<{type(value).__qualname__}>".encode()


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=_DIGEST_BYTES).hexdigest()


_NO_ARGUMENTS = _digest(b"()")
