"""Signing a request to the member-points API, as an integrator does (README "Signed
requests"). Standard library only: copy this file into the shop or the game server.

    headers = signed_headers("POST", "https://api.example.com/v1/events", body,
                             key_id="shop", secret=SECRET)

The server checks with its own implementation (``chalicelib.domain.signing``); the
tests hold the two to the same hand-computed signature.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote, unquote, urlsplit

SCHEME = "AIBI-HMAC-SHA256-V1"


def _encode(text: str) -> str:
    return quote(text, safe="-._~")


def _pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in filter(None, query.split("&")):
        name, _, value = part.partition("=")
        pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return sorted(pairs)


def string_to_sign(method: str, url: str, body: bytes, key_id: str, timestamp: str, base_path: str = "") -> str:
    """The canonical request of README "Signed requests". ``base_path`` is what the
    deployment's URL puts before ``/v1/`` (an API Gateway stage such as ``/api``), which
    is not signed."""
    parts = urlsplit(url)
    path = parts.path
    if base_path and path.startswith(base_path.rstrip("/") + "/"):
        path = path[len(base_path.rstrip("/")) :]
    canonical_path = "/".join(_encode(unquote(segment)) for segment in path.split("/"))
    canonical_query = "&".join(f"{name}={value}" for name, value in _pairs(parts.query))
    lines = (
        SCHEME,
        method.upper(),
        canonical_path,
        canonical_query,
        timestamp,
        key_id,
        hashlib.sha256(body).hexdigest(),
    )
    return "\n".join(lines)


def signed_headers(
    method: str,
    url: str,
    body: bytes,
    *,
    key_id: str,
    secret: str,
    timestamp: int | None = None,
    base_path: str = "",
) -> dict[str, str]:
    """``X-Integration-Key``, ``X-Timestamp`` and ``X-Signature`` for this request; send
    the body exactly as passed here (the signature covers its bytes)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    canonical = string_to_sign(method, url, body, key_id, stamp, base_path)
    signature = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return {"X-Integration-Key": key_id, "X-Timestamp": stamp, "X-Signature": signature}
