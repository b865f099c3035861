"""The job registry: one function per job, run the same way by the schedule, by the
console (Lambda invoked with ``{"period"?, "as_of"?, "dry_run"?}``) and by
``POST /v1/admin/jobs/{job}``. A bad period or date is a clear ``invalid_job_request``
before anything runs; a run by a person is audited with its report's headline.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from ..adapters.observability import count, logger
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain.calendar import (
    FIRST_DAY,
    LAST_DAY,
    Month,
    PeriodError,
    Quarter,
    in_calendar,
    local_date,
    start_of_local_day,
)
from ..domain.errors import NotFound, RuleViolation
from . import points_jobs, reconcile, settlement
from .common import audit

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# who starts a run without a person: the schedule, or an operator's console invocation
SCHEDULE = "schedule"


class InvalidJobRequest(RuleViolation):
    """The period or the as-of date does not fit the job."""

    code = "invalid_job_request"


class UnknownJob(NotFound):
    """No job has this name."""

    code = "unknown_job"
    default_message = "No job has this name."


@dataclass(frozen=True)
class JobRequest:
    period: str | None = None
    as_of: date | None = None
    dry_run: bool = False
    reason: str | None = None  # why a person runs it by hand (kept in the audit log)
    started_by: str = SCHEDULE  # the staff id of a run by hand (a settlement's starter cannot approve it)


JobFunction = Callable[[Container, JobRequest], dict[str, Any]]


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFunction
    period: str | None  # "month" | "quarter" | None (as_of only)
    description: str


JOBS: dict[str, Job] = {}


def job(name: str, description: str, period: str | None = None) -> Callable[[JobFunction], JobFunction]:
    def register(function: JobFunction) -> JobFunction:
        JOBS[name] = Job(name, function, period, description)
        return function

    return register


def parse_request(raw: dict[str, Any]) -> JobRequest:
    """``{"period"?, "as_of"?, "dry_run"?}`` from a console event or an HTTP body."""
    unknown = set(raw) - {"period", "as_of", "dry_run", "reason"}
    if unknown:
        raise InvalidJobRequest(f"Unknown fields: {', '.join(sorted(unknown))}.")
    period, as_of, dry_run = raw.get("period"), raw.get("as_of"), raw.get("dry_run", False)
    if period is not None and not isinstance(period, str):
        raise InvalidJobRequest("period must be a string.")
    if not isinstance(dry_run, bool):
        raise InvalidJobRequest("dry_run must be true or false.")
    if as_of is not None:
        try:
            as_of = date.fromisoformat(as_of) if isinstance(as_of, str) and _DATE.match(as_of) else None
        except ValueError:
            as_of = None
        if as_of is None:
            raise InvalidJobRequest("as_of must be a date YYYY-MM-DD.")
        if not in_calendar(as_of):
            raise InvalidJobRequest(f"as_of must fall between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}.")
    reason = raw.get("reason")
    if reason is not None and (not isinstance(reason, str) or not reason.strip() or len(reason) > 500):
        raise InvalidJobRequest("reason must be a text of 1 to 500 characters.")
    return JobRequest(period=period, as_of=as_of, dry_run=dry_run, reason=reason)


def _check_period(spec: Job, request: JobRequest, today: date, *, time_travel: bool = False) -> None:
    if spec.period is None:
        if request.period is not None:
            raise InvalidJobRequest(f"{spec.name} takes an as_of date, not a period.")
        # A date ahead would release or expire early (a dry run may look ahead: it writes
        # nothing). Only the local stage, where people rehearse a year of expiry in a
        # minute, runs a job for real as of a later day.
        if request.as_of is not None and request.as_of > today and not (request.dry_run or time_travel):
            raise InvalidJobRequest(f"as_of {request.as_of.isoformat()} is after today; only a dry run may look ahead.")
        return
    if request.as_of is not None:
        # silently running the default period instead would settle a period nobody asked for
        raise InvalidJobRequest(f"{spec.name} takes a period, not an as_of date.")
    if request.period is None:
        return
    try:
        (Month if spec.period == "month" else Quarter).parse(request.period)
    except PeriodError as exc:
        expected = "YYYY-MM" if spec.period == "month" else "YYYY-Qn"
        raise InvalidJobRequest(
            f"{spec.name} needs a period {expected} in {FIRST_DAY.year}..{LAST_DAY.year}; got {request.period!r}."
        ) from exc


def run(c: Container, name: str, request: JobRequest, actor: Principal | None = None) -> dict[str, Any]:
    spec = JOBS.get(name)
    if spec is None:
        raise UnknownJob()
    _check_period(spec, request, local_date(c.now()), time_travel=c.settings.is_local)
    started = time.perf_counter()
    logger.info(
        "job start",
        extra={
            "job": name,
            "period": request.period,
            "dry_run": request.dry_run,
            "as_of": request.as_of.isoformat() if request.as_of else None,
        },
    )
    if actor is not None:
        request = replace(request, started_by=actor.subject)
    report = spec.run(c, request)
    report = {"job": name, **report, "duration_ms": round((time.perf_counter() - started) * 1000, 1)}
    logger.info("job done", extra={"job": name, "report": {k: v for k, v in report.items() if not isinstance(v, list)}})
    if actor is not None:
        uow = c.uow()
        headline = {k: v for k, v in report.items() if _scalar(v) or (isinstance(v, dict) and _flat(v))}
        audit(
            uow,
            c,
            actor,
            f"job.{name}",
            "job",
            name,
            request.reason,
            {
                "request": {
                    "period": request.period,
                    "as_of": request.as_of.isoformat() if request.as_of else None,
                    "dry_run": request.dry_run,
                }
            },
            headline,
        )
        uow.commit()
    return report


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _flat(section: dict[str, Any]) -> bool:
    """A section of scalars, such as a settlement's totals or adjustments (what the run decided)."""
    return all(_scalar(v) or (isinstance(v, list) and all(map(_scalar, v))) for v in section.values())


