"""Faults injected where DynamoDB's answers come from: botocore's send step.

moto answers every request from a ``before-send`` handler (``BotocoreStubber``), so this
layer takes that handler's place and decides, per request, whether moto sees it and what
comes back. Everything above stays real: botocore's own retries (the same body each
time), PynamoDB's error wrapping, our unit of work and error mapping.

A fault names the operation it hits (``TransactWriteItems``, ``GetItem``...), optionally
a text its request body must contain (a key prefix picks the one transaction of a use
case), and how many requests it hits:

- ``lost_before``: the connection breaks before sending; nothing applied.
- ``lost_after``: moto applies the request, then the response is lost (a read timeout).
- ``in_progress``: moto applies it, the answer is ``TransactionInProgressException``.
- ``throttled_cancel``: the transaction is cancelled with ``ThrottlingError`` among its
  cancellation reasons; nothing applied.
- ``throttled``: the whole request is refused with
  ``ProvisionedThroughputExceededException``; nothing applied.

moto ignores ``ClientRequestToken``; DynamoDB does not (a TransactWriteItems re-sent
with the token of one that committed succeeds and changes nothing, for 10 minutes; the
same token with other parameters is ``IdempotentParameterMismatchException``), so this
layer keeps DynamoDB's documented behaviour: without it a re-send after a lost
response would be applied twice here and never in production.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
from botocore.retries.standard import ExponentialBackoff
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

# botocore makes 4 tries of each request (PynamoDB's 3 retries); a fault hitting more
# reaches our code, one hitting FOREVER never lets the request through
SDK_TRIES = 4
FOREVER = 1_000
KINDS = ("lost_before", "lost_after", "in_progress", "throttled_cancel", "throttled")
_TARGET_PREFIX = "DynamoDB_20120810."


@dataclass
class Fault:
    kind: str
    operation: str
    times: int
    contains: str | None = None
    hits: int = 0

    def matches(self, operation: str, body: str) -> bool:
        return (
            self.hits < self.times
            and operation == self.operation
            and (self.contains is None or self.contains in body)
        )


@dataclass
class FaultLayer:
    """The faults armed now, the tokens of the transactions applied, and what was sent."""

    faults: list[Fault] = field(default_factory=list)
    tokens: dict[str, tuple[str, tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, kind: str, operation: str = "TransactWriteItems", *, times: int = 1, contains: str | None = None):
        if kind not in KINDS:
            raise ValueError(kind)
        fault = Fault(kind, operation, times, contains)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def transactions(self, contains: str) -> list[str]:
        """The TransactWriteItems bodies sent that contain ``contains`` (every try)."""
        with self.lock:
            return [body for body in self.sent if contains in body]

    # --- the send step ------------------------------------------------------------------
    def handle(self, moto: BotocoreStubber, request: Any) -> AWSResponse | None:
        target = request.headers.get("X-Amz-Target")
        target = target.decode() if isinstance(target, bytes) else target
        if not target or not target.startswith(_TARGET_PREFIX):
            return None  # not DynamoDB: moto as usual
        operation = target[len(_TARGET_PREFIX) :]
        body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
        token = json.loads(body).get("ClientRequestToken") if operation == "TransactWriteItems" else None
        with self.lock:
            if operation == "TransactWriteItems":
                self.sent.append(body)
            fault = next((f for f in self.faults if f.matches(operation, body)), None)
            if fault is not None:
                fault.hits += 1
        if token is not None and token in self.tokens:
            first_body, answer = self.tokens[token]
            if json.loads(first_body) != json.loads(body):
                return _error(request, "IdempotentParameterMismatchException", "token reused with other parameters")
            if fault is None:
                return _response(request, answer)
        if fault is None:
            return self._apply(moto, request, token, body)
        if fault.kind == "lost_before":
            raise ConnectionClosedError(endpoint_url=request.url)
        if fault.kind == "throttled":
            return _error(request, "ProvisionedThroughputExceededException", "Throughput exceeds provisioned.")
        if fault.kind == "throttled_cancel":
            count = len(json.loads(body)["TransactItems"])
            reasons = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity."}]
            reasons += [{"Code": "None"}] * (count - 1)
            return _error(request, "TransactionCanceledException", "Transaction cancelled", CancellationReasons=reasons)
        # applied first, then the caller never learns it
        if token is None or token not in self.tokens:
            self._apply(moto, request, token, body)
        if fault.kind == "lost_after":
            raise ReadTimeoutError(endpoint_url=request.url)
        return _error(request, "TransactionInProgressException", "The transaction with this token is in progress.")

    def _apply(self, moto: BotocoreStubber, request: Any, token: str | None, body: str) -> AWSResponse | None:
        answer = moto.process_request(request)
        if answer is None:
            return None
        status, headers, content = answer
        content = content.encode() if isinstance(content, str) else content
        if token is not None and status == 200:
            with self.lock:
                self.tokens[token] = (body, (status, dict(headers), content))
        return _response(request, (status, dict(headers), content))


def _response(request: Any, answer: tuple[int, dict[str, str], bytes]) -> AWSResponse:
    status, headers, content = answer
    return AWSResponse(request.url, status, headers, MockRawResponse(content))  # type: ignore[arg-type]


def _error(request: Any, code: str, message: str, **extra: Any) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **extra}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault-injected"}
    return _response(request, (400, headers, body))


def install(monkeypatch: Any) -> FaultLayer:
    """Put the layer in moto's place for one test; botocore's retry waits shrink to 1 ms
    (its standard mode waits up to 1, 2, 4 s, which only makes the suite slow)."""
    layer = FaultLayer()
    original = BotocoreStubber.__call__

    def call(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
        if not self.enabled:
            return None
        answer = layer.handle(self, request)
        return answer if answer is not None else original(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", call)
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.001)
    return layer
