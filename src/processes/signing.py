"""Sign a webhook body, and check a signature on the receiving side: pure functions.

Two schemes: the legacy ``X-Signature-SHA256`` (hex HMAC-SHA256 of the body, what v7
receivers check) and Standard Webhooks v1. Imports nothing from the package.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "HMAC_SHA256",
    "SCHEMES",
    "SIGNATURE_HEADER",
    "STANDARD_WEBHOOKS",
    "sign_payload",
    "standard_webhooks_key",
    "verify",
]

HMAC_SHA256 = "hmac-sha256"
STANDARD_WEBHOOKS = "standard-webhooks"
SCHEMES = (HMAC_SHA256, STANDARD_WEBHOOKS)

#: The legacy header: hex HMAC-SHA256 of the exact body bytes, no timestamp.
SIGNATURE_HEADER = "X-Signature-SHA256"

_WHSEC_PREFIX = "whsec_"
# ASCII digits only, and few enough for int(): str.isdigit() also accepts "²", which int()
# refuses, and a 5,000-digit header would exceed int()'s digit limit.
_TIMESTAMP = re.compile(r"[0-9]{1,20}")


def standard_webhooks_key(secret: str) -> bytes:
    """Return the HMAC key of a Standard Webhooks secret (``whsec_`` + base64, padded or not).

    Without the ``whsec_`` prefix the base64 must be padded.

    Raises:
        ValueError: the secret is not base64; the message never shows the secret.
    """
    encoded = secret.removeprefix(_WHSEC_PREFIX)
    if encoded != secret:
        # Unpadded base64 is common after the prefix (32 random bytes as 43 characters)
        # and the reference library accepts it: pad to a multiple of four, then decode
        # strictly. Without the prefix only padded base64 is a key, so that a legacy
        # secret ("s3cr3t") given by mistake is still refused.
        encoded += "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise ValueError(
            "a Standard Webhooks secret must be 'whsec_' followed by base64 (24 to 64 random bytes)"
        )
    return key


def _hex_hmac(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _standard_signature(body: bytes, key: bytes, msg_id: str, timestamp: int) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign_payload(
    body: bytes,
    secret: str,
    msg_id: str,
    timestamp: int,
    *,
    scheme: str = HMAC_SHA256,
) -> dict[str, str]:
    """Return the headers that sign ``body``; send exactly these bytes with them.

    ``msg_id`` and ``timestamp`` (Unix seconds) are part of the signed content only for
    ``scheme="standard-webhooks"``, which must not see a ``.`` in ``msg_id``.

    Raises:
        ValueError: unknown scheme, a malformed secret, or a ``.`` in ``msg_id``.
    """
    if scheme == HMAC_SHA256:
        return {SIGNATURE_HEADER: _hex_hmac(body, secret)}
    if scheme == STANDARD_WEBHOOKS:
        if "." in msg_id:
            raise ValueError(f"msg_id must not contain '.', got {msg_id!r}")
        key = standard_webhooks_key(secret)
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": _standard_signature(body, key, msg_id, timestamp),
        }
    raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    tolerance: float = 300,
    *,
    scheme: str | None = None,
    now: float | None = None,
) -> bool:
    """Return True when ``headers`` hold a valid signature of ``body`` made with ``secret``.

    For receivers. The scheme is read from the headers unless ``scheme`` pins it. A
    Standard Webhooks timestamp must lie within ``tolerance`` seconds of ``now`` (default:
    the current time), in either direction. The legacy ``X-Signature-SHA256`` carries no
    timestamp, so a captured request can be replayed: pin
    ``scheme="standard-webhooks"`` to refuse it. Whatever the headers hold, the answer is
    True or False: a sender cannot make this raise.

    Raises:
        ValueError: ``scheme`` is unknown, or it is ``"standard-webhooks"`` and ``secret``
            is not ``whsec_`` + base64 (a mistake of the receiver's, never of a request).
    """
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    found = {name.lower(): value for name, value in headers.items()}
    chosen_by_request = scheme is None
    if scheme is None:
        scheme = STANDARD_WEBHOOKS if "webhook-signature" in found else HMAC_SHA256
    if scheme == HMAC_SHA256:
        given = found.get(SIGNATURE_HEADER.lower(), "").strip().lower()
        return bool(given) and _same(given, _hex_hmac(raw, secret))
    if scheme != STANDARD_WEBHOOKS:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    try:
        key = standard_webhooks_key(secret)
    except ValueError:
        if chosen_by_request:
            return False  # a legacy receiver's secret cannot have made this signature
        raise
    msg_id = found.get("webhook-id", "")
    stamp = found.get("webhook-timestamp", "")
    signatures = found.get("webhook-signature", "")
    if not (msg_id and _TIMESTAMP.fullmatch(stamp) and signatures):
        return False
    try:
        msg_id.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no sender signed that
        return False
    timestamp = int(stamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = _standard_signature(raw, key, msg_id, timestamp)
    # Several space-separated signatures are allowed, so a receiver can rotate secrets.
    return any(
        _same(candidate, expected)
        for candidate in signatures.split()
        if candidate.startswith("v1,")
    )


def _same(given: str, expected: str) -> bool:
    # compare_digest takes ASCII str only; a header may hold anything (é, a lone surrogate).
    return given.isascii() and hmac.compare_digest(given, expected)
