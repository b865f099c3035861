"""The job registry: what each job does, started the same way by the schedule, by the
console (Lambda invoked with ``{"period"?, "as_of"?, "dry_run"?}``) and by
``POST /v1/admin/jobs/{job}`` (``service_layer.job_runs`` runs them). A bad period or
date is a clear ``invalid_job_request`` before anything runs.

A job whose work grows with the members is declared as a planner (``plan``: the
report's fixed part and the work units), a worker (``work``: one unit, idempotent, its
counts) and ``finish`` (the report from the counts, once every unit is done). The others
run whole (``run``) in one worker invocation: the settlements and the guide evaluation
need the whole population in one process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ..adapters.observability import count
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
from ..domain.job_runs import Plan, UnitResult
from . import points_jobs, reconcile, settlement
from .guides import window

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


Planner = Callable[[Container, JobRequest], Plan]
Worker = Callable[[Container, JobRequest, Any], UnitResult]
Finisher = Callable[[Container, JobRequest, dict[str, Any], dict[str, int], list[dict[str, Any]]], dict[str, Any]]


@dataclass(frozen=True)
class FanOut:
    plan: Planner
    work: Worker
    finish: Finisher


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    period: str | None  # "month" | "quarter" | None (as_of only)
    run: JobFunction | None = None  # the whole job in one invocation
    fan_out: FanOut | None = None
    check: Callable[[Container, JobRequest], None] | None = None  # refusals known before the run starts


JOBS: dict[str, Job] = {}


def job(
    name: str,
    description: str,
    period: str | None = None,
    check: Callable[[Container, JobRequest], None] | None = None,
) -> Callable[[JobFunction], JobFunction]:
    def register(function: JobFunction) -> JobFunction:
        JOBS[name] = Job(name, description, period, run=function, check=check)
        return function

    return register


def fanned_out(name: str, description: str, fan_out: FanOut, period: str | None = None) -> None:
    JOBS[name] = Job(name, description, period, fan_out=fan_out)


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


def check_request(spec: Job, request: JobRequest, today: date, *, time_travel: bool = False) -> None:
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


def _reconcile_finish(
    c: Container, request: JobRequest, base: dict[str, Any], counts: dict[str, int], notes: list[dict[str, Any]]
) -> dict[str, Any]:
    report = reconcile.finish(counts, notes)
    # emitted on every run, 0 included: the alarm also fires when reconcile stops running
    count("ReconcileMismatches", reconcile.mismatch_count(report))
    return report


fanned_out(
    "reconcile",
    "Prove balance = sum of entries for every account and the issued/spent identities",
    FanOut(
        plan=lambda c, request: reconcile.plan(),
        work=lambda c, request, unit: reconcile.work(unit),
        finish=_reconcile_finish,
    ),
)


def _settlement_check(kind: str) -> Callable[[Container, JobRequest], None]:
    def check(c: Container, request: JobRequest) -> None:
        settlement.check_period(c, kind, request.period or settlement.default_period(kind, local_date(c.now())))

    return check


@job(
    "settle-monthly",
    "Small-group share and guidance fees of a month (default: last month)",
    period="month",
    check=_settlement_check(settlement.MONTHLY),
)
def _settle_monthly(c: Container, request: JobRequest) -> dict[str, Any]:
    from . import settlement_run  # the engine and numpy: only in the functions that run it

    return settlement_run.run_settlement(c, settlement.MONTHLY, request.period, request.dry_run, request.started_by)


@job(
    "settle-quarterly",
    "Q1 and Q10 pools of a quarter (default: last quarter)",
    period="quarter",
    check=_settlement_check(settlement.QUARTERLY),
)
def _settle_quarterly(c: Container, request: JobRequest) -> dict[str, Any]:
    from . import settlement_run

    return settlement_run.run_settlement(c, settlement.QUARTERLY, request.period, request.dry_run, request.started_by)


fanned_out(
    "release-rewards",
    "Credit approved settlements whose release day has come into wallets",
    FanOut(
        plan=lambda c, request: settlement.plan_release(c, today(c, request), request.dry_run),
        work=lambda c, request, unit: settlement.release_unit(c, request.dry_run, unit),
        finish=lambda c, request, base, counts, notes: settlement.finish_release(c, base, counts),
    ),
)


def _window_check(c: Container, request: JobRequest) -> None:
    window(request.period, local_date(c.now()), c.rules.settlement.evaluation_window_months)


@job(
    "evaluate-guides",
    "Raise guide tiers over the 4-month window ending Apr/Aug/Dec (default: the last one)",
    period="month",
    check=_window_check,
)
def _evaluate_guides(c: Container, request: JobRequest) -> dict[str, Any]:
    from . import guide_evaluation  # numpy: only in the functions that run it

    return guide_evaluation.evaluate_guides(c, request.period, request.dry_run)
