"""``new_entry``: the run's fast way to build a ``TaskReportEntry``, kept in step with it."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from processes import TaskReportEntry
from processes.report import new_entry


def test_new_entry_takes_every_field_of_the_entry_in_order() -> None:
    fields = [f.name for f in dataclasses.fields(TaskReportEntry)]
    assert list(inspect.signature(new_entry).parameters) == fields


def test_new_entry_defaults_are_the_entrys() -> None:
    defaults = {
        f.name: f.default
        for f in dataclasses.fields(TaskReportEntry)
        if f.default is not dataclasses.MISSING
    }
    parameters = inspect.signature(new_entry).parameters
    assert {name: parameters[name].default for name in defaults} == defaults


def test_new_entry_builds_the_same_frozen_entry_as_the_dataclass() -> None:
    # A distinct value per field: a field stored under another's name would show.
    values = {f.name: f"value of {f.name}" for f in dataclasses.fields(TaskReportEntry)}
    built = new_entry(**values)  # type: ignore[arg-type]
    assert type(built) is TaskReportEntry
    assert built == TaskReportEntry(**values)  # type: ignore[arg-type]
    for name, value in values.items():
        assert getattr(built, name) == value
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.name = "changed"  # type: ignore[misc]
    assert dataclasses.replace(built, name="other").name == "other"
    assert pickle.loads(pickle.dumps(built)) == built
    assert repr(built) == repr(TaskReportEntry(**values))  # type: ignore[arg-type]
