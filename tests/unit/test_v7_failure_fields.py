"""SPEC §10: a failure's fields as v7 code reads them (the message alone in ``exception``,
``downstream_impact`` a list), while every view shows the class and the message."""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import TYPE_CHECKING, Any

import pytest
from tests.cli_runner import run_cli

from processes import (
    Process,
    ProcessExecutionReport,
    ReportContent,
    RunHistory,
    SMTPConfig,
    Task,
    TaskDependency,
)
from processes.channels.email import build_message
from processes.rendering.chat import render_discord, render_slack, render_teams
from processes.rendering.email_html import render_email_html
from processes.rendering.webhook import render_webhook_payload

if TYPE_CHECKING:
    from pathlib import Path

    from processes.outcome import ErrorData


def apply_changes() -> None:
    raise ValueError("apply failed")


def fail_silently() -> None:
    raise ValueError


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def context(self) -> dict[str, Any]:
        (record,) = [r for r in self.records if r.levelno == logging.ERROR]
        context: dict[str, Any] = record.task_context  # type: ignore[attr-defined]
        return context


def failed_run(func: Any = apply_changes) -> tuple[ProcessExecutionReport, Records]:
    records = Records()
    apply = Task("apply", func)
    apply.logger.addHandler(records)
    tasks = [
        apply,
        Task("notify_team", print, dependencies=[TaskDependency("apply")]),
        Task("archive", print, dependencies=[TaskDependency("notify_team")]),
    ]
    with Process(tasks, name="deploy") as process:
        return process.run(parallel=False), records


def the_error(report: ProcessExecutionReport) -> ErrorData:
    error = report.entries["apply"].error
    assert error is not None
    return error


@pytest.mark.parametrize("parallel", [False, True])
def test_the_exception_is_the_message_alone_and_the_class_is_beside_it(parallel: bool) -> None:
    records = Records()
    apply = Task("apply", apply_changes)
    apply.logger.addHandler(records)
    with Process([apply, Task("after", print, dependencies=[TaskDependency("apply")])]) as p:
        report = p.run(parallel=parallel)
    error = the_error(report)
    assert error.exception == "apply failed"
    assert error.exception_type == "ValueError"
    assert error.headline == "ValueError: apply failed"
    assert records.context()["exception"] == "apply failed"
    payload = render_webhook_payload(report)
    assert payload["entries"]["apply"]["error"]["exception"] == "apply failed"
    assert payload["entries"]["apply"]["error"]["exception_type"] == "ValueError"


def test_task_run_alone_gives_the_message_alone_too() -> None:
    result = Task("apply", apply_changes).run()
    assert result.error_data is not None
    assert result.error_data.exception == "apply failed"
    assert result.error_data.exception_type == "ValueError"


def test_downstream_impact_is_a_list_in_error_data_and_in_the_task_context() -> None:
    report, records = failed_run()
    error = the_error(report)
    assert type(error.downstream_impact) is list
    assert error.downstream_impact == ["notify_team", "archive"]
    context = records.context()
    assert type(context["downstream_impact"]) is list
    assert context["downstream_impact"] == ["notify_team", "archive"]
    context["downstream_impact"].append("v7 code appends")  # its own copy
    assert error.downstream_impact == ["notify_team", "archive"]
    assert Task("alone", apply_changes).run().error_data.downstream_impact == []  # type: ignore[union-attr]


def views(report: ProcessExecutionReport) -> dict[str, str]:
    """Every view of a report that shows a failure, as text."""
    config = SMTPConfig("127.0.0.1", "from@example.org", ["to@example.org"])
    message = build_message(report, config)
    plain = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert plain is not None
    assert html_part is not None
    return {
        "text": report.to_text(color=False),
        "page": report.to_html(),
        "email html": render_email_html(report, ReportContent()),
        "email part html": html_part.get_content(),
        "email part text": plain.get_content(),
        "slack": json.dumps(render_slack(report)),
        "discord": json.dumps(render_discord(report)),
        "teams": json.dumps(render_teams(report)),
    }


def test_every_view_shows_the_class_and_the_message() -> None:
    report, _ = failed_run()
    for view, text in views(report).items():
        assert "ValueError: apply failed" in text, view
    with pytest.raises(Exception, match="ValueError: apply failed"):
        report.raise_for_errors()


