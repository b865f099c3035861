"""The SMS worker: sends the codes the code-request path queued (``service_layer.sms_delivery``)."""

from __future__ import annotations

from chalice import Blueprint

from ..bootstrap import container
from ..service_layer import sms_delivery
from .queue_worker import queue_name, sqs_worker

workers = Blueprint(__name__)

# five codes a batch: the provider answers or times out within 5 s each, and the function
# has 30 s (.chalice/config.json) against the queue's 60 s visibility timeout
sms_worker = sqs_worker(
    workers, "sms-worker", queue_name("sms"), lambda body: sms_delivery.deliver(container(), body), batch_size=5
)
