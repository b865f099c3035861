"""``POST /v1/admin/jobs/{job}`` and the schedules that run the same jobs.

A schedule runs with the default period/date; invoked from the Lambda console with
``{"period"?, "as_of"?, "dry_run"?}`` the same function runs that instead.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Cron
from chalice.app import CloudWatchEvent

from ..adapters.observability import count, flush_metrics, logger, traced
from ..bootstrap import container
from ..service_layer import jobs
from . import schemas as s
from .access import staff as staff_access
from .authorizer import bearer
from .http import Call, endpoint

jobs_api = Blueprint(__name__)
schedules = Blueprint(__name__)


@endpoint(
    jobs_api,
    "/v1/admin/jobs/{job}",
    "POST",
    moves=("points", "aibi", "stock"),
    tag="staff",
    authorizer=bearer,
    access=staff_access("ops", "finance", "admin"),
    body=s.JobBody,
    response=s.JobReport,
    summary="Run a job by hand for an explicit period or as-of date, or as a dry run (writes nothing)",
    errors=(jobs.UnknownJob, jobs.InvalidJobRequest),
    # the console's JSON is refused with invalid_job_request (jobs.parse_request): so is the same body here
    invalid_body=jobs.InvalidJobRequest,
)
def run_job(call: Call, job: str) -> s.JobReport:
    request = jobs.parse_request(call.body.model_dump(exclude_unset=True))
    return s.JobReport(**jobs.run(call.c, job, request, actor=call.principal))


class ScheduledOrConsoleEvent(CloudWatchEvent):
    """A scheduled event, or the JSON an operator typed in the console: both are fine."""

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        self.detail = event_dict.get("detail") or {}
        self.detail_type = event_dict.get("detail-type", "")
        for name in ("version", "account", "region", "source", "time"):
            setattr(self, name, event_dict.get(name, ""))
        self.event_id = event_dict.get("id", "")
        self.resources = event_dict.get("resources", [])


def _console_request(event: CloudWatchEvent) -> jobs.JobRequest:
    """EventBridge's own event means "the default period"; anything else is an operator's
    ``{"period"?, "as_of"?, "dry_run"?}`` and is validated like the HTTP body."""
    raw = event.to_dict()
    if raw.get("source") == "aws.events":
        return jobs.JobRequest()
    return jobs.parse_request(raw)


def _scheduled(name: str, cron: Cron) -> Any:
    """The Lambda handler of one job. Each must be bound to a module attribute of the
    same name: the packaged template names it ``chalicelib.entrypoints.jobs_api.<name>``."""

    def handler(event: CloudWatchEvent) -> dict[str, Any]:
        with traced(f"job {name}", job=name):
            report = jobs.run(container(), name, _console_request(event))
        logger.info("scheduled job finished", extra={"job": name})
        count(f"Job.{name}")
        flush_metrics()
        return report

    handler.__name__ = name.replace("-", "_")
    wrapped = schedules.schedule(cron, name=name, description=jobs.JOBS[name].description)(handler)
    wrapped.event_class = ScheduledOrConsoleEvent
    return wrapped


# Asia/Shanghai is UTC+8: 00:10 in Shanghai is 16:10 UTC the day before.
release_pending = _scheduled("release-pending", Cron(10, 16, "*", "*", "?", "*"))
expire_points = _scheduled("expire-points", Cron(20, 16, "*", "*", "?", "*"))
reconcile = _scheduled("reconcile", Cron(0, 21, "*", "*", "?", "*"))
# the 8th at 01:00 and 02:00, the 10th at 03:00 (Asia/Shanghai)
settle_monthly = _scheduled("settle-monthly", Cron(0, 17, 7, "*", "?", "*"))
settle_quarterly = _scheduled("settle-quarterly", Cron(0, 18, 7, "1,4,7,10", "?", "*"))
release_rewards = _scheduled("release-rewards", Cron(0, 19, 9, "*", "?", "*"))
# 1 May, 1 Sep, 1 Jan at 04:00 in Shanghai = the last day of Apr, Aug, Dec at 20:00 UTC
evaluate_guides = _scheduled("evaluate-guides", Cron(0, 20, "L", "4,8,12", "?", "*"))
