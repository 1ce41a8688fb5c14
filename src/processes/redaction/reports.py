"""A finished report masked by secret values: the channels' own, before any channel sees
it (``channel_secrets``, ``masked_report``).

Imports ``redaction.masking`` and ``saferepr``; the report only for type checking (the
report's ``masked()`` and ``notify()`` call this module).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from processes.redaction.masking import mask, remember_secret
from processes.saferepr import LONGEST_JSON_INT_BITS, MAX_JSON_DEPTH, safe_repr

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from processes.report.model import ProcessExecutionReport, TaskReportEntry

__all__ = ["channel_secrets", "masked_report"]


def masked_report(report: ProcessExecutionReport, secrets: Iterable[str]) -> ProcessExecutionReport:
    """Return ``report`` with every text showing one of ``secrets`` showing ``[redacted]``.

    ``ProcessExecutionReport.masked()`` says what is masked; ``report`` itself comes back
    when ``secrets`` holds none long enough to mask.
    """
    forms: list[str] = []
    for secret in secrets:
        remember_secret(secret, forms)
    if not forms:
        return report
    entries = {name: _masked_entry(entry, forms) for name, entry in report.entries.items()}
    return replace(report, entries=entries)


def channel_secrets(channels: Iterable[object]) -> list[str]:
    """The values the channels' ``secret_values()`` name; a channel whose call raises gives none."""
    secrets: list[str] = []
    for channel in channels:
        values = getattr(channel, "secret_values", None)
        if values is None:
            continue
        try:
            secrets.extend(value for value in values() if isinstance(value, str))
        except Exception:  # a user's channel must not break the others' delivery
            continue
    return secrets


def _masked_value(value: Any, forms: list[str], _seen: frozenset[int] = frozenset()) -> Any:
    """``value`` itself, or a copy with every secret masked when it shows one.

    Strings are masked; lists, tuples, dicts (keys and values) and sets are walked and
    rebuilt only when something inside changed, so no secret hides past the cut of a
    ``repr``. Any other object, a cycle, or a container nested deeper than
    ``MAX_JSON_DEPTH`` is written as its cut ``safe_repr``: that text is checked
    instead, and replaced by its masked form when it shows a secret.
    """
    if isinstance(value, str):
        text = mask(value, forms)
        return value if text == value else text
    if isinstance(value, int) and not isinstance(value, bool):
        # to_json() writes an int's digits whole, past the cut of a repr.
        text = str(value) if value.bit_length() <= LONGEST_JSON_INT_BITS else safe_repr(value)
        masked_digits = mask(text, forms)
        return value if masked_digits == text else masked_digits
    if value is None or isinstance(value, bool | float):
        return value
    if id(value) not in _seen and len(_seen) < MAX_JSON_DEPTH:
        try:
            walked = _masked_container(value, forms, _seen | {id(value)})
        except Exception:  # a container whose iteration or hashing raises: check its repr
            walked = _NOT_A_CONTAINER
        if walked is not _NOT_A_CONTAINER:
            return walked
    text = safe_repr(value)
    masked_text = mask(text, forms)
    return value if masked_text == text else masked_text


_NOT_A_CONTAINER: Any = object()


def _masked_container(value: Any, forms: list[str], seen: frozenset[int]) -> Any:
    """A list, tuple, dict or set walked by ``_masked_value``; ``_NOT_A_CONTAINER`` else."""
    if isinstance(value, list | tuple):
        items = list(value)
        masked = [_masked_value(item, forms, seen) for item in items]
        if all(new is old for new, old in zip(masked, items, strict=True)):
            return value
        return tuple(masked) if isinstance(value, tuple) else masked
    if isinstance(value, dict):
        pairs = list(value.items())
        new_pairs = [
            (_masked_value(key, forms, seen), _masked_value(item, forms, seen))
            for key, item in pairs
        ]
        if all(
            new_key is key and new_item is item
            for (new_key, new_item), (key, item) in zip(new_pairs, pairs, strict=True)
        ):
            return value
        return dict(new_pairs)
    if isinstance(value, set | frozenset):
        members = list(value)
        masked = [_masked_value(item, forms, seen) for item in members]
        if all(new is old for new, old in zip(masked, members, strict=True)):
            return value
        return frozenset(masked) if isinstance(value, frozenset) else set(masked)
    return _NOT_A_CONTAINER


def _masked_values(values: Collection[Any], forms: list[str]) -> tuple[list[Any], bool]:
    masked = [_masked_value(value, forms) for value in values]
    return masked, any(new is not old for new, old in zip(masked, values, strict=True))


def _masked_entry(entry: TaskReportEntry, forms: list[str]) -> TaskReportEntry:
    """The entry with secrets masked; the very same entry when it shows none.

    User values are compared by identity only: their ``==`` may raise or be costly.
    """
    changes: dict[str, Any] = {}
    args, changed = _masked_values(entry.args, forms)
    if changed:
        changes["args"] = tuple(args)
    kwarg_values, changed = _masked_values(entry.kwargs.values(), forms)
    if changed:
        changes["kwargs"] = dict(zip(entry.kwargs, kwarg_values, strict=True))
    result = _masked_value(entry.result, forms)
    if result is not entry.result:
        changes["result"] = result
    attempt_errors = tuple(mask(text, forms) for text in entry.attempt_errors)
    if attempt_errors != entry.attempt_errors:
        changes["attempt_errors"] = attempt_errors
    error = entry.error
    if error is not None:  # few entries have one: always rebuilt
        changes["error"] = replace(
            error,
            args=tuple(_masked_values(error.args, forms)[0]),
            kwargs=dict(
                zip(error.kwargs, _masked_values(error.kwargs.values(), forms)[0], strict=True)
            ),
            exception=mask(error.exception, forms),
            traceback_str=mask(error.traceback_str, forms),
            traced_vars={name: mask(text, forms) for name, text in error.traced_vars.items()},
        )
    return replace(entry, **changes) if changes else entry
