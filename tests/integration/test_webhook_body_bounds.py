"""A webhook body stays under 1 MB whatever the run holds, and says what it left out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from factories import make_entry, make_error, make_report
from processes import TaskStatus, WebhookChannel, WebhookConfig

pytestmark = pytest.mark.integration

V7_ENTRY_KEYS = {"status", "function", "elapsed_seconds", "attempts", "result", "error"}
V7_ERROR_KEYS = {"exception", "downstream_impact", "traceback", "traced_vars"}
BIG = 64 * 1024
MAX_BODY_BYTES = 1_000_000  # SPEC §17: "a webhook body stays under 1 MB"


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    yield httpserver_ipv4
    httpserver_ipv4.clear()


def failures_of_64_kb(count: int = 2000) -> Any:
    entries = [
        make_entry(
            f"load_{i:04d}",
            TaskStatus.ERRORED,
            error=make_error(
                f"load_{i:04d}",
                "ValueError: " + "m" * BIG,
                traceback="Traceback (most recent call last):\n" + "t" * BIG + "\nValueError",
                traced_vars={f"v{j}": "x" * 2000 for j in range(30)},
                downstream=tuple(f"after_{i}_{j}" for j in range(300)),
            ),
        )
        for i in range(count)
    ]
    return make_report(*entries)


def a_hundred_thousand_tasks() -> Any:
    entries = [make_entry(f"task_{i:06d}", result="r" * 100) for i in range(100_000)]
    entries[50_000] = make_entry("task_050000", TaskStatus.ERRORED, error=make_error("task_050000"))
    return make_report(*entries)


def delivered(server: HTTPServer, report: Any, **config: Any) -> tuple[bytes, dict[str, Any]]:
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    channel = WebhookChannel(WebhookConfig(server.url_for("/hook"), **config))
    (delivery,) = report.notify(channel)
    assert delivery.ok, delivery.error
    ((request, _),) = server.log
    body = request.get_data()
    return body, json.loads(body)


def test_two_thousand_failures_of_64_kb_arrive_under_1_mb(server: HTTPServer) -> None:
    body, payload = delivered(server, failures_of_64_kb())
    assert len(body) < MAX_BODY_BYTES
    assert payload["summary"]["errored"] == 2000  # the summary counts every task
    left_out = payload["left_out"]
    kept = payload["entries"]
    assert left_out["entries"] + len(kept) == 2000
    assert left_out["errored"] == left_out["entries"] > 0
    assert "left out" in left_out["note"]
    assert next(iter(kept)) == "load_0000"  # in report order
    assert len(kept) >= 100  # summarised, not given up on
    for entry in kept.values():
        assert entry.keys() >= V7_ENTRY_KEYS
        assert entry["error"].keys() >= V7_ERROR_KEYS
        assert entry["cut"] is True
        # Head and tail, the cut said in the middle.
        assert entry["error"]["exception"].startswith("mmm")  # the message alone, as v7's
        assert "characters cut" in entry["error"]["exception"]
        assert entry["error"]["traceback"].endswith("\nValueError")
        assert entry["error"]["downstream_impact_left_out"] > 0
        assert entry["error"]["traced_vars_left_out"] > 0
    assert left_out["cut_entries"] == len(kept)


def test_a_hundred_thousand_tasks_keep_the_failure_first(server: HTTPServer) -> None:
    body, payload = delivered(server, a_hundred_thousand_tasks(), nest_under="report")
    assert len(body) < MAX_BODY_BYTES
    fields = payload["report"]
    assert fields["summary"] == {
        "total": 100_000,
        "success": 99_999,
        "errored": 1,
        "skipped": 0,
        "ok": False,
    }
    assert "task_050000" in fields["entries"]  # the failure is never the one left out
    assert fields["entries"]["task_050000"]["status"] == "errored"
    assert fields["left_out"]["errored"] == 0
    assert fields["left_out"]["success"] == 100_000 - len(fields["entries"])


def test_a_body_that_fits_is_unchanged_and_says_so(server: HTTPServer) -> None:
    report = make_report(
        make_entry("a"), make_entry("b", TaskStatus.ERRORED, error=make_error("b"))
    )
    _, payload = delivered(server, report)
    assert payload["left_out"] is None
    assert "cut" not in payload["entries"]["b"]
    assert payload["entries"]["b"]["error"]["exception_type"] == "ConnectionError"
