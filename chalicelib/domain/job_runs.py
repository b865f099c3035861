"""The lifecycle of a job run and how its work is cut into units.

A run is ``running`` from its start until every unit is done (``succeeded``) or the job
refused it for good (``failed``: a settlement whose period has not ended, say). A unit
that keeps failing leaves the run ``running`` with its failures listed: a resume sends
the units not done again, and the run closes itself once the last one is done.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from typing import Any

from .errors import Conflict

UNIT_SIZE = 50  # members (or lines) a unit: a few seconds of work, well inside a worker's batch


@dataclass(frozen=True)
class Plan:
    base: dict[str, Any]  # the report's part the planner knows (what is due)
    units: list[Any]  # JSON payloads, one per unit


@dataclass(frozen=True)
class UnitResult:
    counts: dict[str, int]  # added to the run's counts, once per unit
    notes: list[dict[str, Any]] = field(default_factory=list)  # findings to keep (reconcile's mismatches)


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RunFinished(Conflict):
    """Only a running run can be resumed."""

    code = "run_finished"
    default_message = "This run has finished; start a new one."


def close(status: RunStatus, *, planned: bool, done: int, total: int) -> RunStatus | None:
    """The status a running run takes now, or ``None`` while units are outstanding."""
    if status is not RunStatus.RUNNING or not planned or done < total:
        return None
    return RunStatus.SUCCEEDED


def fail(status: RunStatus) -> RunStatus:
    if status is not RunStatus.RUNNING:
        raise RunFinished()
    return RunStatus.FAILED


def resume(status: RunStatus) -> RunStatus:
    if status is not RunStatus.RUNNING:
        raise RunFinished()
    return status


def chunks[T](items: Iterable[T], size: int = UNIT_SIZE) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
