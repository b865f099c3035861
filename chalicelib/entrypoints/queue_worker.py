"""SQS workers: one Lambda function per queue, reading batches with partial failures.

``sqs_worker`` declares a function on a blueprint (Chalice's ``on_sqs_message``) that
hands each record's body to a handler through Powertools' Batch utility: a record whose
handler raises is reported in ``batchItemFailures`` (the event source mapping has
``ReportBatchItemFailures``, set in infra/api.yaml because Chalice cannot say it), so SQS
delivers only that record again and deletes the others. A handler raises
``DeliverAgain`` for a failure it has logged itself; anything else is logged here with
its traceback. The local stage drains its embedded queues into the very same function
(``chalicelib.local.queues``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint
from chalice.app import SQSEvent

from ..adapters.observability import flush_metrics, logger, traced
from ..adapters.queues import DeliverAgain
from ..config import stage_from_env


def queue_name(purpose: str) -> str:
    """The stage's queue of that purpose, as infra/api.yaml names it (``QueueName``)."""
    return f"member-points-{stage_from_env()}-{purpose}"


def sqs_worker(
    blueprint: Blueprint, name: str, queue: str, handle: Callable[[str], Any], *, batch_size: int
) -> Any:
    """The Lambda handler of one queue. Bind it to a module attribute named like ``name``
    (dashes as underscores): the packaged template names it ``<module>.<that name>``."""

    def handle_record(record: SQSRecord) -> None:
        try:
            handle(record.body)
        except DeliverAgain:
            raise
        except Exception:
            receives = record.attributes.approximate_receive_count
            logger.exception("queue message failed", extra={"worker": name, "receive_count": receives})
            raise

    def handler(event: SQSEvent) -> dict[str, Any]:
        # a processor per batch: it keeps the batch's successes and failures
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        with traced(f"worker {name}", worker=name):
            result = process_partial_response(
                event=event.to_dict(), record_handler=handle_record, processor=processor, context=event.context
            )
        flush_metrics()
        return dict(result)

    handler.__name__ = name.replace("-", "_")
    return blueprint.on_sqs_message(queue=queue, batch_size=batch_size, name=name)(handler)
