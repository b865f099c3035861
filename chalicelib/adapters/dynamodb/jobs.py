"""Job runs and their work units: what a run was asked, how far it is, and its report.

A run is ``JOBRUN#<run id>`` / ``RUN``; gsi1 ``JOBRUNS#<job>`` / ``<started at>#<run id>``
lists a job's runs newest first. Its units are ``JOBRUN#<run id>`` / ``UNIT#<n>`` in the
same partition, written by the planner before any is sent, so a resumed run re-sends
exactly the units not done. A unit is marked done in the same transaction that adds its
counts to the run, so a unit delivered twice is counted once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from .base import BaseItem, gsi, iso

UNIT_DIGITS = 7  # ten million units: 1 billion members at 100 a unit


class JobRunItem(BaseItem):
    """status: running -> succeeded | failed (see ``domain.job_runs``)."""

    SK = "RUN"
    run_id = UnicodeAttribute()
    job = UnicodeAttribute()
    status = UnicodeAttribute()
    request = JSONAttribute()  # {"period", "as_of", "dry_run"}
    started_by = UnicodeAttribute()
    starter_roles = ListAttribute(of=UnicodeAttribute, null=True)  # a person's roles, for the audit at the end
    reason = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    planned = BooleanAttribute(default=False)  # every unit is written (total is final)
    total = NumberAttribute(default=0)
    done = NumberAttribute(default=0)
    base = JSONAttribute(null=True)  # the planner's part of the report
    counts = MapAttribute(default=dict)  # the units' counts, added atomically
    failed = NumberAttribute(default=0)  # failed attempts (units, or the whole job), added atomically
    last_error = JSONAttribute(null=True)  # {"step", "error", "at"}: names and codes, never data
    report = JSONAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    history = gsi(1)()


class JobUnitItem(BaseItem):
    """One unit of a run: a batch of members (or lines) the worker handles together."""

    number = NumberAttribute()
    payload = JSONAttribute()
    done_at = UTCDateTimeAttribute(null=True)
    notes = ListAttribute(null=True)  # the unit's findings (reconcile's mismatches), kept here: a
    # run item holding every unit's findings could pass DynamoDB's 400 KB per item
    attempts_failed = NumberAttribute(default=0)
    error = UnicodeAttribute(null=True)  # the last failure's error name


def run_pk(run_id: str) -> str:
    return f"JOBRUN#{run_id}"


def run_key(run_id: str) -> tuple[str, str]:
    return run_pk(run_id), JobRunItem.SK


def unit_sk(number: int) -> str:
    return f"UNIT#{number:0{UNIT_DIGITS}d}"


def history_key(job: str) -> str:
    return f"JOBRUNS#{job}"


def new_run(
    run_id: str,
    job: str,
    request: dict[str, Any],
    started_by: str,
    starter_roles: list[str] | None,
    reason: str | None,
    now: datetime,
) -> JobRunItem:
    pk, sk = run_key(run_id)
    return JobRunItem(
        pk=pk,
        sk=sk,
        run_id=run_id,
        job=job,
        status="running",
        request=request,
        started_by=started_by,
        starter_roles=starter_roles,
        reason=reason,
        started_at=now,
        planned=False,
        total=0,
        done=0,
        counts={},
        failed=0,
        gsi1pk=history_key(job),
        gsi1sk=f"{iso(now)}#{run_id}",
    )


def new_unit(run_id: str, number: int, payload: Any) -> JobUnitItem:
    return JobUnitItem(pk=run_pk(run_id), sk=unit_sk(number), number=number, payload=payload)


def write_units(units: list[JobUnitItem]) -> None:
    """BatchWriteItem, 25 at a time (PynamoDB re-sends what DynamoDB left unprocessed)."""
    with JobUnitItem.batch_write() as batch:
        for unit in units:
            batch.save(unit)


def unit_key(run_id: str, number: int) -> tuple[str, str]:
    return run_pk(run_id), unit_sk(number)


def units_with(run_id: str, attribute: str) -> list[JobUnitItem]:
    """The units that kept findings (``notes``) or failed (``error``)."""
    return list(
        JobUnitItem.query(
            run_pk(run_id),
            JobUnitItem.sk.startswith("UNIT#"),
            filter_condition=getattr(JobUnitItem, attribute).exists(),
            consistent_read=True,
        )
    )


def open_units(run_id: str) -> list[int]:
    """The units of a run not done yet (a resume sends them again)."""
    return [
        int(unit.number)
        for unit in JobUnitItem.query(
            run_pk(run_id),
            JobUnitItem.sk.startswith("UNIT#"),
            filter_condition=JobUnitItem.done_at.does_not_exist(),
            consistent_read=True,
        )
    ]
