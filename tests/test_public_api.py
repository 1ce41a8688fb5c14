"""``processes.__all__`` is exactly the public surface, and every name in it imports."""

from __future__ import annotations

import importlib
import types

import processes

# The names SPEC §1-§6 promises; other sections add their own.
CORE_NAMES = {
    "CircularDependencyError",
    "DependencyNotFoundError",
    "ErrorData",
    "Process",
    "ProcessExecutionReport",
    "ReportChannel",
    "ReportContent",
    "Task",
    "TaskDependency",
    "TaskNotFoundError",
    "TaskReportEntry",
    "TaskResult",
    "TaskStatus",
}


def public_names() -> set[str]:
    return {
        name
        for name in dir(processes)
        if not name.startswith("_") and not isinstance(getattr(processes, name), types.ModuleType)
    }


def test_all_matches_the_public_names() -> None:
    assert set(processes.__all__) == public_names()


def test_all_has_no_duplicates() -> None:
    assert len(processes.__all__) == len(set(processes.__all__))


def test_all_holds_the_core_names() -> None:
    assert set(processes.__all__) >= CORE_NAMES


def test_every_name_in_all_is_importable() -> None:
    module = importlib.import_module("processes")
    namespace: dict[str, object] = {}
    exec("from processes import *", namespace)
    for name in processes.__all__:
        assert getattr(module, name) is namespace[name]
        assert getattr(module, name) is not None


def test_public_classes_say_they_come_from_the_package() -> None:
    for name in processes.__all__:
        value = getattr(processes, name)
        if isinstance(value, type):
            assert value.__module__.startswith("processes"), name


def test_delivery_errors_are_public_and_processes_errors() -> None:
    # Delivery.error holds them, so callers must be able to name them in an except.
    for name in ("EmailDeliveryError", "WebhookDeliveryError"):
        assert name in processes.__all__
        assert issubclass(getattr(processes, name), processes.ProcessesError)


def test_run_terminated_is_public_and_ends_a_script_as_sigterm_does() -> None:
    # SPEC §11: a SystemExit (never swallowed by ``except Exception``) with code 143.
    assert "RunTerminated" in processes.__all__
    assert issubclass(processes.RunTerminated, SystemExit)
    assert not issubclass(processes.RunTerminated, Exception)
    report = processes.ProcessExecutionReport(process_name="nightly")
    stop = processes.RunTerminated(report)
    assert stop.code == 143
    assert stop.report is report
    assert stop.signal.name == "SIGTERM"