def today(c: Container, request: JobRequest) -> date:
    return request.as_of or local_date(c.now())


@job("release-pending", "Make purchase points available after the return window")
def _release_pending(c: Container, request: JobRequest) -> dict[str, Any]:
    return points_jobs.release_pending(c, today(c, request), request.dry_run)


@job("expire-points", "Expire lots whose month has ended; release stale mall and shop holds")
def _expire_points(c: Container, request: JobRequest) -> dict[str, Any]:
    as_of = today(c, request)
    report = points_jobs.expire_points(c, as_of, request.dry_run)
    # holds are due by the minute: with an explicit as_of, everything due by its end, but
    # never a hold whose 30 minutes are not over yet (an as_of of today or later)
    now = c.now() if request.as_of is None else min(c.now(), start_of_local_day(as_of + timedelta(days=1)))
    return {**report, **points_jobs.release_stale_holds(c, now, request.dry_run)}


@job("reconcile", "Prove balance = sum of entries for every account and the issued/spent identities")
def _reconcile(c: Container, request: JobRequest) -> dict[str, Any]:
    report = reconcile.reconcile()
    # emitted on every run, 0 included: the alarm also fires when reconcile stops running
    count("ReconcileMismatches", reconcile.mismatch_count(report))
    return report


@job("settle-monthly", "Small-group share and guidance fees of a month (default: last month)", period="month")
def _settle_monthly(c: Container, request: JobRequest) -> dict[str, Any]:
    from . import settlement_run  # the engine and numpy: only in the functions that run it

    return settlement_run.run_settlement(c, settlement.MONTHLY, request.period, request.dry_run, request.started_by)


@job("settle-quarterly", "Q1 and Q10 pools of a quarter (default: last quarter)", period="quarter")
def _settle_quarterly(c: Container, request: JobRequest) -> dict[str, Any]:
    from . import settlement_run

    return settlement_run.run_settlement(c, settlement.QUARTERLY, request.period, request.dry_run, request.started_by)


@job("release-rewards", "Credit approved settlements whose release day has come into wallets")
def _release_rewards(c: Container, request: JobRequest) -> dict[str, Any]:
    return settlement.release_rewards(c, today(c, request), request.dry_run)


@job(
    "evaluate-guides",
    "Raise guide tiers over the 4-month window ending Apr/Aug/Dec (default: the last one)",
    period="month",
)
def _evaluate_guides(c: Container, request: JobRequest) -> dict[str, Any]:
    from . import guide_evaluation  # numpy: only in the functions that run it

    return guide_evaluation.evaluate_guides(c, request.period, request.dry_run)
