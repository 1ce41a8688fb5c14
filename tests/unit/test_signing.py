"""Signing and verification against the published test vectors of both schemes."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from processes import verify
from processes.signing import sign_payload, standard_webhooks_key

# Standard Webhooks, tests/test_webhooks.py of the reference library (NOTIFY.md W1).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TIMESTAMP = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def sw_headers(**overrides: str) -> dict[str, str]:
    headers = {
        "webhook-id": SW_ID,
        "webhook-timestamp": str(SW_TIMESTAMP),
        "webhook-signature": SW_SIGNATURE,
    }
    headers.update(overrides)
    return headers


def test_standard_webhooks_matches_the_published_vector() -> None:
    headers = sign_payload(SW_BODY, SW_SECRET, SW_ID, SW_TIMESTAMP, scheme="standard-webhooks")
    assert headers == sw_headers()


def test_legacy_signature_matches_githubs_published_vector() -> None:
    # GitHub's X-Hub-Signature-256 is the same hex HMAC-SHA256 of the body, with a prefix.
    headers = sign_payload(b"Hello, World!", "It's a Secret to Everybody", "msg_1", 0)
    assert headers == {
        "X-Signature-SHA256": "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    }


def test_legacy_signature_ignores_id_and_timestamp() -> None:
    first = sign_payload(b"{}", "s3cr3t", "msg_a", 1)
    second = sign_payload(b"{}", "s3cr3t", "msg_b", 2)
    assert first == second


def test_secret_without_prefix_is_the_same_key() -> None:
    assert standard_webhooks_key(SW_SECRET) == standard_webhooks_key(SW_SECRET[len("whsec_") :])
    assert len(standard_webhooks_key(SW_SECRET)) == 24


@pytest.mark.parametrize("secret", ["whsec_not base64!!", "s3cr3t-plain-text", "whsec_"])
def test_malformed_standard_secret_is_refused_without_showing_it(secret: str) -> None:
    with pytest.raises(ValueError, match="whsec_") as caught:
        sign_payload(b"{}", secret, "msg_1", 1, scheme="standard-webhooks")
    assert "base64" in str(caught.value)
    assert "not base64!!" not in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def test_msg_id_with_a_dot_is_refused() -> None:
    with pytest.raises(ValueError, match="must not contain"):
        sign_payload(b"{}", SW_SECRET, "msg.1", 1, scheme="standard-webhooks")


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="scheme must be one of"):
        sign_payload(b"{}", "s3cr3t", "msg_1", 1, scheme="md5")


def test_verify_accepts_the_vector_within_tolerance_either_side() -> None:
    assert verify(SW_BODY, sw_headers(), SW_SECRET, now=SW_TIMESTAMP)
    assert verify(SW_BODY, sw_headers(), SW_SECRET, now=SW_TIMESTAMP + 300)
    assert verify(SW_BODY, sw_headers(), SW_SECRET, now=SW_TIMESTAMP - 300)
    assert verify(SW_BODY.decode(), sw_headers(), SW_SECRET, now=SW_TIMESTAMP)


@pytest.mark.parametrize("skew", [301, -301, 86_400])
def test_verify_rejects_timestamps_outside_tolerance(skew: int) -> None:
    assert not verify(SW_BODY, sw_headers(), SW_SECRET, now=SW_TIMESTAMP + skew)
    assert verify(SW_BODY, sw_headers(), SW_SECRET, tolerance=abs(skew), now=SW_TIMESTAMP + skew)


def test_verify_rejects_tampering() -> None:
    now = SW_TIMESTAMP
    assert not verify(b'{"test": 2432232315}', sw_headers(), SW_SECRET, now=now)
    other_secret = "whsec_" + base64.b64encode(b"x" * 24).decode()
    assert not verify(SW_BODY, sw_headers(), other_secret, now=now)
    assert not verify(SW_BODY, sw_headers(**{"webhook-id": "msg_other"}), SW_SECRET, now=now)
    # A fresh timestamp does not make an old signature valid.
    moved = sw_headers(**{"webhook-timestamp": str(now + 10)})
    assert not verify(SW_BODY, moved, SW_SECRET, now=now)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"webhook-id": SW_ID, "webhook-signature": SW_SIGNATURE},
        sw_headers(**{"webhook-timestamp": "soon"}),
        sw_headers(**{"webhook-signature": "v2,abc"}),
        sw_headers(**{"webhook-signature": "v1,é"}),
        {"X-Signature-SHA256": "é"},
    ],
)
def test_verify_rejects_incomplete_or_odd_headers_without_raising(headers: dict[str, str]) -> None:
    assert verify(SW_BODY, headers, SW_SECRET, now=SW_TIMESTAMP) is False


def test_verify_accepts_any_of_several_signatures_for_rotation() -> None:
    rotated = sw_headers(**{"webhook-signature": f"v1,bm90IGl0 {SW_SIGNATURE}"})
    assert verify(SW_BODY, rotated, SW_SECRET, now=SW_TIMESTAMP)


def test_verify_reads_header_names_case_insensitively() -> None:
    shouted = {name.upper(): value for name, value in sw_headers().items()}
    assert verify(SW_BODY, shouted, SW_SECRET, now=SW_TIMESTAMP)


def test_verify_legacy_signature() -> None:
    body = b'{"process_name":"orders"}'
    digest = hmac.new(b"s3cr3t", body, hashlib.sha256).hexdigest()
    assert verify(body, {"x-signature-sha256": digest}, "s3cr3t")
    assert verify(body, {"X-Signature-SHA256": digest.upper()}, "s3cr3t")
    assert not verify(body + b" ", {"X-Signature-SHA256": digest}, "s3cr3t")
    assert not verify(body, {"X-Signature-SHA256": digest}, "other")


def test_pinning_standard_webhooks_refuses_a_legacy_signature() -> None:
    body = b"{}"
    digest = hmac.new(SW_SECRET.encode(), body, hashlib.sha256).hexdigest()
    legacy = {"X-Signature-SHA256": digest}
    assert verify(body, legacy, SW_SECRET)
    assert not verify(body, legacy, SW_SECRET, scheme="standard-webhooks")


@pytest.mark.parametrize(
    "stamp",
    [
        "\u00b2",  # "²": latin-1, as a framework decodes a header; isdigit() but not int()
        "9" * 5000,  # past int()'s digit limit
        "\u0661\u0666\u0661\u0664",  # Arabic-Indic digits: never what a sender signs
    ],
)
def test_verify_answers_false_for_any_timestamp_header(stamp: str) -> None:
    odd = sw_headers(**{"webhook-timestamp": stamp})
    assert verify(SW_BODY, odd, SW_SECRET, now=SW_TIMESTAMP) is False


def test_a_request_choosing_standard_webhooks_cannot_make_a_legacy_receiver_raise() -> None:
    # The receiver holds a legacy secret; the sender picks the scheme by its headers.
    forged = sw_headers(**{"webhook-timestamp": str(SW_TIMESTAMP)})
    assert verify(SW_BODY, forged, "s3cr3t", now=SW_TIMESTAMP) is False


def test_a_signature_header_with_a_lone_surrogate_is_false_not_an_error() -> None:
    odd = sw_headers(**{"webhook-signature": "v1,\udc80"})
    assert verify(SW_BODY, odd, SW_SECRET, now=SW_TIMESTAMP) is False
    assert verify(SW_BODY, {"X-Signature-SHA256": "\udc80"}, "s3cr3t") is False
    lone = sw_headers(**{"webhook-id": "msg_\udc80"})
    assert verify(SW_BODY, lone, SW_SECRET, now=SW_TIMESTAMP) is False


def test_pinning_standard_webhooks_with_a_legacy_secret_is_the_receivers_mistake() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        verify(SW_BODY, {}, "s3cr3t", scheme="standard-webhooks")
