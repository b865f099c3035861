"""Signed requests from trusted systems (API.md "Signed events"): the canonical request,
the integration keys with their scopes and rotating secrets, and the check.

``X-Signature`` = hex HMAC-SHA256(secret, canonical request), where the canonical request
is these seven lines joined by ``"\\n"`` (no newline at the end), all ASCII:

1. ``AIBI-HMAC-SHA256-V1``, the scheme and its version;
2. the HTTP method in upper case (``POST``);
3. the canonical path: the API's path, starting ``/v1/`` (without the stage or base
   path a deployment's URL may put in front), each segment percent-decoded and then
   percent-encoded, keeping only ``A-Z a-z 0-9 - . _ ~`` as they are;
4. the canonical query: each name and value percent-encoded in the same way, joined as
   ``name=value``, the pairs sorted (by name, then value) and joined by ``&``; an empty
   line when there is no query;
5. the ``X-Timestamp`` header: unix seconds, 1 to 12 ASCII digits, at most 300 s from
   the server's clock;
6. the ``X-Integration-Key`` header: the key id;
7. the hex SHA-256 digest of the raw body (of the empty string when there is none).

Binding the method, the path (so the order id of a capture, void or refund), the query
and the key id to the body means a captured request replays on nothing but itself,
inside its 300 s; the event id (deduplicated per key by the ledger) and the shop's order
and refund ids stop that last replay.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from .errors import AuthError

SCHEME = "AIBI-HMAC-SHA256-V1"
WINDOW_S = 300
MAX_SECRETS = 2  # the current one and the next one, while a rotation is under way
MIN_SECRET_CHARS = 16

_KEY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9A-Fa-f]{64}")
# a scope names one event type or one shop route; a final "*" grants every scope it prefixes
_SCOPE = re.compile(r"[a-z0-9][a-z0-9._:-]{0,99}\*?|\*")

# Scopes (README "Deploy"): events:<event type> for each type of POST /v1/events, and one
# per shop route. "events:*", "shop:*" or "*" grant a whole family.
SHOP_HOLD = "shop:aibi-payments:hold"
SHOP_CAPTURE = "shop:aibi-payments:capture"
SHOP_VOID = "shop:aibi-payments:void"
SHOP_REFUND = "shop:aibi-payments:refund"


def event_scope(event_type: str) -> str:
    return f"events:{event_type}"


class InvalidSignature(AuthError):
    """The key is unknown, the timestamp is stale, or the signature does not match."""

    code = "invalid_signature"
    default_message = "The request signature is missing, stale or wrong."


class MissingScope(AuthError):
    """The request is correctly signed, but its key may not call this route or send this event type."""

    code = "missing_scope"
    default_message = "This integration key may not make this call."


@dataclass(frozen=True)
class IntegrationKey:
    """One integrator's key: up to two secrets (either verifies) and what it may call."""

    key_id: str
    secrets: tuple[str, ...]
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return any(
            granted == scope or (granted.endswith("*") and scope.startswith(granted[:-1])) for granted in self.scopes
        )

    def require(self, scope: str) -> None:
        if not self.allows(scope):
            raise MissingScope(f"This integration key lacks the scope {scope}.", scope=scope)


def parse_keys(raw: Mapping[str, Any]) -> dict[str, IntegrationKey]:
    """The integration-keys secret, ``{"<key id>": {"secrets": [...], "scopes": [...]}}``;
    ``ValueError`` naming the key for anything else, so a bad secret fails loudly."""
    keys = {}
    for key_id, entry in raw.items():
        if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
            raise ValueError(f"integration key id {key_id!r}: 1 to 64 of A-Z a-z 0-9 _ . : -")
        if not isinstance(entry, dict) or set(entry) != {"secrets", "scopes"}:
            raise ValueError(f"integration key {key_id}: an object with exactly 'secrets' and 'scopes'")
        secrets, scopes = entry["secrets"], entry["scopes"]
        if (
            not isinstance(secrets, list)
            or not 1 <= len(secrets) <= MAX_SECRETS
            or not all(isinstance(s, str) and len(s) >= MIN_SECRET_CHARS for s in secrets)
        ):
            raise ValueError(
                f"integration key {key_id}: 'secrets' is 1 to {MAX_SECRETS} strings "
                f"of at least {MIN_SECRET_CHARS} characters"
            )
        if (
            not isinstance(scopes, list)
            or not scopes
            or not all(isinstance(s, str) and _SCOPE.fullmatch(s) for s in scopes)
        ):
            raise ValueError(f"integration key {key_id}: 'scopes' is a non-empty list of scope names")
        keys[key_id] = IntegrationKey(key_id, tuple(secrets), frozenset(scopes))
    return keys


# --- the canonical request ---------------------------------------------------------------------------
def _encode(text: str) -> str:
    return quote(text, safe="-._~")


def canonical_path(segments: Iterable[str]) -> str:
    """The path from its decoded segments (``["v1", "events"]`` is ``/v1/events``)."""
    return "/" + "/".join(_encode(segment) for segment in segments)


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{name}={value}" for name, value in sorted((_encode(n), _encode(v)) for n, v in pairs))


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers, as the server received it (path segments and query
    values already decoded), with the three signing headers as sent."""

    method: str
    path_segments: tuple[str, ...]
    query: tuple[tuple[str, str], ...]
    body: bytes
    key_id: str | None
    timestamp: str | None
    signature: str | None


def canonical_request(method: str, path: str, query: str, timestamp: str, key_id: str, body: bytes) -> str:
    """The one definition of the string that is signed (see the module docstring)."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((SCHEME, method.upper(), path, query, timestamp, key_id, digest))


def sign(secret: str, canonical: str) -> str:
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def verify(
    keys: Mapping[str, IntegrationKey], request: SignedRequest, now: datetime, window_s: int = WINDOW_S
) -> IntegrationKey:
    """The key that signed ``request``, or ``InvalidSignature`` (one answer for every failure)."""
    key_id, timestamp, signature = request.key_id, request.timestamp, request.signature
    # shapes first: an oversized or non-ASCII header never reaches int() or the key table
    if not key_id or not _KEY_ID.fullmatch(key_id) or key_id not in keys:
        raise InvalidSignature()
    if not timestamp or not _TIMESTAMP.fullmatch(timestamp) or abs(int(now.timestamp()) - int(timestamp)) > window_s:
        raise InvalidSignature()
    if not signature or not _SIGNATURE.fullmatch(signature):
        raise InvalidSignature()
    canonical = canonical_request(
        request.method,
        canonical_path(request.path_segments),
        canonical_query(request.query),
        timestamp,
        key_id,
        request.body,
    )
    key = keys[key_id]
    # compare with every secret (no early exit), so timing says nothing about which one matched
    matches = [hmac.compare_digest(sign(secret, canonical), signature.lower()) for secret in key.secrets]
    if not any(matches):
        raise InvalidSignature()
    return key
