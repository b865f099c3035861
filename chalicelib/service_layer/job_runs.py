"""Job runs: started at once (202 with a run id), planned and worked through the jobs queue.

``start`` validates the request, writes the run item (with the audit entry of a person's
start in the same transaction) and queues the run's plan step; the schedules and the
console start runs the same way. The job worker (``entrypoints.job_worker``) hands each
message to ``handle``:
- the plan step of a job that runs whole runs it and closes the run with its report (a
  refusal of the job, a settlement already running say, fails the run);
- the plan step of a fanned-out job writes every unit (BatchWriteItem), then marks the
  run planned with its total, then queues the units; run again (a resume, a redelivery,
  a planner that died half-way) it re-sends the units not done;
- a unit message does the unit's work, then marks the unit done in the same transaction
  that adds its counts to the run, so a unit delivered twice is counted once (its work is
  idempotent already: once-markers, conditional writes);
- whoever finishes the last unit closes the run with the job's report.
A failed attempt adds to the run's ``failed`` count and names the error on the run and the
unit, then raises: SQS delivers the message again, and after three receives moves it to
the dead-letter queue, where a redrive (or ``resume``) sends it again.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

from ulid import ULID

from ..adapters.dynamodb import jobs as store
from ..adapters.dynamodb.jobs import JobRunItem, JobUnitItem
from ..adapters.dynamodb.pagination import Page, query_page
from ..adapters.observability import count, logger
from ..adapters.queues import QueueNotReached
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain import job_runs as lifecycle
from ..domain.calendar import local_date
from ..domain.errors import Conflict, DomainError, NotFound, Unavailable
from ..domain.job_runs import RunStatus
from . import jobs
from .common import audit

FAILING_UNITS_SHOWN = 20


class RunNotFound(NotFound):
    code = "run_not_found"
    default_message = "No job run has this id."


class JobsQueueUnavailable(Unavailable):
    """The jobs queue did not take the run's first step: the run is marked failed."""

    default_message = "The run could not be queued; nothing was done. Try again shortly."


class _AlreadyCounted(Conflict):
    """A unit delivered again after it was counted."""


# --- starting -----------------------------------------------------------------------------------
def start(c: Container, name: str, request: jobs.JobRequest, actor: Principal | None = None) -> dict[str, Any]:
    spec = jobs.JOBS.get(name)
    if spec is None:
        raise jobs.UnknownJob()
    today = local_date(c.now())
    jobs.check_request(spec, request, today, time_travel=c.settings.is_local)
    if spec.check is not None:
        spec.check(c, request)
    if spec.period is None and request.as_of is None:
        # a run resumed tomorrow still works as of the day it was started
        request = replace(request, as_of=today)
    run_id = str(ULID())
    started_by = actor.subject if actor is not None else jobs.SCHEDULE
    asked = _request_json(request)
    uow = c.uow()
    roles = sorted(actor.roles) if actor is not None else None
    uow.put(store.new_run(run_id, name, asked, started_by, roles, request.reason, c.now()))
    if actor is not None:
        audit(uow, c, actor, f"job.{name}", "job", name, request.reason, {"request": asked}, {"run_id": run_id})
    uow.commit()
    logger.info("job start", extra={"job": name, "run_id": run_id, **asked})
    try:
        c.jobs_queue.send(_message(run_id))
    except QueueNotReached as failure:
        _record_failure(c, run_id, "start", failure.code)
        _update(c, run_id, [JobRunItem.status.set(RunStatus.FAILED.value), JobRunItem.finished_at.set(c.now())])
        raise JobsQueueUnavailable() from None
    return view(get_item(run_id))


def resume(c: Container, actor: Principal, run_id: str, reason: str) -> dict[str, Any]:
    """Send a stuck run's plan step again: it re-sends the units not done (or re-plans a
    run whose planner died before it was planned, or re-runs a job that runs whole)."""
    run = get_item(run_id)
    lifecycle.resume(RunStatus(run.status))
    uow = c.uow()
    audit(uow, c, actor, "job.resumed", "job_run", run_id, reason, _progress(run), None)
    uow.commit()
    try:
        c.jobs_queue.send(_message(run_id))
    except QueueNotReached:
        raise JobsQueueUnavailable("The run could not be queued again; try again shortly.") from None
    return view(run)


# --- reading ------------------------------------------------------------------------------------
def get_item(run_id: str) -> JobRunItem:
    run = JobRunItem.get_or_none(*store.run_key(run_id)) if run_id.isalnum() else None
    if run is None:
        raise RunNotFound()
    return run


