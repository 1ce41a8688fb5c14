"""Which results a history keeps, and how: as the JSON the stored report holds already,
pickled (``store_results=True``, size-capped), or not kept, with the reason; and restoring
them for a resumed run. Imports the report, redaction and the package's errors only.
"""

from __future__ import annotations

import json
import math
import pickle
from typing import TYPE_CHECKING, Any

from processes.history.errors import cause
from processes.outcome import TaskStatus
from processes.redaction import REDACTED
from processes.report import LONGEST_JSON_INT_BITS, MAX_JSON_DEPTH, jsonable

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from processes.report import TaskReportEntry

_RESULT_JSON = "json"  # the value is the entry's result in the stored report
_RESULT_PICKLE = "pickle"
_RESULT_NONE = "none"  # not kept; ``reason`` says why
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
_ALWAYS_EXACT_IN_JSON = frozenset({str, bool, type(None)})  # an int or float may not be
_NOT_JSON = "not JSON-native: create RunHistory(..., store_results=True) to keep it"
_HIDDEN = "hidden as a secret"
_UNCHECKED = "too big to check for secrets (the report shows it cut), so not kept"
_NOT_HANDED = "its result was not handed to the history"
_NOT_UNPICKLED = (
    "it was pickled, and results are unpickled only from a history opened with"
    " RunHistory(..., store_results=True): open it so if you trust the file"
)


def results_to_keep(
    entries: list[TaskReportEntry],
    results: Sequence[Any] | None,
    *,
    store_results: bool,
    max_result_bytes: int,
) -> list[tuple[str, str, bytes | None, str]]:
    """The results rows: a pickle or a reason per SUCCEEDED task whose result is not
    the JSON-native value its entry already holds in the stored report."""
    rows: list[tuple[str, str, bytes | None, str]] = []
    success = TaskStatus.SUCCESS
    if results is None:
        for entry in entries:
            if entry.status is not success:
                continue
            if not is_json_native(entry.result):
                rows.append((entry.name, _RESULT_NONE, None, _NOT_HANDED))
            elif _shows_redacted(entry.result):
                rows.append((entry.name, _RESULT_NONE, None, _HIDDEN))
        return rows
    count, exact = len(results), _ALWAYS_EXACT_IN_JSON
    # The common case first, in one pass (a predicate called per task would cost more
    # than its checks): a SUCCEEDED task needs no row when its entry holds the result
    # itself and JSON keeps it exactly. The others, and a result missing from the
    # end of ``results``, are looked at one by one.
    others = [
        position
        for position, entry in enumerate(entries)
        if entry.status is success
        and not (
            position < count
            and (value := results[position]) is entry.result
            and (
                (kind := type(value)) in exact
                or (kind is int and value.bit_length() <= LONGEST_JSON_INT_BITS)
            )
        )
    ]
    for position in others:
        entry = entries[position]
        shown = entry.result
        value = results[position] if position < count else None
        if shown is not value:  # the report shows a scrubbed copy: never kept in clear
            reason = _HIDDEN if _shows_redacted(shown) else _UNCHECKED
            rows.append((entry.name, _RESULT_NONE, None, reason))
        elif is_json_native(value):
            continue
        elif not store_results:
            rows.append((entry.name, _RESULT_NONE, None, _NOT_JSON))
        else:
            rows.append((entry.name, *_pickled(value, max_result_bytes)))
    return rows


def _pickled(value: Any, max_result_bytes: int) -> tuple[str, bytes | None, str]:
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        return _RESULT_NONE, None, f"cannot be pickled: {cause(exc)}"
    if len(data) > max_result_bytes:
        size, cap = _size(len(data)), _size(max_result_bytes)
        return _RESULT_NONE, None, f"pickled result is {size}, over the {cap} cap"
    return _RESULT_PICKLE, data, ""


def _is_json_scalar(value: Any) -> bool:
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is int:
        return value.bit_length() <= LONGEST_JSON_INT_BITS
    return True


def is_json_native(value: Any, _depth: int = 0) -> bool:
    """True when ``value`` comes back from JSON as it is: exactly str, int, float, bool,
    None, and lists and str-keyed dicts of those (a tuple would come back a list)."""
    kind = type(value)
    if kind in _JSON_SCALARS:
        return _is_json_scalar(value)
    if _depth >= MAX_JSON_DEPTH:  # the report writes deeper containers as their repr
        return False
    if kind is list:
        return all(is_json_native(item, _depth + 1) for item in value)
    if kind is dict:
        return all(
            type(key) is str and is_json_native(item, _depth + 1) for key, item in value.items()
        )
    return False


def _shows_redacted(value: Any) -> bool:
    return REDACTED in json.dumps(jsonable(value))


def _size(count: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if count >= scale:
            text = f"{count / scale:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    return f"{count} bytes"


def restored(
    shown: Iterable[tuple[str, str, Any]],
    kept: Mapping[str, tuple[str, Any, str]],
    *,
    unpickle: bool,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The results of the SUCCEEDED tasks that can be restored, by task name, and for the
    others why not: ``shown`` is each entry's name, status value and result in the stored
    report, ``kept`` the ``results`` rows' kind, value and reason by name. Pickled results
    are unpickled here only with ``unpickle`` (a history opened with
    ``store_results=True``: a file you trust); whatever the rows hold otherwise, never."""
    values: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    for name, status, result in shown:
        if status != TaskStatus.SUCCESS.value:
            continue
        kind, value, reason = kept.get(name, (_RESULT_JSON, None, ""))
        if kind == _RESULT_JSON:
            values[name] = result
        elif kind == _RESULT_PICKLE and not unpickle:
            reasons[name] = _NOT_UNPICKLED
        elif kind == _RESULT_PICKLE:
            try:
                values[name] = pickle.loads(value)  # trusted files only (documented)
            except Exception as exc:
                reasons[name] = f"cannot be unpickled: {cause(exc)}"
        else:
            reasons[name] = reason or "not kept"
    return values, reasons
