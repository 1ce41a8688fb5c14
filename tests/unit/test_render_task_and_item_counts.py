"""A reader counts tasks as declared (SPEC §15): every view and channel counts a run's
declared tasks as tasks and its items apart ("3 tasks · 10 items: 3 failed"), in all six
languages, and a run without items reads as it always did.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_plurals import disagreements

from processes import (
    DiscordChannel,
    HTMLEmailStyle,
    Process,
    ProcessExecutionReport,
    SlackChannel,
    SMTPConfig,
    Task,
    TaskDependency,
    TeamsChannel,
    WebhookChannel,
    WebhookConfig,
)
from processes.channels.email import build_message
from processes.rendering.common import Tally, run_tally
from processes.rendering.locales import LANGUAGES, get_locale

URL = "http://127.0.0.1:9/hook"  # rendered only, never sent
CONFIG = SMTPConfig(("127.0.0.1", 25), "etl@example.com", ["oncall@example.com"])
CHATS = (SlackChannel, DiscordChannel, TeamsChannel)
BAD = {"1", "5", "7"}


def _load(key: str) -> int:
    if key in BAD:
        raise ValueError(f"file {key} is malformed")
    return int(key)


def _broken(*_: object) -> None:
    raise RuntimeError("the report server is down")


def _run(size: int = 10, *, declared_failure: bool = False) -> ProcessExecutionReport:
    """files -> load (an item per file, 3 of them fail; max_failed=5) -> count [-> send]."""
    each = TaskDependency("files", use_result_as_additional_args=True, for_each=True)
    whole = TaskDependency("load", use_result_as_additional_args=True)
    tasks = [
        Task("files", lambda: [str(i) for i in range(size)]),
        Task("load", _load, dependencies=[each], max_failed=5),
        Task("count", len, dependencies=[whole]),
    ]
    if declared_failure:
        tasks.append(Task("send", _broken, dependencies=[TaskDependency("count")]))
    return Process(tasks, name="nightly").run(parallel=False)


def _plain() -> ProcessExecutionReport:
    return Process([Task("a", int), Task("b", _broken)], name="nightly").run(parallel=False)


def _chat(kind: type[Any], report: ProcessExecutionReport, language: str = "en") -> str:
    return json.dumps(json.loads(kind(URL, language=language).render(report)), ensure_ascii=False)


def _email(report: ProcessExecutionReport, language: str = "en") -> tuple[str, str]:
    message = build_message(report, CONFIG, HTMLEmailStyle(language=language))
    text, html = (part.get_content() for part in message.iter_parts())
    return text, html


def test_the_tally_counts_declared_tasks_and_items_apart() -> None:
    tally = run_tally(_run(declared_failure=True))
    assert tally.tasks == Tally(total=4, succeeded=3, failed=1, skipped=0)
    assert tally.items == Tally(total=10, succeeded=7, failed=3, skipped=0)
    assert run_tally(_plain()).items is None


def test_text_counts_declared_tasks_and_the_items_apart() -> None:
    header = _run().to_text(color=False).splitlines()[1]
    assert header.startswith(
        "Tasks 3 | Succeeded 3 | Failed 0 | Skipped 0 | 10 items: 7 succeeded, 3 failed, 0 skipped"
    )


def test_the_page_counts_declared_tasks_and_says_the_items_that_failed() -> None:
    page = _run().to_html()
    assert "\u2717 Failed: 3 of 10 items failed." in page
    assert "of 13 tasks" not in page
    page = _run(declared_failure=True).to_html()
    assert "\u2717 Failed: 1 errored of 4 tasks. 3 of 10 items failed." in page


def test_both_parts_of_the_email_count_declared_tasks_and_items_apart() -> None:
    text, html = _email(_run())
    assert "Tasks 3 | Succeeded 3 | Failed 0 | Skipped 0 | 10 items: 7 succeeded, 3 failed" in text
    assert "3 of 10 items failed." in html
    assert ">13<" not in html  # the tiles count 3 tasks, not 13 entries
    assert "3 tasks failed" not in html
    _, html = _email(_run(declared_failure=True))
    assert "1 task failed. 3 of 10 items failed." in html


@pytest.mark.parametrize("kind", CHATS)
def test_chat_titles_count_items_apart(kind: type[Any]) -> None:
    body = _chat(kind, _run())
    assert "nightly: 3 of 10 items failed" in body
    assert "3 tasks: 3 succeeded, 0 errored, 0 skipped · 10 items: 7 succeeded, 3 failed" in body
    assert "of 13 tasks" not in body
    body = _chat(kind, _run(declared_failure=True))
    assert "nightly: 1 of 4 tasks failed · 3 of 10 items failed" in body


def test_one_item_that_failed_is_said_in_the_singular() -> None:
    BAD.add("0")
    try:
        report = _run(1)
    finally:
        BAD.discard("0")
    assert "nightly: 1 of 1 item failed" in _chat(SlackChannel, report)
    assert "1 of 1 item failed." in _email(report)[1]
    assert "1 item: 0 succeeded, 1 failed, 0 skipped" in report.to_text(color=False)


def test_the_webhook_keeps_its_counts_and_adds_tasks_and_items_beside_them() -> None:
    payload = json.loads(WebhookChannel(WebhookConfig(URL)).render(_run(declared_failure=True)))
    assert payload["summary"] == {
        "total": 14,  # every entry, items included, as the field always meant
        "success": 10,
        "errored": 4,
        "skipped": 0,
        "ok": False,
        "tasks": {"total": 4, "success": 3, "errored": 1, "skipped": 0},
        "items": {"total": 10, "success": 7, "errored": 3, "skipped": 0},
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_counts_items_apart_in_agreement(language: str) -> None:
    report = _run(1000)
    texts = [*_email(report, language), *(_chat(kind, report, language) for kind in CHATS)]
    for said in texts:
        assert get_locale(language).number(1003) not in said  # the entries, never counted
        assert disagreements(language, said) == []
    BAD.add("0")
    try:
        single = _run(1)
    finally:
        BAD.discard("0")
    for said in [*_email(single, language), *(_chat(kind, single, language) for kind in CHATS)]:
        assert disagreements(language, said) == []


def test_a_run_without_items_says_nothing_of_items() -> None:
    report = _plain()
    header = report.to_text(color=False).splitlines()[1]
    assert header.startswith("Tasks 2 | Succeeded 1 | Failed 1 | Skipped 0 | Duration")
    payload = json.loads(WebhookChannel(WebhookConfig(URL)).render(report))
    assert set(payload["summary"]) == {"total", "success", "errored", "skipped", "ok"}
    assert "nightly: 1 of 2 tasks failed" in _chat(SlackChannel, report)
    assert "1 task failed." in _email(report)[1]
