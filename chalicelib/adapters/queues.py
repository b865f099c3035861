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


class SqsQueue:
    """Creates its client at the first message: the authorizer's function builds the same
    container and never queues anything, so its cold start does not load SQS's model."""

    def __init__(self, connect: Callable[[], Any], url: str) -> None:
        self._connect = connect
        self._sqs: Any = None
        self._url = url
        self._lock = threading.Lock()

    def send(self, body: str) -> None:
        with self._lock:
            if self._sqs is None:
                self._sqs = self._connect()
        try:
            self._sqs.send_message(QueueUrl=self._url, MessageBody=body)
        except ClientError as exc:
            raise QueueNotReached(str(exc.response.get("Error", {}).get("Code", "ClientError"))) from None
        except BotoCoreError as exc:
            raise QueueNotReached(type(exc).__name__) from None


class DeliverAgain(Exception):
    """Raised by a message's handler when the message is to be delivered again later (an
    expected, already-logged failure such as a provider refusing): the worker reports it
    as a batch item failure without logging it as a bug."""