def test_a_failure_without_a_message_shows_its_class_alone() -> None:
    report, _ = failed_run(fail_silently)
    error = the_error(report)
    assert error.exception == ""
    assert error.headline == "ValueError"
    for view, text in views(report).items():
        assert "ValueError" in text, view
        assert "ValueError:" not in text, view


def test_the_cli_shows_the_class_and_the_message(tmp_path: Path) -> None:
    report, _ = failed_run()
    path = tmp_path / "run.json"
    path.write_text(report.to_json(), encoding="utf-8")
    shown = run_cli("show", path, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "ValueError: apply failed" in shown.stdout
    assert "ValueError: ValueError" not in shown.stdout


# -- reports written before: "exception" held "Type: message" ----------------------------------


def _old_form(error: dict[str, Any]) -> None:
    """An error dict as it was written before the message stood alone."""
    del error["exception_is_message"]
    error["exception"] = f"{error['exception_type']}: {error['exception']}"


def test_a_report_serialised_before_reads_and_renders_right(tmp_path: Path) -> None:
    report, _ = failed_run()
    data = json.loads(report.to_json())
    _old_form(data["entries"]["apply"]["error"])
    old = json.dumps(data)
    assert '"exception": "ValueError: apply failed"' in old

    read = ProcessExecutionReport.from_json(old)
    assert read.entries["apply"].error == the_error(report)
    assert read == ProcessExecutionReport.from_json(report.to_json())
    for view, text in views(read).items():
        assert "ValueError: apply failed" in text, view
        assert "ValueError: ValueError" not in text, view
    path = tmp_path / "old.json"
    path.write_text(old, encoding="utf-8")
    shown = run_cli("show", path, cwd=tmp_path)
    assert "ValueError: apply failed" in shown.stdout
    assert "ValueError: ValueError" not in shown.stdout


def test_an_old_report_of_a_failure_without_a_message_reads_as_the_class_alone() -> None:
    report, _ = failed_run(fail_silently)
    data = json.loads(report.to_json())
    error = data["entries"]["apply"]["error"]
    del error["exception_is_message"]
    error["exception"] = "ValueError"  # as the traceback's last line said it
    read = ProcessExecutionReport.from_json(json.dumps(data))
    assert the_error(read).exception == ""
    assert the_error(read).headline == "ValueError"


def test_an_old_report_without_an_exception_type_still_shows_its_text() -> None:
    report, _ = failed_run()
    data = json.loads(report.to_json())
    error = data["entries"]["apply"]["error"]
    del error["exception_is_message"], error["exception_type"]
    error["exception"] = "ValueError: apply failed"
    read = ProcessExecutionReport.from_json(json.dumps(data))
    assert the_error(read).headline == "ValueError: apply failed"
    assert "ValueError: apply failed" in read.to_text(color=False)


def test_a_message_that_starts_like_its_class_survives_a_round_trip() -> None:
    def odd() -> None:
        raise ValueError("ValueError: doubled on purpose")

    report, _ = failed_run(odd)
    assert the_error(report).exception == "ValueError: doubled on purpose"
    read = ProcessExecutionReport.from_json(report.to_json())
    assert the_error(read).exception == "ValueError: doubled on purpose"


def test_a_history_row_stored_before_reads_and_renders_right(tmp_path: Path) -> None:
    history = RunHistory(tmp_path / "runs.db")
    report, _ = failed_run()
    recorded = history.record(report, {})
    with sqlite3.connect(tmp_path / "runs.db") as db:
        (stored,) = db.execute("SELECT report FROM runs").fetchone()
        data = json.loads(stored)
        (detail,) = [row for row in data["details"] if row["name"] == "apply"]
        _old_form(detail["error"])
        db.execute("UPDATE runs SET report = ?", (json.dumps(data),))
    read = history.report(recorded.run_id)
    assert the_error(read).exception == "apply failed"
    assert the_error(read).exception_type == "ValueError"
    assert "ValueError: apply failed" in read.to_text(color=False)
    assert "ValueError: ValueError" not in read.to_text(color=False)
