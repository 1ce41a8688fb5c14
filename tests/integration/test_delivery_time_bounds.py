"""A webhook or chat post ends at ``timeout`` per attempt, whatever a server on 127.0.0.1 sends.

The servers here trickle: one byte at a time, each well within the timeout, so a timeout
that bounded each socket read would never fire. They give up on their own after
``SERVER_GIVES_UP`` seconds, so a regression fails the test instead of hanging it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from factories import orders_payload_report
from processes import SlackChannel, WebhookChannel, WebhookConfig
from processes.channels.webhook import (
    BACKOFF_MAX_SECONDS,
    MAX_RETRY_AFTER_SECONDS,
    WebhookDeliveryError,
)

pytestmark = pytest.mark.integration

SERVER_GIVES_UP = 20.0
BYTE_EVERY = 0.05  # seconds between two bytes: far below any timeout used here


@contextmanager
def trickling_server(
    head: bytes, trickled: bytes = b"", *, head_at_once: bool = False
) -> Iterator[tuple[int, list[bytes]]]:
    """Answer each connection with ``head``, then ``trickled`` one byte every BYTE_EVERY s.

    Unless ``head_at_once``, the head is trickled too.
    """
    stop = threading.Event()
    requests: list[bytes] = []

    def answer(connection: socket.socket) -> None:
        with connection:
            connection.settimeout(SERVER_GIVES_UP)
            try:
                requests.append(connection.recv(65536))
                given_up = time.monotonic() + SERVER_GIVES_UP
                slow = trickled
                if head_at_once:
                    connection.sendall(head)
                else:
                    slow = head + trickled
                for byte in slow:
                    if stop.wait(BYTE_EVERY) or time.monotonic() > given_up:
                        return
                    connection.sendall(bytes([byte]))
            except OSError:
                return  # the client hung up: what a bounded client does

    def accept(listener: socket.socket) -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(SERVER_GIVES_UP)
        thread = threading.Thread(target=accept, args=(listener,), daemon=True)
        thread.start()
        try:
            yield listener.getsockname()[1], requests
        finally:
            stop.set()
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below at once
    thread.join(5)


ENDLESS_HEAD = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 100_000 + b"\r\n\r\n"
TRICKLED_ERROR = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 100000\r\n\r\n"


def test_a_status_line_sent_one_byte_at_a_time_ends_at_the_timeout() -> None:
    sleeps: list[float] = []
    with trickling_server(ENDLESS_HEAD) as (port, requests):
        channel = WebhookChannel(
            WebhookConfig(f"http://127.0.0.1:{port}/hook", timeout=0.5, retries=1),
            sleep=sleeps.append,
        )
        began = time.monotonic()
        with pytest.warns(UserWarning, match=r"after 2 attempt\(s\): no answer within 0.5 s"):
            (delivery,) = orders_payload_report().notify(channel)
        took = time.monotonic() - began
    assert not delivery.ok
    assert isinstance(delivery.error, WebhookDeliveryError)
    assert len(requests) == 2  # retried once, as a timeout is
    assert len(sleeps) == 1
    # Two attempts of 0.5 s; a per-read timeout would have run until the server gave up.
    assert took < SERVER_GIVES_UP / 4, took


def test_a_trickled_error_body_ends_at_the_timeout() -> None:
    with trickling_server(TRICKLED_ERROR, b"x" * 100_000, head_at_once=True) as (port, requests):
        channel = WebhookChannel(
            WebhookConfig(f"http://127.0.0.1:{port}/hook", timeout=1, retries=0),
            sleep=lambda _: None,
        )
        began = time.monotonic()
        with pytest.warns(UserWarning, match=r"after 1 attempt\(s\): no answer within 1 s"):
            (delivery,) = orders_payload_report().notify(channel)
        took = time.monotonic() - began
    assert not delivery.ok
    assert len(requests) == 1
    assert took < SERVER_GIVES_UP / 4, took


def test_a_chat_post_is_bounded_the_same_way() -> None:
    with trickling_server(ENDLESS_HEAD) as (port, requests):
        channel = SlackChannel(
            f"http://127.0.0.1:{port}/services/T0/B0/XYZ", timeout=0.5, retries=0
        )
        began = time.monotonic()
        with pytest.warns(UserWarning, match=r"no answer within 0.5 s"):
            (delivery,) = orders_payload_report().notify(channel)
        took = time.monotonic() - began
    assert not delivery.ok
    assert len(requests) == 1
    assert took < SERVER_GIVES_UP / 4, took


def test_the_pauses_between_attempts_stay_within_the_documented_bound() -> None:
    """docs/notifications.md: at most (retries + 1) x timeout + retries x 60 s in all."""
    sleeps: list[float] = []
    head = b"HTTP/1.1 503 Busy\r\nRetry-After: 100000\r\nContent-Length: 0\r\n\r\n"
    with trickling_server(head, head_at_once=True) as (port, requests):
        channel = WebhookChannel(
            WebhookConfig(f"http://127.0.0.1:{port}/hook", timeout=5, retries=3),
            sleep=sleeps.append,
        )
        with pytest.warns(UserWarning, match=r"HTTP 503"):
            orders_payload_report().notify(channel)
    assert len(requests) == 4
    assert sleeps == [MAX_RETRY_AFTER_SECONDS] * 3
    assert BACKOFF_MAX_SECONDS <= MAX_RETRY_AFTER_SECONDS == 60
