"""The webhook payload, its serialisation, and the config's validation and secrecy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from factories import make_entry, make_error, make_report, orders_payload_report
from processes import ReportContent, TaskStatus, WebhookChannel, WebhookConfig
from processes.channels.webhook import (
    HttpTransport,
    mask_payload,
    redact_url,
    retry_after_seconds,
    url_secrets,
)
from processes.rendering.webhook import render_webhook_payload, serialise_payload

V7_ENTRY_KEYS = {"status", "function", "elapsed_seconds", "attempts", "result", "error"}
V7_ERROR_KEYS = {"exception", "downstream_impact", "traceback", "traced_vars"}


def test_v7_fields_are_all_there() -> None:
    payload = render_webhook_payload(orders_payload_report())
    assert payload["process_name"] == "orders-pipeline"
    assert list(payload["entries"]) == [
        "fetch_inventory",
        "enrich_pricing",
        "charge_payments",
        "ship_orders",
        "archive_logs",
    ]
    for entry in payload["entries"].values():
        assert entry.keys() >= V7_ENTRY_KEYS
    charge = payload["entries"]["charge_payments"]
    assert charge["status"] == "errored"
    assert charge["attempts"] == 3
    assert charge["function"] == "tasks.charge_payments"
    error = charge["error"]
    assert V7_ERROR_KEYS | {"traced_vars_location"} <= error.keys()
    assert error["exception"] == "payment gateway unreachable"
    assert error["downstream_impact"] == ["ship_orders"]
    assert error["traced_vars"] == {"order": "'A-17'", "amount": "12.5"}
    assert error["traced_vars_location"] == "/srv/orders/tasks.py:41"
    assert error["traceback"].startswith("Traceback (most recent call last)")


def test_result_is_a_repr_and_only_for_successes() -> None:
    entries = render_webhook_payload(orders_payload_report())["entries"]
    assert entries["fetch_inventory"]["result"] == "{'sku': 3}"
    assert entries["archive_logs"]["result"] == "'ok'"
    assert entries["charge_payments"]["result"] is None
    assert entries["ship_orders"]["result"] is None
    assert entries["ship_orders"]["status"] == "skipped"


def test_summary_and_timestamps() -> None:
    payload = render_webhook_payload(orders_payload_report())
    assert payload["summary"] == {"total": 5, "success": 3, "errored": 1, "skipped": 1, "ok": False}
    assert payload["started_at"] == "2026-05-01T02:00:00+00:00"
    assert datetime.fromisoformat(payload["finished_at"]) > datetime.fromisoformat(
        payload["started_at"]
    )
    assert payload["elapsed_seconds"] == pytest.approx(1.5)
    started = payload["entries"]["charge_payments"]["started_at"]
    assert started == "2026-05-01T02:00:01+00:00"


def test_errors_only_keeps_errored_entries_but_the_whole_summary() -> None:
    payload = render_webhook_payload(orders_payload_report(), errors_only=True)
    assert list(payload["entries"]) == ["charge_payments"]
    assert payload["summary"]["total"] == 5
    assert payload["errors_only"] is True


@pytest.mark.parametrize(
    ("content", "present", "absent"),
    [
        (ReportContent.full(), {"traceback", "traced_vars", "traced_vars_location"}, set()),
        (ReportContent.trace(), {"traceback"}, {"traced_vars", "traced_vars_location"}),
        (ReportContent.min(), set(), {"traceback", "traced_vars", "traced_vars_location"}),
    ],
)
def test_content_decides_the_error_details(
    content: ReportContent, present: set[str], absent: set[str]
) -> None:
    error = render_webhook_payload(orders_payload_report(), content=content)["entries"][
        "charge_payments"
    ]["error"]
    assert {"exception", "downstream_impact"} <= error.keys()
    assert present <= error.keys()
    assert not absent & error.keys()


def test_nest_under_moves_the_report_and_extra_payload_stays_top_level_and_wins() -> None:
    payload = render_webhook_payload(
        orders_payload_report(),
        nest_under="report",
        extra_payload={"source": "ci", "report": "overridden?", "process_name": "top"},
    )
    # The extra key named like the nest wins, as v7 did: extra_payload is applied last.
    assert payload["report"] == "overridden?"
    assert payload["source"] == "ci"
    assert payload["process_name"] == "top"

    nested = render_webhook_payload(
        orders_payload_report(), nest_under="report", extra_payload={"source": "ci"}
    )
    assert set(nested) == {"report", "source"}
    assert nested["report"]["process_name"] == "orders-pipeline"
    assert "charge_payments" in nested["report"]["entries"]


def test_extra_payload_wins_over_report_fields_without_nesting() -> None:
    payload = render_webhook_payload(orders_payload_report(), extra_payload={"summary": "mine"})
    assert payload["summary"] == "mine"
    assert payload["process_name"] == "orders-pipeline"


def test_serialisation_is_compact_utf8_and_never_raises() -> None:
    report = make_report(make_entry("café", result=object()), name="prozess-ü")
    payload = render_webhook_payload(report, extra_payload={"odd": {1, 2}, "when": datetime.now()})
    body = serialise_payload(payload)
    decoded = json.loads(body)
    assert body == json.dumps(decoded, separators=(",", ":"), ensure_ascii=False).encode()
    assert "prozess-ü".encode() in body
    assert decoded["odd"] == "{1, 2}"
    assert decoded["entries"]["café"]["result"].startswith("<object object at")


def test_mask_payload_in_keys_values_and_nested_lists() -> None:
    data = {"a": ["token=abcd1234 here", {"abcd1234": "x"}], "b": 3, "c": "ab"}
    masked = mask_payload(data, ["abcd1234", "ab"])  # "ab" is too short to mask
    assert masked == {"a": ["token=[redacted] here", {"[redacted]": "x"}], "b": 3, "c": "ab"}


def test_url_secrets_hold_token_like_path_segments_and_query_values() -> None:
    url = "https://hooks.example.test/services/T0AAAA1B/XXYYZZ99aa?token=tok%2Fen-123&sig=S1G"
    found = url_secrets(url)
    for part in ("T0AAAA1B", "XXYYZZ99aa", "tok%2Fen-123", "tok/en-123"):
        assert part in found, part
    for part in (url, "/services/T0AAAA1B/XXYYZZ99aa", "token=tok%2Fen-123&sig=S1G"):
        assert part in found, part
    assert "hooks" not in found  # a short segment is routing, not a token
    message = "400: token=tok/en-123 is unknown for XXYYZZ99aa"
    assert mask_payload(message, found) == "400: token=[redacted] is unknown for [redacted]"


@pytest.mark.parametrize(
    ("url", "tokens", "words"),
    [
        (
            "https://hooks.slack.com/services/T0001/B0002/XXXXYYYYZZZZ",
            [],
            ["services", "hooks", "T0001", "B0002"],
        ),
        (
            "https://hooks.slack.com/services/T024BE7LD/B01ABCDEFGH/xOyZ1aB2cD3eF4gH5iJ6kL7m",
            ["T024BE7LD", "B01ABCDEFGH", "xOyZ1aB2cD3eF4gH5iJ6kL7m"],
            ["services"],
        ),
        (
            "https://discord.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz-_ab",
            ["123456789012345678", "AbCdEfGhIjKlMnOpQrStUvWxYz-_ab"],
            ["api", "webhooks"],
        ),
        (
            "https://example.test/api/hooks/in?json=true&format=json&key=QV-7f3a%2B9",
            ["QV-7f3a%2B9", "QV-7f3a+9"],
            ["api", "hooks", "true", "json", "format", "in"],
        ),
    ],
)
def test_url_secrets_keep_tokens_but_never_ordinary_words(
    url: str, tokens: list[str], words: list[str]
) -> None:
    found = url_secrets(url)
    assert url in found
    for token in tokens:
        assert token in found, token
    for word in words:
        assert word not in found, word
    text = "my services are up; webhooks ok; json=true via api hooks"
    assert mask_payload(text, found) == text


def test_channel_body_masks_the_secret_and_url_if_a_task_leaked_them() -> None:
    url = "https://hooks.example.test/services/T0K3N-PATH?key=QUERYSECRET"
    leaked = make_error("post", f"HTTPError: POST {url} with s3cr3t-value failed", traced_vars={})
    report = make_report(make_entry("post", TaskStatus.ERRORED, error=leaked))
    channel = WebhookChannel(WebhookConfig(url, secret="s3cr3t-value"))
    body = channel.render(report).decode()
    for hidden in ("s3cr3t-value", "T0K3N-PATH", "QUERYSECRET"):
        assert hidden not in body
    assert "[redacted]" in body


def test_a_standard_webhooks_secret_is_masked_without_its_prefix_too() -> None:
    key = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # signs the same without "whsec_"
    leaked = make_error("sign", f"KeyError: {key}", traced_vars={"key": repr(key)})
    report = make_report(make_entry("sign", TaskStatus.ERRORED, error=leaked))
    config = WebhookConfig(
        "https://hooks.example.test/in", secret=f"whsec_{key}", signing="standard-webhooks"
    )
    body = WebhookChannel(config).render(report).decode()
    assert key not in body
    assert "[redacted]" in body


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://h.test/ci?api_key=QuietlyLongApi", "QuietlyLongApi"),
        ("https://h.test/ci?format=json&sig=AbCd", "AbCd"),
        ("https://h.test/ci?X-Auth-Token=plainword", "plainword"),
        ("https://h.test/ci?password=p%40ss+word", "p@ss word"),
        ("https://h.test/ci?key=Quiet&retries=3", "Quiet"),
    ],
)
def test_a_query_value_under_a_secret_name_is_a_secret_whatever_its_shape(
    url: str, secret: str
) -> None:
    found = url_secrets(url)
    assert secret in found
    assert mask_payload(f"403: unknown key {secret}", found) == "403: unknown key [redacted]"


def test_a_flag_or_a_plain_value_under_an_ordinary_name_stays_visible() -> None:
    found = url_secrets("https://h.test/ci?auth=true&design=plainword&sig_enabled=false")
    assert found == ["https://h.test/ci?auth=true&design=plainword&sig_enabled=false"]
    text = "auth is true, the design a plainword, nothing false"
    assert mask_payload(text, found) == text


@pytest.mark.parametrize(
    "url", ["https://ci.example.test/hooks", "https://ci.example.test/hooks/deploy/in?json=true"]
)
def test_a_url_without_a_token_registers_only_the_url_whole(url: str) -> None:
    assert url_secrets(url) == [url]
    text = "FileNotFoundError: /srv/app/hooks/deploy/in is missing (json=true)"
    assert mask_payload(text, url_secrets(url)) == text


def test_a_token_in_a_bare_query_or_fragment_is_found_by_its_shape() -> None:
    found = url_secrets("https://h.test/in?AbCdEf1234567890XYZ#frag=Zz9Yy8Xx7Ww6")
    assert "AbCdEf1234567890XYZ" in found
    assert "Zz9Yy8Xx7Ww6" in found


@pytest.mark.parametrize(
    ("header", "value", "credential"),
    [
        ("Authorization", "Bearer tok_live_7Hq2mZ9xW4", "tok_live_7Hq2mZ9xW4"),
        ("Authorization", "Token  abcdefgh", "abcdefgh"),
        ("Proxy-Authorization", "Bot MTk4NjIyNDgzNDcxOTI1MjQ4", "MTk4NjIyNDgzNDcxOTI1MjQ4"),
        ("X-Api-Key", "ApiKey QuietKey", "QuietKey"),
    ],
)
def test_the_credential_after_an_auth_scheme_is_a_secret_on_its_own(
    header: str, value: str, credential: str
) -> None:
    config = WebhookConfig("https://hooks.example.test/in", headers={header: value})
    hidden = config.hidden_values()
    assert value in hidden
    assert credential in hidden
    assert WebhookChannel(config).secret_values() == hidden
    said = mask_payload(f"401 invalid token {credential}", hidden)
    assert said == "401 invalid token [redacted]"


def test_a_basic_header_hides_its_decoded_password_too() -> None:
    # base64("admin:s3cr3t-pass")
    config = WebhookConfig(
        "https://hooks.example.test/in",
        headers={"Authorization": "Basic YWRtaW46czNjcjN0LXBhc3M="},
    )
    hidden = config.hidden_values()
    assert "admin:s3cr3t-pass" in hidden
    assert "s3cr3t-pass" in hidden
    assert "admin" not in hidden


def test_an_ordinary_header_with_a_space_registers_nothing() -> None:
    config = WebhookConfig("https://hooks.example.test/in", headers={"X-Team": "Data Platform"})
    assert config.hidden_values() == ["https://hooks.example.test/in"]


# -- the config -----------------------------------------------------------------------------


def test_config_defaults_and_copies_of_mutable_arguments() -> None:
    headers = {"X-Team": "data"}
    extra = {"source": "ci"}
    config = WebhookConfig("https://hooks.example.test/in", headers, extra_payload=extra)
    headers["X-Team"] = "changed"
    extra["source"] = "changed"
    assert config.headers == {"X-Team": "data"}
    assert config.extra_payload == {"source": "ci"}
    assert (config.timeout, config.secret, config.nest_under) == (5, None, None)
    assert (config.signing, config.retries) == ("hmac-sha256", 3)
    assert WebhookConfig("https://h.test/").headers == {}
    assert WebhookConfig("https://h.test/").headers is not WebhookConfig("https://h.test/").headers


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://files.example.test/report",
        "data:application/json,{}",
        "javascript:alert(1)",
        "gopher://h.test/",
        "hooks.example.test/in",
        "https:///no-host",
        "https://user:pw@hooks.example.test/in",
        "https://hooks.example.test/in path",
        "https://hooks.example.test/in\r\nX-Evil: 1",
        "https://hooks.example.test:99999/in",
    ],
)
def test_only_http_and_https_urls_with_a_host_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="webhook URL") as caught:
        WebhookConfig(url)
    for hidden in ("/in", "passwd", "pw@", "X-Evil"):
        assert hidden not in str(caught.value)


def test_http_and_https_are_accepted_in_any_case() -> None:
    WebhookConfig("http://127.0.0.1:8080/hook")
    WebhookConfig("HTTPS://hooks.example.test/in")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"timeout": 0}, ValueError),
        ({"timeout": "5"}, TypeError),
        ({"retries": -1}, ValueError),
        ({"retries": True}, TypeError),
        ({"signing": "sha1"}, ValueError),
        ({"signing": "standard-webhooks", "secret": "not-base64!"}, ValueError),
        ({"headers": {"X-A": "line\r\nX-Injected: 1"}}, ValueError),
        ({"headers": {"Bad Name": "x"}}, ValueError),
        ({"headers": {"X-A": 1}}, TypeError),
        ({"extra_payload": {1: "x"}}, TypeError),
        ({"nest_under": 3}, TypeError),
        ({"secret": ""}, ValueError),
    ],
)
def test_invalid_config_is_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        WebhookConfig("https://hooks.example.test/in", **kwargs)  # type: ignore[arg-type]


def test_repr_hides_path_query_secret_and_header_values() -> None:
    config = WebhookConfig(
        "https://hooks.example.test:8443/services/T0K3N?sig=QUERYSECRET",
        headers={"Authorization": "Bearer HEADERTOKEN"},
        secret="s3cr3t",
    )
    for text in (repr(config), repr(WebhookChannel(config)), str(config)):
        assert "https://hooks.example.test:8443/…" in text
        for hidden in ("T0K3N", "QUERYSECRET", "s3cr3t", "HEADERTOKEN", "services"):
            assert hidden not in text


def test_redact_url_keeps_scheme_host_and_port_only() -> None:
    assert redact_url("https://Hooks.Slack.com/services/T/B/X?y=1#f") == "https://hooks.slack.com/…"
    assert redact_url("http://[::1]:8080/p") == "http://[::1]:8080/…"


# -- retry pacing ---------------------------------------------------------------------------


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    now = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    later = format_datetime(datetime(2026, 5, 1, 12, 0, 42, tzinfo=UTC), usegmt=True)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(later, now) == pytest.approx(42.0)
    assert retry_after_seconds("Fri, 01 May 2026 11:00:00 GMT", now) == 0.0  # in the past
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    low = HttpTransport(jitter=lambda: 0.0)
    high = HttpTransport(jitter=lambda: 1.0)
    assert [low.backoff_seconds(n) for n in (1, 2, 3)] == [0.25, 0.5, 1.0]
    assert [high.backoff_seconds(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert high.backoff_seconds(30) == 30.0  # capped
