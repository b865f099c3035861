"""The job worker: plans runs and works their units from the jobs queue (``service_layer.job_runs``)."""

from __future__ import annotations

from chalice import Blueprint

from ..bootstrap import container
from ..service_layer import job_runs
from .queue_worker import queue_name, sqs_worker

job_workers = Blueprint(__name__)

# ten messages a batch: a unit of 50 members takes a few seconds, and a job that runs
# whole (a settlement) has the function's 15 minutes, inside the queue's visibility
# timeout (infra/api.yaml JobsQueue)
job_worker = sqs_worker(
    job_workers, "job-worker", queue_name("jobs"), lambda body: job_runs.handle(container(), body), batch_size=10
)
