"""Cursor pagination over one partition of the table or of an index.

A cursor is the last returned item's key, signed (HMAC) and base64url-encoded, so it
is opaque to clients and cannot be forged to start in someone else's partition. A page
fetches ``limit + 1`` items to know whether there is a next page: ``next_cursor`` is
``None`` exactly at the end.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.indexes import Index
from pynamodb.models import Model

from ...domain.errors import InvalidRequest


@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    next_cursor: str | None


class InvalidCursor(InvalidRequest):
    """The cursor was not issued by this API for this list."""

    code = "invalid_cursor"
    default_message = "The cursor is not valid for this list."


class Cursors:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()[:32]

    def encode(self, partition: str, key: dict[str, Any]) -> str:
        payload = json.dumps({"p": partition, "k": key}, separators=(",", ":"), sort_keys=True).encode()
        return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + self._sign(payload)

    def decode(self, partition: str, cursor: str) -> dict[str, Any]:
        try:
            body, signature = cursor.rsplit(".", 1)
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            if not hmac.compare_digest(signature, self._sign(payload)):
                raise ValueError("signature")
            data = json.loads(payload)
        except (ValueError, TypeError) as exc:
            raise InvalidCursor() from exc
        if data.get("p") != partition or not isinstance(data.get("k"), dict):
            raise InvalidCursor()
        return data["k"]


def key_attributes_of(source: type[Model] | Index) -> tuple[str, ...]:
    """The attributes of a page's last evaluated key: the table's keys, plus the index's
    (every GSI of this table is ``gsiN`` with keys ``gsiNpk``/``gsiNsk``)."""
    if isinstance(source, Index):
        name = source.Meta.index_name
        return ("pk", "sk", f"{name}pk", f"{name}sk")
    return ("pk", "sk")


def query_page[T](
    source: type[Model] | Index,
    hash_key: str,
    *,
    cursors: Cursors,
    limit: int,
    cursor: str | None,
    range_key_condition: Condition | None = None,
    newest_first: bool = False,
    convert: Callable[[Any], T] = lambda item: item,
) -> Page[T]:
    key_attributes = key_attributes_of(source)
    start = None
    if cursor:
        start = {name: {"S": value} for name, value in cursors.decode(hash_key, cursor).items()}
        if set(start) != set(key_attributes):
            raise InvalidCursor()
    results = source.query(
        hash_key,
        range_key_condition=range_key_condition,
        scan_index_forward=not newest_first,
        limit=limit + 1,
        page_size=limit + 1,
        last_evaluated_key=start,
    )
    items = list(results)
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        last = items[-1]
        next_cursor = cursors.encode(hash_key, {name: getattr(last, name) for name in key_attributes})
    return Page([convert(item) for item in items], next_cursor)
