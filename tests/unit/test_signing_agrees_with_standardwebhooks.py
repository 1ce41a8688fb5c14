"""``verify()`` and ``sign_payload()`` agree with the official ``standardwebhooks`` library.

One table of requests, valid and not, each judged by both: the reference library's
``Webhook.verify`` (which raises on a bad request) and ours (which answers False). Odd
timestamp headers ("1.5e9", Arabic-Indic digits), which the reference library parses as
floats, are left out on purpose: no sender signs them, and ours refuses them (see
test_signing.py).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from processes import verify
from processes.signing import sign_payload, standard_webhooks_key

KEY = bytes(range(32))
PADDED = "whsec_" + base64.b64encode(KEY).decode()  # 44 characters after the prefix
UNPADDED = PADDED.rstrip("=")  # 43: how many services show a 32-byte secret
OTHER = "whsec_" + base64.b64encode(b"o" * 24).decode()
SHORT_KEY = "whsec_" + base64.b64encode(b"s" * 25).decode().rstrip("=")  # two '=' dropped
BODY = b'{"process_name":"nightly","entries":{}}'
MSG_ID = "msg_2dQ7x"

Headers = dict[str, str]


def signed(secret: str, *, body: bytes = BODY, skew: int = 0, msg_id: str = MSG_ID) -> Headers:
    """Headers as our channel sends them, ``skew`` seconds away from now."""
    return sign_payload(body, secret, msg_id, int(time.time()) + skew, scheme="standard-webhooks")


def official(secret: str, *, body: bytes = BODY, skew: int = 0) -> Headers:
    """Headers signed by the reference library itself."""
    stamp = int(time.time()) + skew
    signature = Webhook(secret).sign(MSG_ID, datetime.fromtimestamp(stamp, tz=UTC), body)
    return {"webhook-id": MSG_ID, "webhook-timestamp": str(stamp), "webhook-signature": signature}


def edited(headers: Headers, **changes: str) -> Headers:
    return {**headers, **{name.replace("_", "-"): value for name, value in changes.items()}}


def rotated(headers: Headers) -> Headers:
    wrong = signed(OTHER)["webhook-signature"]
    return edited(headers, webhook_signature=f"{wrong} {headers['webhook-signature']}")


# (what, receiver's secret, the request's headers, its body)
CASES: list[tuple[str, str, Callable[[], Headers], bytes]] = [
    ("ours, padded secret", PADDED, lambda: signed(PADDED), BODY),
    ("ours, unpadded secret", UNPADDED, lambda: signed(UNPADDED), BODY),
    ("signed unpadded, verified padded", PADDED, lambda: signed(UNPADDED), BODY),
    ("key of 25 bytes, two '=' dropped", SHORT_KEY, lambda: signed(SHORT_KEY), BODY),
    ("secret without its prefix", PADDED, lambda: signed(PADDED.removeprefix("whsec_")), BODY),
    ("theirs, verified by us", UNPADDED, lambda: official(UNPADDED), BODY),
    (
        "header names in capitals",
        PADDED,
        lambda: {k.title(): v for k, v in signed(PADDED).items()},
        BODY,
    ),
    ("rotation: one of two signatures", PADDED, lambda: rotated(signed(PADDED)), BODY),
    ("a body that is not UTF-8", PADDED, lambda: signed(PADDED, body=b"\xff\xfe"), b"\xff\xfe"),
    ("four minutes old", PADDED, lambda: signed(PADDED, skew=-240), BODY),
    ("four minutes ahead", PADDED, lambda: signed(PADDED, skew=240), BODY),
    ("ten minutes old", PADDED, lambda: signed(PADDED, skew=-600), BODY),
    ("ten minutes ahead", PADDED, lambda: signed(PADDED, skew=600), BODY),
    ("another secret", OTHER, lambda: signed(PADDED), BODY),
    ("a changed body", PADDED, lambda: signed(PADDED), BODY + b" "),
    ("a changed id", PADDED, lambda: edited(signed(PADDED), webhook_id="msg_other"), BODY),
    (
        "a changed timestamp",
        PADDED,
        lambda: edited(signed(PADDED), webhook_timestamp=str(int(time.time()) - 1)),
        BODY,
    ),
    (
        "version v2",
        PADDED,
        lambda: edited(
            signed(PADDED),
            webhook_signature=signed(PADDED)["webhook-signature"].replace("v1", "v2"),
        ),
        BODY,
    ),
    (
        "signature without its version",
        PADDED,
        lambda: edited(signed(PADDED), webhook_signature=signed(PADDED)["webhook-signature"][3:]),
        BODY,
    ),
    (
        "signature cut by one character",
        PADDED,
        lambda: edited(signed(PADDED), webhook_signature=signed(PADDED)["webhook-signature"][:-1]),
        BODY,
    ),
    ("no signature header", PADDED, lambda: edited(signed(PADDED), webhook_signature=""), BODY),
    ("no id header", PADDED, lambda: edited(signed(PADDED), webhook_id=""), BODY),
    ("no timestamp header", PADDED, lambda: edited(signed(PADDED), webhook_timestamp=""), BODY),
    ("a timestamp in words", PADDED, lambda: edited(signed(PADDED), webhook_timestamp="now"), BODY),
]


def official_verdict(secret: str, headers: Headers, body: bytes) -> bool:
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True


@pytest.mark.parametrize(
    ("secret", "make_headers", "body"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_verify_agrees_with_the_official_library(
    secret: str, make_headers: Callable[[], Headers], body: bytes
) -> None:
    headers = make_headers()
    expected = official_verdict(secret, headers, body)
    assert verify(body, headers, secret) is expected


def test_the_table_holds_both_verdicts() -> None:
    verdicts = [official_verdict(secret, make(), body) for _, secret, make, body in CASES]
    assert verdicts.count(True) >= 8
    assert verdicts.count(False) >= 10


def test_an_unpadded_secret_is_the_same_key_as_the_official_librarys() -> None:
    assert len(UNPADDED.removeprefix("whsec_")) == 43
    assert standard_webhooks_key(UNPADDED) == KEY
    assert Webhook(UNPADDED)._whsecret == KEY


def test_our_signature_is_the_official_one() -> None:
    stamp = 1_777_000_000
    ours = sign_payload(BODY, UNPADDED, MSG_ID, stamp, scheme="standard-webhooks")
    theirs = Webhook(UNPADDED).sign(MSG_ID, datetime.fromtimestamp(stamp, tz=UTC), BODY)
    assert ours["webhook-signature"] == theirs
