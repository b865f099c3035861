"""Signed requests from trusted systems (API.md "Signed events"):
``X-Signature = hex HMAC-SHA256(secret, timestamp + "." + raw body)``, with the timestamp
no more than 300 s from now. Together with the caller's event id (deduplicated by the
ledger) this stops both forgery and replay.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from .errors import AuthError

WINDOW_S = 300


class InvalidSignature(AuthError):
    """The key is unknown, the timestamp is stale, or the signature does not match."""

    code = "invalid_signature"
    default_message = "The request signature is missing, stale or wrong."


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(
    keys: Mapping[str, str],
    key_id: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: datetime,
    window_s: int = WINDOW_S,
) -> str:
    """The verified key id, or ``InvalidSignature`` (one answer for every failure)."""
    if not key_id or not timestamp or not signature or not signature.isascii() or key_id not in keys:
        raise InvalidSignature()
    if not timestamp.isascii() or not timestamp.isdigit() or abs(int(now.timestamp()) - int(timestamp)) > window_s:
        raise InvalidSignature()
    expected = sign(keys[key_id], timestamp, body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise InvalidSignature()
    return key_id
