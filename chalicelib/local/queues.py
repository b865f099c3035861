"""The local stage's SQS: the queues of ``infra/api.yaml`` in moto, drained into the workers.

Lambda polls a queue and calls the worker function with a batch of records (an SQS
event). ``LocalQueues`` does the same in process: for every ``on_sqs_message`` function
of the app it receives up to the function's batch size, builds the event Lambda would
build, calls the very handler Lambda would call (imported from the function's handler
string) and deletes the records the answer does not name in ``batchItemFailures``. A
failed record becomes visible again after the queue's visibility timeout and goes to the
dead-letter queue after ``maxReceiveCount`` receives (moto applies the redrive policy).

``drain()`` runs until no worker queue has a visible message (the tests call it, through
``chalicelib.local.queues.drain``); ``start()`` runs it every 50 ms in a background thread
(``make dev``), so a code is in the outbox a moment after it was asked for.
"""

from __future__ import annotations

import functools
import importlib
import json
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..adapters.observability import logger

API_TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "api.yaml"
_DATA_KEY_EXPORT = "member-points-data-${Stage}-DataKeyArn"


@functools.cache
def _template() -> dict[str, Any]:
    return yaml.safe_load(API_TEMPLATE.read_text(encoding="utf-8"))


def _queue_resources() -> dict[str, dict[str, Any]]:
    """Logical name -> properties of every AWS::SQS::Queue, dead-letter targets first."""
    queues = {
        name: resource.get("Properties", {})
        for name, resource in _template()["Resources"].items()
        if resource.get("Type") == "AWS::SQS::Queue"
    }
    return dict(sorted(queues.items(), key=lambda item: "RedrivePolicy" in item[1]))


def _resolve(value: Any, stage: str, arns: dict[str, str], data_key: str) -> Any:
    """The few intrinsics a queue definition uses, with the local stage's values."""
    if isinstance(value, list):
        return [_resolve(item, stage, arns, data_key) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        text = value["Fn::Sub"].replace("${Stage}", stage)
        if "${" in text:
            raise ValueError(f"the local stage cannot resolve {value}")
        return text
    if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][1] == "Arn":
        return arns[value["Fn::GetAtt"][0]]
    if set(value) == {"Fn::ImportValue"} and value["Fn::ImportValue"] == {"Fn::Sub": _DATA_KEY_EXPORT}:
        return data_key
    if any(key.startswith("Fn::") or key == "Ref" for key in value):
        raise ValueError(f"the local stage cannot resolve {value}")
    return {key: _resolve(item, stage, arns, data_key) for key, item in value.items()}


@dataclass(frozen=True)
class _Worker:
    queue_url: str
    queue_arn: str
    handler_string: str
    batch_size: int


class _Context:
    """What a Lambda context offers the handlers (Powertools reads a few of these)."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class LocalQueues:
    def __init__(self, sqs_client: Any, stage: str, region: str) -> None:
        self.sqs = sqs_client  # the embedded SQS, for tests that look into a queue
        self._stage = stage
        self._region = region
        self.urls: dict[str, str] = {}  # logical name -> URL
        self._arns: dict[str, str] = {}
        self._names: dict[str, str] = {}  # queue name -> logical name
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def create(self, data_key: str) -> dict[str, str]:
        """Create every queue of infra/api.yaml; the environment variables the template
        sets to a queue's ``Ref`` (``Globals``), with the local URLs."""
        for logical, properties in _queue_resources().items():
            resolved = _resolve(properties, self._stage, self._arns, data_key)
            name = resolved.pop("QueueName", f"member-points-{self._stage}-{logical}")
            attributes = {k: v if isinstance(v, str) else json.dumps(v) for k, v in resolved.items()}
            url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            self.urls[logical] = url
            self._names[name] = logical
            self._arns[logical] = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
        variables = _template().get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        return {
            variable: self.urls[value["Ref"]]
            for variable, value in variables.items()
            if isinstance(value, dict) and value.get("Ref") in self.urls
        }

    def _workers(self) -> list[_Worker]:
        from app import app

        workers = []
        for source in app.event_sources:
            queue = getattr(source, "queue", None)
            if queue is None or not hasattr(source, "batch_size"):
                continue
            if queue not in self._names:
                raise ValueError(f"{source.handler_string} reads queue {queue}, which infra/api.yaml does not define")
            logical = self._names[queue]
            workers.append(_Worker(self.urls[logical], self._arns[logical], source.handler_string, source.batch_size))
        return workers

    def drain(self) -> int:
        """Deliver until no worker queue has a visible message; the records handled."""
        handled = 0
        with self._lock:
            while True:
                delivered = sum(self._deliver_batch(worker) for worker in self._workers())
                if not delivered:
                    return handled
                handled += delivered

    def _deliver_batch(self, worker: _Worker) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=worker.queue_url,
            MaxNumberOfMessages=min(worker.batch_size, 10),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._record(message, worker) for message in messages]}
        module, _, attribute = worker.handler_string.rpartition(".")
        handler = getattr(importlib.import_module(module), attribute)
        try:
            answer = handler(event, _Context(attribute))
        except Exception:
            # Lambda leaves the whole batch to come back after the visibility timeout
            logger.exception("local worker failed", extra={"handler": worker.handler_string})
            return len(messages)
        failed = {item["itemIdentifier"] for item in (answer or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=worker.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(messages)

    def _record(self, message: dict[str, Any], worker: _Worker) -> dict[str, Any]:
        """One record as Lambda's SQS event carries it (camelCase, attributes as strings)."""
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value["DataType"],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": worker.queue_arn,
            "awsRegion": self._region,
        }

    def start(self, interval_s: float = 0.05) -> None:
        """Drain in a background thread, as Lambda's pollers would (``make dev``)."""

        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.drain()
                except Exception:  # keep polling: a failure is logged, as Lambda would log it
                    logger.exception("local queue drain failed")

        self._thread = threading.Thread(target=run, name="local-queues", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


_installed: LocalQueues | None = None


def install(queues: LocalQueues | None) -> None:
    global _installed
    _installed = queues


def current() -> LocalQueues:
    """The queues of the running local stage."""
    if _installed is None:
        raise RuntimeError("no local stage is running")
    return _installed


def drain() -> int:
    """Deliver everything the running local stage has queued (the tests' synchronous
    stand-in for Lambda's pollers); the records handled."""
    return current().drain()