def history(c: Container, name: str, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    if name not in jobs.JOBS:
        raise jobs.UnknownJob()
    return query_page(
        JobRunItem.history,
        store.history_key(name),
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        newest_first=True,
        convert=view,
    )


def view(run: JobRunItem) -> dict[str, Any]:
    failing = []
    if int(run.failed or 0) and run.status == RunStatus.RUNNING.value:
        failing = [
            {"unit": int(unit.number), "attempts_failed": int(unit.attempts_failed), "error": unit.error}
            for unit in store.units_with(run.run_id, "error")
            if unit.done_at is None
        ][:FAILING_UNITS_SHOWN]
    return {
        "run_id": run.run_id,
        "job": run.job,
        "status": run.status,
        "request": run.request,
        "started_by": run.started_by,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "progress": _progress(run),
        "failures": {"attempts": int(run.failed or 0), "last": run.last_error, "units": failing},
        "report": run.report,
    }


def _progress(run: JobRunItem) -> dict[str, Any]:
    return {"done": int(run.done), "total": int(run.total), "planned": bool(run.planned)}


# --- the worker's side --------------------------------------------------------------------------
def handle(c: Container, body: str) -> None:
    message = json.loads(body)
    run = JobRunItem.get_or_none(*store.run_key(message["run"]))
    if run is None or run.status != RunStatus.RUNNING.value:
        return  # finished (or failed for good) meanwhile: nothing is left to do
    unit = message.get("unit")
    step = "plan" if unit is None else f"unit {unit}"
    try:
        if unit is None:
            _plan(c, run)
        else:
            _work(c, run, int(unit))
    except Exception as failure:
        error = failure.code if isinstance(failure, DomainError) else type(failure).__name__
        _record_failure(c, run.run_id, step, error, unit)
        raise


def _plan(c: Container, run: JobRunItem) -> None:
    spec, request = jobs.JOBS[run.job], _request(run)
    if spec.fan_out is None:
        assert spec.run is not None
        try:
            report = spec.run(c, request)
        except DomainError as refused:
            if isinstance(refused, Unavailable):
                raise  # the table was busy: the queue delivers the step again
            _refuse(c, run, refused)
            return
        _finish(c, run, report)
        return
    if not run.planned:
        plan = spec.fan_out.plan(c, request)
        store.write_units([store.new_unit(run.run_id, number, unit) for number, unit in enumerate(plan.units)])
        # planned only once every unit is written: a planner that dies before this line
        # is started again from scratch, and a resume after it re-sends what is open
        try:
            _update(
                c,
                run.run_id,
                [
                    JobRunItem.planned.set(True),
                    JobRunItem.total.set(len(plan.units)),
                    JobRunItem.base.set(plan.base),
                ],
                condition=JobRunItem.planned == False,  # noqa: E712 (a PynamoDB condition)
            )
        except _Closed:
            return  # a planner delivered twice: the other one planned and queues the units
        numbers = list(range(len(plan.units)))
        logger.info("job planned", extra={"job": run.job, "run_id": run.run_id, "units": len(numbers)})
    else:
        numbers = store.open_units(run.run_id)
    c.jobs_queue.send_all([_message(run.run_id, number) for number in numbers])
    _close_if_done(c, run.run_id)


def _work(c: Container, run: JobRunItem, number: int) -> None:
    spec, request = jobs.JOBS[run.job], _request(run)
    assert spec.fan_out is not None
    unit = JobUnitItem.get_or_none(*store.unit_key(run.run_id, number))
    if unit is None or unit.done_at is not None:
        return  # delivered again after it was counted
    result = spec.fan_out.work(c, request, unit.payload)
    uow = c.uow()
    marks = [JobUnitItem.done_at.set(c.now())]
    if result.notes:
        marks.append(JobUnitItem.notes.set(result.notes))
    uow.update(unit, marks, condition=JobUnitItem.done_at.does_not_exist(), on_fail=_AlreadyCounted)
    uow.update(
        JobRunItem(*store.run_key(run.run_id)),
        [JobRunItem.done.add(1), *(JobRunItem.counts[name].add(int(value)) for name, value in result.counts.items())],
    )
    try:
        uow.commit()
    except _AlreadyCounted:
        return  # a second delivery did the same (idempotent) work and lost the race to count it
    _close_if_done(c, run.run_id)


def _close_if_done(c: Container, run_id: str) -> None:
    run = get_item(run_id)
    if lifecycle.close(RunStatus(run.status), planned=run.planned, done=int(run.done), total=int(run.total)) is None:
        return
    spec = jobs.JOBS[run.job]
    assert spec.fan_out is not None
    notes = [note for unit in store.units_with(run_id, "notes") for note in unit.notes]
    counts = {name: int(value) for name, value in (run.counts.as_dict() if run.counts else {}).items()}
    _finish(c, run, spec.fan_out.finish(c, _request(run), run.base or {}, counts, notes))


def _finish(c: Container, run: JobRunItem, report: dict[str, Any], status: RunStatus = RunStatus.SUCCEEDED) -> None:
    now = c.now()
    elapsed_ms = round((now - run.started_at).total_seconds() * 1000, 1)
    report = {"job": run.job, **report, "duration_ms": elapsed_ms}
    uow = c.uow()
    uow.update(
        JobRunItem(*store.run_key(run.run_id)),
        [JobRunItem.status.set(status.value), JobRunItem.finished_at.set(now), JobRunItem.report.set(report)],
        condition=JobRunItem.status == RunStatus.RUNNING.value,
        on_fail=_Closed,
    )
    if run.started_by != jobs.SCHEDULE:
        # what the run decided, next to who started it (the start has its own entry)
        starter = Principal(run.started_by, "staff", frozenset(run.starter_roles or ()))
        audit(
            uow,
            c,
            starter,
            f"job.{run.job}.finished",
            "job",
            run.job,
            run.reason,
            {"run_id": run.run_id, "request": run.request},
            {"status": status.value, "report": _audited(report)},
        )
    try:
        uow.commit()
    except _Closed:
        return  # the last two units finished together: the other one closed it
    count(f"Job.{run.job}")
    logger.info("job done", extra={"job": run.job, "run_id": run.run_id, "status": status, "report": _headline(report)})


def _refuse(c: Container, run: JobRunItem, refused: DomainError) -> None:
    _record_failure(c, run.run_id, "plan", refused.code)
    report = {"error": {"code": refused.code, "message": str(refused)}}
    _finish(c, run, report, lifecycle.fail(RunStatus(run.status)))
    logger.warning("job refused", extra={"job": run.job, "run_id": run.run_id, "code": refused.code})


def _record_failure(c: Container, run_id: str, step: str, error: str, unit: Any = None) -> None:
    """Counted on the run, named on the unit: names and codes only, never the data."""
    uow = c.uow()
    uow.update(
        JobRunItem(*store.run_key(run_id)),
        [
            JobRunItem.failed.add(1),
            JobRunItem.last_error.set({"step": step, "error": error, "at": c.now().isoformat()}),
        ],
    )
    if unit is not None:
        uow.update(
            JobUnitItem(*store.unit_key(run_id, int(unit))),
            [JobUnitItem.attempts_failed.add(1), JobUnitItem.error.set(error)],
        )
    try:
        uow.commit()
    except DomainError:
        logger.exception("job failure not recorded", extra={"run_id": run_id, "step": step})
    logger.warning("job step failed", extra={"run_id": run_id, "step": step, "error": error})


class _Closed(Conflict):
    """The run is no longer running."""


def _update(c: Container, run_id: str, actions: list[Any], condition: Any = None) -> None:
    uow = c.uow()
    uow.update(JobRunItem(*store.run_key(run_id)), actions, condition=condition, on_fail=_Closed)
    uow.commit()


def _headline(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if not isinstance(v, list | dict)}


def _audited(report: dict[str, Any]) -> dict[str, Any]:
    """The headline and the flat sections (a settlement's totals and adjustments: what the
    run decided), never the lists (lines, changes, mismatches: member ids by the hundred)."""
    return {k: v for k, v in report.items() if _scalar(v) or (isinstance(v, dict) and _flat(v))}


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _flat(section: dict[str, Any]) -> bool:
    return all(_scalar(v) or (isinstance(v, list) and all(map(_scalar, v))) for v in section.values())


def _message(run_id: str, unit: int | None = None) -> str:
    return json.dumps({"run": run_id} if unit is None else {"run": run_id, "unit": unit})


def _request_json(request: jobs.JobRequest) -> dict[str, Any]:
    return {
        "period": request.period,
        "as_of": request.as_of.isoformat() if request.as_of else None,
        "dry_run": request.dry_run,
    }


def _request(run: JobRunItem) -> jobs.JobRequest:
    asked = run.request
    return jobs.JobRequest(
        period=asked.get("period"),
        as_of=date.fromisoformat(asked["as_of"]) if asked.get("as_of") else None,
        dry_run=bool(asked.get("dry_run")),
        reason=run.reason,
        started_by=run.started_by,
    )
