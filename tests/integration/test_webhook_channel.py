"""WebhookChannel against real HTTP servers on 127.0.0.1: what arrives, and what fails how."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import ClassVar

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from factories import make_entry, make_report, orders_payload_report
from processes import ReportContent, TaskStatus, WebhookChannel, WebhookConfig, verify
from processes.channels.webhook import MAX_RETRY_AFTER_SECONDS, WebhookDeliveryError

pytestmark = pytest.mark.integration

SW_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
TOKEN_PATH = "/hooks/T0K3N-9f8e7d"


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self, start: float = 1_777_000_000.0) -> None:
        self.start = start
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    yield httpserver_ipv4
    httpserver_ipv4.clear()


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def channel_for(
    server: HTTPServer, fake: FakeTime, path: str = "/hook", **config: object
) -> WebhookChannel:
    return WebhookChannel(
        WebhookConfig(server.url_for(path), **config),  # type: ignore[arg-type]
        sleep=fake.sleep,
        clock=fake.clock,
    )


def received(server: HTTPServer) -> list[tuple[bytes, dict[str, str]]]:
    return [(request.get_data(), dict(request.headers)) for request, _ in server.log]


# -- what arrives ---------------------------------------------------------------------------


def test_payload_shape_as_received(server: HTTPServer, fake: FakeTime) -> None:
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    deliveries = orders_payload_report().notify(channel_for(server, fake))
    assert [d.ok for d in deliveries] == [True]
    ((body, headers),) = received(server)
    assert headers["Content-Type"] == "application/json"
    assert headers["Webhook-Id"].startswith("msg_")
    payload = json.loads(body)
    assert payload["process_name"] == "orders-pipeline"
    assert payload["summary"] == {"total": 5, "success": 3, "errored": 1, "skipped": 1, "ok": False}
    assert payload["entries"]["charge_payments"]["error"]["downstream_impact"] == ["ship_orders"]
    assert payload["entries"]["fetch_inventory"]["result"] == "{'sku': 3}"
    assert payload["started_at"] == "2026-05-01T02:00:00+00:00"
    assert body == json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def test_nest_under_and_extra_payload_as_received(server: HTTPServer, fake: FakeTime) -> None:
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    channel = channel_for(
        server, fake, nest_under="report", extra_payload={"source": "ci", "build": 41}
    )
    orders_payload_report().notify(channel)
    ((body, _),) = received(server)
    payload = json.loads(body)
    assert set(payload) == {"report", "source", "build"}
    assert payload["build"] == 41
    assert payload["report"]["process_name"] == "orders-pipeline"
    assert len(payload["report"]["entries"]) == 5


def test_filters_reach_the_payload(server: HTTPServer, fake: FakeTime) -> None:
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    channel = channel_for(server, fake, nest_under="report")
    orders_payload_report().notify(
        channel, only_errors=True, tasks=["CHARGE_PAYMENTS", "fetch_inventory"]
    )
    ((body, _),) = received(server)
    assert list(json.loads(body)["report"]["entries"]) == ["charge_payments"]


def test_nothing_is_sent_when_only_errors_finds_none(server: HTTPServer, fake: FakeTime) -> None:
    report = make_report(make_entry("fine"))
    (delivery,) = report.notify(channel_for(server, fake), only_errors=True)
    assert delivery.ok
    assert not delivery.sent
    assert server.log == []


def test_content_min_sends_no_traceback(server: HTTPServer, fake: FakeTime) -> None:
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    channel = WebhookChannel(
        WebhookConfig(server.url_for("/hook")), ReportContent.min(), sleep=fake.sleep
    )
    orders_payload_report().notify(channel)
    ((body, _),) = received(server)
    error = json.loads(body)["entries"]["charge_payments"]["error"]
    assert "traceback" not in error
    assert "traced_vars" not in error


# -- signatures, checked here with hashlib and hmac alone ------------------------------------


def test_default_signature_is_the_hex_hmac_of_the_exact_body(
    server: HTTPServer, fake: FakeTime
) -> None:
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    orders_payload_report().notify(channel_for(server, fake, secret="s3cr3t"))
    ((body, headers),) = received(server)
    expected = hmac.new(b"s3cr3t", body, hashlib.sha256).hexdigest()
    assert headers["X-Signature-Sha256"] == expected
    assert verify(body, headers, "s3cr3t")
    assert not verify(body, headers, "other-secret")


def test_standard_webhooks_signature(server: HTTPServer, fake: FakeTime) -> None:
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    channel = channel_for(server, fake, secret=SW_SECRET, signing="standard-webhooks")
    orders_payload_report().notify(channel)
    ((body, headers),) = received(server)
    msg_id, stamp = headers["Webhook-Id"], headers["Webhook-Timestamp"]
    assert stamp == str(int(fake.now))
    key = base64.b64decode(SW_SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    assert headers["Webhook-Signature"] == "v1," + base64.b64encode(digest).decode()
    assert "X-Signature-Sha256" not in headers
    assert verify(body, headers, SW_SECRET, now=fake.now + 10)
    assert not verify(body, headers, SW_SECRET, now=fake.now + 301)


# -- retries --------------------------------------------------------------------------------


def test_500_and_503_then_200_is_one_delivery_of_identical_bodies(
    server: HTTPServer, fake: FakeTime
) -> None:
    server.expect_ordered_request("/hook").respond_with_data("boom", status=500)
    server.expect_ordered_request("/hook").respond_with_data("busy", status=503)
    server.expect_ordered_request("/hook").respond_with_data("ok", status=200)
    channel = channel_for(server, fake, secret=SW_SECRET, signing="standard-webhooks")
    (delivery,) = orders_payload_report().notify(channel)
    assert delivery.ok
    requests = received(server)
    assert len(requests) == 3
    bodies = {body for body, _ in requests}
    assert len(bodies) == 1
    assert len({h["Webhook-Id"] for _, h in requests}) == 1
    assert len(fake.sleeps) == 2
    assert 0.25 <= fake.sleeps[0] <= 0.5
    assert 0.5 <= fake.sleeps[1] <= 1.0
    # A fresh timestamp per attempt, read from the clock at that attempt...
    # (the same additions as the fake clock's, so no float rounding tells them apart)
    moments = [fake.start, fake.start + fake.sleeps[0], fake.now]
    assert [h["Webhook-Timestamp"] for _, h in requests] == [str(int(t)) for t in moments]
    for body, headers in requests:  # ...each signed for itself
        assert verify(body, headers, SW_SECRET, now=float(headers["Webhook-Timestamp"]))


def test_429_honours_retry_after_seconds(server: HTTPServer, fake: FakeTime) -> None:
    server.expect_ordered_request("/hook").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"}
    )
    server.expect_ordered_request("/hook").respond_with_data("ok")
    (delivery,) = orders_payload_report().notify(channel_for(server, fake))
    assert delivery.ok
    assert fake.sleeps == [7.0]
    assert len(server.log) == 2


def test_retry_after_as_http_date_and_capped(server: HTTPServer, fake: FakeTime) -> None:
    when = datetime.fromtimestamp(fake.now + 12, tz=UTC)
    server.expect_ordered_request("/hook").respond_with_data(
        "", status=503, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )
    server.expect_ordered_request("/hook").respond_with_data(
        "", status=429, headers={"Retry-After": "86400"}
    )
    server.expect_ordered_request("/hook").respond_with_data("ok")
    (delivery,) = orders_payload_report().notify(channel_for(server, fake))
    assert delivery.ok
    assert fake.sleeps[0] == pytest.approx(12.0)
    assert fake.sleeps[1] == MAX_RETRY_AFTER_SECONDS


def test_retries_are_bounded(server: HTTPServer, fake: FakeTime) -> None:
    server.expect_request("/hook").respond_with_data("down", status=502)
    with pytest.warns(UserWarning, match=r"after 3 attempt\(s\): HTTP 502"):
        (delivery,) = orders_payload_report().notify(channel_for(server, fake, retries=2))
    assert not delivery.ok
    assert isinstance(delivery.error, WebhookDeliveryError)
    assert delivery.error.status == 502
    assert delivery.error.attempts == 3
    assert len(server.log) == 3


def test_404_is_one_request_and_a_failure(server: HTTPServer, fake: FakeTime) -> None:
    server.expect_request("/hook").respond_with_data("no such hook", status=404)
    with pytest.warns(UserWarning, match="HTTP 404") as caught:
        (delivery,) = orders_payload_report().notify(channel_for(server, fake))
    assert not delivery.ok
    assert len(server.log) == 1
    assert fake.sleeps == []
    assert len(caught) == 1
    assert "WebhookChannel" in str(caught[0].message)
    assert "no such hook" in str(caught[0].message)


def test_302_is_not_followed(server: HTTPServer, fake: FakeTime) -> None:
    target = server.url_for("/elsewhere/SECRET-TARGET?x=1")
    server.expect_request("/hook").respond_with_data("", status=302, headers={"Location": target})
    server.expect_request("/elsewhere/SECRET-TARGET").respond_with_data("ok")
    with pytest.warns(UserWarning, match="redirect") as caught:
        (delivery,) = orders_payload_report().notify(channel_for(server, fake))
    assert not delivery.ok
    assert [request.path for request, _ in server.log] == ["/hook"]
    message = str(caught[0].message)
    assert f"127.0.0.1:{server.port}/…" in message
    assert "SECRET-TARGET" not in message
    assert "not followed" in message


def test_redirect_to_another_scheme_is_named_without_its_path(
    server: HTTPServer, fake: FakeTime
) -> None:
    server.expect_request("/hook").respond_with_data(
        "", status=307, headers={"Location": "file:///etc/passwd"}
    )
    with pytest.warns(UserWarning, match=r"redirect to file://") as caught:
        orders_payload_report().notify(channel_for(server, fake))
    assert "passwd" not in str(caught[0].message)


def test_closed_port_is_retried_then_fails(fake: FakeTime) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = WebhookChannel(
        WebhookConfig(f"http://127.0.0.1:{port}/hook", retries=2),
        sleep=fake.sleep,
        clock=fake.clock,
    )
    with pytest.warns(UserWarning, match=r"after 3 attempt\(s\): ConnectionRefusedError"):
        (delivery,) = orders_payload_report().notify(channel)
    assert not delivery.ok
    assert len(fake.sleeps) == 2
    assert isinstance(delivery.error, WebhookDeliveryError)
    assert delivery.error.status is None


def test_a_server_that_stalls_past_the_timeout(fake: FakeTime) -> None:
    # A listening socket that never accepts: the kernel completes the handshake and the
    # request is buffered, but no answer ever comes.
    with socket.socket() as stalled:
        stalled.bind(("127.0.0.1", 0))
        stalled.listen(8)
        port = stalled.getsockname()[1]
        channel = WebhookChannel(
            WebhookConfig(f"http://127.0.0.1:{port}/hook", timeout=0.2, retries=1),
            sleep=fake.sleep,
            clock=fake.clock,
        )
        began = time.monotonic()
        with pytest.warns(UserWarning, match=r"after 2 attempt\(s\): no answer within 0.2 s"):
            (delivery,) = orders_payload_report().notify(channel)
        assert time.monotonic() - began < 5
    assert not delivery.ok
    assert len(fake.sleeps) == 1


def test_a_2xx_whose_body_stalls_is_one_delivery(fake: FakeTime) -> None:
    # The status line says 200; the promised body never comes, and the socket stays open.
    requests: list[bytes] = []
    done = threading.Event()

    def answer(listener: socket.socket) -> None:
        listener.settimeout(5)
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                requests.append(connection.recv(65536))
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{")
                done.wait(5)

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        thread = threading.Thread(target=answer, args=(listener,), daemon=True)
        thread.start()
        channel = WebhookChannel(
            WebhookConfig(f"http://127.0.0.1:{port}/hook", timeout=0.3, retries=2),
            sleep=fake.sleep,
            clock=fake.clock,
        )
        try:
            (delivery,) = orders_payload_report().notify(channel)
        finally:
            done.set()
    thread.join(5)
    assert delivery.ok, delivery.error
    assert len(requests) == 1
    assert requests[0].startswith(b"POST /hook ")
    assert fake.sleeps == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/report", "data:application/json,{}"]
)
def test_other_schemes_are_refused_at_construction(url: str) -> None:
    with pytest.raises(ValueError, match="must use http or https"):
        WebhookConfig(url)


# -- secrecy --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 500])
def test_secret_and_url_path_never_reach_a_warning(
    server: HTTPServer, fake: FakeTime, status: int
) -> None:
    url = server.url_for(TOKEN_PATH) + "?sig=QUERY-SECRET"
    # The server echoes what it got, as some error pages do.
    server.expect_request(TOKEN_PATH).respond_with_data(
        f"bad request to {url} signed with s3cr3t-value", status=status
    )
    channel = WebhookChannel(
        WebhookConfig(url, secret="s3cr3t-value", headers={"Authorization": "Bearer HDR-TOKEN"}),
        sleep=fake.sleep,
        clock=fake.clock,
    )
    report = make_report(make_entry("charge", TaskStatus.ERRORED))
    with pytest.warns(UserWarning, match="WebhookChannel failed") as caught:
        (delivery,) = report.notify(channel)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert f"HTTP {status}" in message
    assert f"http://127.0.0.1:{server.port}/…" in message
    for hidden in ("T0K3N", "QUERY-SECRET", "s3cr3t-value", "HDR-TOKEN", "/hooks"):
        assert hidden not in message
        assert hidden not in repr(channel)
        assert hidden not in repr(delivery)
    assert received(server)[0][1]["Authorization"] == "Bearer HDR-TOKEN"


def test_a_reason_phrase_echoing_the_path_is_masked(server: HTTPServer, fake: FakeTime) -> None:
    url = server.url_for(TOKEN_PATH)
    server.expect_request(TOKEN_PATH).respond_with_response(
        Response("", status=f"418 Teapot at {TOKEN_PATH}")
    )
    channel = WebhookChannel(WebhookConfig(url), sleep=fake.sleep, clock=fake.clock)
    with pytest.warns(UserWarning, match="HTTP 418 Teapot at") as caught:
        orders_payload_report().notify(channel)
    assert "T0K3N" not in str(caught[0].message)
    assert "[redacted]" in str(caught[0].message)


def test_a_400_body_echoing_a_query_token_and_path_segment_is_masked(
    server: HTTPServer, fake: FakeTime
) -> None:
    url = server.url_for("/hooks/SEGMENT-TOKEN-42") + "?token=QV-7f3a%2B9"
    # Echoed decoded and apart from the URL, so only per-part masking can catch it.
    server.expect_request("/hooks/SEGMENT-TOKEN-42").respond_with_data(
        "unknown token=QV-7f3a+9 for hook SEGMENT-TOKEN-42", status=400
    )
    channel = WebhookChannel(WebhookConfig(url), sleep=fake.sleep, clock=fake.clock)
    with pytest.warns(UserWarning, match="HTTP 400") as caught:
        orders_payload_report().notify(channel)
    message = str(caught[0].message)
    assert "unknown token=[redacted] for hook [redacted]" in message
    assert "QV-7f3a" not in message
    assert "SEGMENT-TOKEN" not in message


class _RecordingProxy(http.server.BaseHTTPRequestHandler):
    targets: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.targets.append(self.path)
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_http_proxy_from_the_environment_carries_the_post(
    fake: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = http.server.HTTPServer(("127.0.0.1", 0), _RecordingProxy)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_port}")
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.server_port}")
        channel = channel_for_url("http://hooks.example.test/incoming", fake)
        (delivery,) = orders_payload_report().notify(channel)
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join()
    assert delivery.ok
    # A proxied request names the absolute URL; a direct one would name only the path.
    assert _RecordingProxy.targets == ["http://hooks.example.test/incoming"]


def channel_for_url(url: str, fake: FakeTime) -> WebhookChannel:
    return WebhookChannel(WebhookConfig(url, retries=0), sleep=fake.sleep, clock=fake.clock)
