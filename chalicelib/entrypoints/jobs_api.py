"""``POST /v1/admin/jobs/{job}``, its runs, and the schedules that start the same runs.

A start answers 202 with the run id at once; the job worker does the work
(``service_layer.job_runs``). A schedule starts a run with the default period/date;
invoked from the Lambda console with ``{"period"?, "as_of"?, "dry_run"?}`` the same
function starts that run instead.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Cron
from chalice.app import CloudWatchEvent

from ..adapters.observability import count, flush_metrics, logger, traced
from ..bootstrap import container
from ..domain.job_runs import RunFinished
from ..service_layer import job_runs, jobs
from . import schemas as s
from .access import staff as staff_access
from .authorizer import bearer
from .http import Call, endpoint

jobs_api = Blueprint(__name__)
schedules = Blueprint(__name__)


JOB_STAFF = staff_access("ops", "finance", "admin")


@endpoint(
    jobs_api,
    "/v1/admin/jobs/{job}",
    "POST",
    moves=("points", "aibi", "stock"),
    tag="staff",
    authorizer=bearer,
    access=JOB_STAFF,
    status=202,
    body=s.JobBody,
    response=s.JobStarted,
    summary="Start a run of a job for an explicit period or as-of date, or a dry run (writes nothing); "
    "poll GET /v1/admin/jobs/runs/{run_id} for its progress and report",
    errors=(jobs.UnknownJob, jobs.InvalidJobRequest, job_runs.JobsQueueUnavailable),
    # the console's JSON is refused with invalid_job_request (jobs.parse_request): so is the same body here
    invalid_body=jobs.InvalidJobRequest,
)
def start_job(call: Call, job: str) -> s.JobStarted:
    request = jobs.parse_request(call.body.model_dump(exclude_unset=True))
    run = job_runs.start(call.c, job, request, actor=call.principal)
    return s.JobStarted(run_id=run["run_id"], status=run["status"], job=run["job"])


@endpoint(
    jobs_api,
    "/v1/admin/jobs/runs/{run_id}",
    "GET",
    tag="staff",
    authorizer=bearer,
    access=JOB_STAFF,
    response=s.JobRun,
    summary="One run: status, progress (units done of total), timings, failures and, once finished, the report",
    errors=(job_runs.RunNotFound,),
)
def get_run(call: Call, run_id: str) -> s.JobRun:
    return s.JobRun(**job_runs.view(job_runs.get_item(run_id)))


@endpoint(
    jobs_api,
    "/v1/admin/jobs/runs",
    "GET",
    tag="staff",
    authorizer=bearer,
    access=JOB_STAFF,
    query=s.JobRunQuery,
    response=s.JobRunList,
    summary="A job's runs, newest first",
    errors=(jobs.UnknownJob,),
)
def list_runs(call: Call) -> s.JobRunList:
    q = call.query
    page = job_runs.history(call.c, q.job, q.limit, q.cursor)
    return s.JobRunList(runs=[s.JobRun(**run) for run in page.items], next_cursor=page.next_cursor)


@endpoint(
    jobs_api,
    "/v1/admin/jobs/runs/{run_id}/resume",
    "POST",
    tag="staff",
    authorizer=bearer,
    access=JOB_STAFF,
    status=202,
    body=s.ResumeBody,
    response=s.JobStarted,
    summary="Send a stuck run's open units again (or plan it again if its planner died); audited",
    errors=(job_runs.RunNotFound, RunFinished, job_runs.JobsQueueUnavailable),
)
def resume_run(call: Call, run_id: str) -> s.JobStarted:
    run = job_runs.resume(call.c, call.principal, run_id, call.body.reason)
    return s.JobStarted(run_id=run["run_id"], status=run["status"], job=run["job"])


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
    """The Lambda handler that starts one job's run. Each must be bound to a module attribute of the
    same name: the packaged template names it ``chalicelib.entrypoints.jobs_api.<name>``."""

    def handler(event: CloudWatchEvent) -> dict[str, Any]:
        with traced(f"job {name}", job=name):
            run = job_runs.start(container(), name, _console_request(event))
        logger.info("scheduled job started", extra={"job": name, "run_id": run["run_id"]})
        count(f"JobStarted.{name}")
        flush_metrics()
        return {"run_id": run["run_id"], "status": run["status"]}

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
