"""Work handed to a queue: the port use cases send to, and its SQS adapter.

A worker function reads the queue (``entrypoints.queue_worker``); locally, the embedded
queues are drained into the same handlers (``chalicelib.local.queues``).

A failure becomes ``QueueNotReached`` with the service's error code only, raised ``from
None``: botocore's exception may carry the request, and the request carries the body.
"""

from __future__ import annotations

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
    def __init__(self, sqs_client: Any, url: str) -> None:
        self._sqs = sqs_client
        self._url = url

    def send(self, body: str) -> None:
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
