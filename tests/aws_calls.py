"""Records the AWS calls a block of code makes on this thread, as botocore sees them.

A ``before-call`` handler is added to botocore's built-in handlers when this module is
imported (``tests/conftest.py`` imports it before any session exists), so every client
of every session in the test process, PynamoDB's included, reports its calls here; only
a thread inside ``recorded()`` keeps them. A call is its service, operation and target
(table, queue, key), plus what would make two calls of the same name differ on the wire:
the number of items of a transaction, the size of a queued message.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore import handlers

_recording = threading.local()


def _describe(service: str, operation: str, body: dict[str, Any]) -> tuple[Any, ...]:
    if "TransactItems" in body:
        tables = sorted({next(iter(item.values()))["TableName"] for item in body["TransactItems"]})
        return (service, operation, tuple(tables), len(body["TransactItems"]))
    if "MessageBody" in body:
        return (service, operation, body["QueueUrl"], len(body["MessageBody"]))
    target = body.get("TableName") or body.get("QueueUrl") or body.get("KeyId") or body.get("SecretId")
    return (service, operation, target)


def _record(model: Any, params: dict[str, Any], **_: Any) -> None:
    calls = getattr(_recording, "calls", None)
    if calls is None:
        return
    raw = params.get("body") or b"{}"
    try:
        body = json.loads(raw)
    except (TypeError, ValueError):
        body = {}
    calls.append(_describe(model.service_model.service_name, model.name, body))


handlers.BUILTIN_HANDLERS.append(("before-call", _record))


@contextmanager
def recorded() -> Iterator[list[tuple[Any, ...]]]:
    """The AWS calls made on this thread inside the block, in order."""
    _recording.calls = []
    try:
        yield _recording.calls
    finally:
        del _recording.calls
