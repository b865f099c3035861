"""Work handed to a queue: the port use cases send to, and its SQS adapter.

A worker function reads the queue (``entrypoints.queue_worker``); locally, the embedded
queues are drained into the same handlers (``chalicelib.local.queues``).

A failure becomes ``QueueNotReached`` with the service's error code only, raised ``from
None``: botocore's exception may carry the request, and the request carries the body.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError


class QueueNotReached(Exception):
    """The queue did not take the message; ``code`` is the service's error code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class MessageQueue(Protocol):
    def send(self, body: str) -> None:
        """Queue one message, or raise ``QueueNotReached``."""

    def send_all(self, bodies: list[str]) -> None:
        """Queue every message, ten a call, or raise ``QueueNotReached``."""


class SqsQueue:
    """Creates its client at the first message: the authorizer's function builds the same
    container and never queues anything, so its cold start does not load SQS's model."""

    def __init__(self, connect: Callable[[], Any], url: str) -> None:
        self._connect = connect
        self._sqs: Any = None
        self._url = url
        self._lock = threading.Lock()

    def _client(self) -> Any:
        with self._lock:
            if self._sqs is None:
                self._sqs = self._connect()
        return self._sqs

    def send(self, body: str) -> None:
        try:
            self._client().send_message(QueueUrl=self._url, MessageBody=body)
        except ClientError as exc:
            raise QueueNotReached(str(exc.response.get("Error", {}).get("Code", "ClientError"))) from None
        except BotoCoreError as exc:
            raise QueueNotReached(type(exc).__name__) from None

    def send_all(self, bodies: list[str]) -> None:
        sqs = self._client()
        for start in range(0, len(bodies), 10):  # SendMessageBatch takes ten at most
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])]
            try:
                answer = sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            except ClientError as exc:
                raise QueueNotReached(str(exc.response.get("Error", {}).get("Code", "ClientError"))) from None
            except BotoCoreError as exc:
                raise QueueNotReached(type(exc).__name__) from None
            if answer.get("Failed"):
                raise QueueNotReached(str(answer["Failed"][0].get("Code", "BatchEntryFailed")))


class DeliverAgain(Exception):
    """Raised by a message's handler when the message is to be delivered again later (an
    expected, already-logged failure such as a provider refusing): the worker reports it
    as a batch item failure without logging it as a bug."""
