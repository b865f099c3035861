"""The points jobs: release pending purchase points, expire lots, reconcile the ledger.

Each reads only what is due through a sparse, sharded index (its cost grows with the
work due, not with the number of members) and changes each member in one transaction,
so a re-run for the same day finds nothing left to do and a crash half-way resumes
where it stopped. A dry run computes the same report and writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from ..adapters.dynamodb.base import SHARDS
from ..adapters.dynamodb.points import PendingPointsItem, PointsBalanceItem, PointsEntryItem
from ..adapters.observability import logger
from ..bootstrap import Container
from ..domain import points as p
from ..domain.calendar import Month, start_of_local_day
from .common import LEDGER_ATTEMPTS, retrying
from .points_ledger import MemberPoints, balance_pk, load_state

T = TypeVar("T")
PROGRESS_EVERY = 1000
WORKERS = 8


def per_shard(fetch: Callable[[int], Iterable[T]]) -> Iterator[T]:
    """Read the 16 shards of a sparse index in parallel (one query stream per shard)."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for items in pool.map(lambda shard: list(fetch(shard)), range(SHARDS)):
            yield from items


@dataclass
class Progress:
    job: str
    total: int
    done: int = 0

    def tick(self) -> None:
        self.done += 1
        if self.done % PROGRESS_EVERY == 0 or self.done == self.total:
            logger.info("job progress", extra={"job": self.job, "done": self.done, "total": self.total})


# --- release pending ----------------------------------------------------------------------------
def release_pending(c: Container, as_of: date, dry_run: bool) -> dict[str, Any]:
    due = list(
        per_shard(
            lambda shard: PendingPointsItem.release_queue.query(
                f"PENDING#{shard}", PendingPointsItem.gsi3sk <= f"{as_of.isoformat()}~"
            )
        )
    )
    report: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "dry_run": dry_run,
        "due": len(due),
        "points_due": sum(int(item.points) for item in due),
        "released": 0,
        "points_released": 0,
        "skipped": 0,
    }
    progress = Progress("release-pending", len(due))
    for item in due:
        # a dry run reports what the run would release, from what it read
        released = (
            int(item.points)
            if dry_run
            else retrying(lambda item=item: _release_one(c, item.member_id, item.pk, item.sk), LEDGER_ATTEMPTS)
        )
        report["released" if released else "skipped"] += 1
        report["points_released"] += released
        progress.tick()
    return report


def _release_one(c: Container, member_id: str, pk: str, sk: str) -> int:
    """Release one pending item; 0 if a refund or an earlier run already took it.

    The balance is read before the item: pending items only shrink, so the item can be
    newer than the balance but never older. Read the other way round, a run racing
    another run (or a refund) could hold an item already released from the balance it
    read, and take it out of pending twice.
    """
    uow = c.uow()
    ledger = MemberPoints.of(uow, c, member_id)
    item = PendingPointsItem.get_or_none(pk, sk)
    if item is None:
        return 0
    uow.delete(item, condition=PendingPointsItem.points == int(item.points))
    ledger.release(int(item.points), date.fromisoformat(item.earned_on), item.rule, ref=item.order_id)
    uow.commit()
    return int(item.points)


# --- expire points -------------------------------------------------------------------------------
def expire_points(c: Container, as_of: date, dry_run: bool) -> dict[str, Any]:
    current = Month.of(as_of)
    due = list(
        per_shard(
            lambda shard: PointsBalanceItem.expiry_queue.query(
                f"EXPIRY#{shard}", PointsBalanceItem.gsi3sk < str(current)
            )
        )
    )
    report: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "dry_run": dry_run,
        "members_due": len(due),
        "members_expired": 0,
        "points_expired": 0,
    }
    progress = Progress("expire-points", len(due))
    for item in due:
        if dry_run:
            _, expired = p.expire(load_state(item), current)
            points = sum(points for _, points in expired)
        else:
            points = retrying(lambda item=item: _expire_one(c, item.member_id, as_of), LEDGER_ATTEMPTS)
        report["members_expired"] += 1 if points else 0
        report["points_expired"] += points
        progress.tick()
    return report


def _expire_one(c: Container, member_id: str, as_of: date) -> int:
    ledger = MemberPoints.load(c, member_id, as_of=start_of_local_day(as_of))
    expired = ledger.expired_on_load
    if ledger.changed:
        uow = c.uow()
        ledger.flush(uow)
        uow.commit()
    return expired


# --- reconcile -------------------------------------------------------------------------------------
@dataclass
class Reconciliation:
    members: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    totals: Counter[str] = field(default_factory=Counter)

    def report(self) -> dict[str, Any]:
        balances = self.totals["balances"]
        accounted = self.totals["issued"] - self.totals["spent"] - self.totals["expired"] - self.totals["reversed"]
        return {
            "members": self.members,
            "ok": not self.mismatches and accounted == balances,
            "mismatches": self.mismatches[:100],
            "points": {
                "issued": self.totals["issued"],
                "spent": self.totals["spent"],
                "expired": self.totals["expired"],
                "reversed": self.totals["reversed"],
                "sum_of_balances": balances,
                "issued_minus_spent_expired_reversed": accounted,
            },
        }


def reconcile_points(c: Container) -> dict[str, Any]:
    """RULES.md 6.1-6.2 for points: every balance equals its entries, lots add up, nothing
    negative but a refund debt, and issued - spent - expired - reversed = sum of balances."""
    result = Reconciliation()
    balances = per_shard(
        lambda shard: PointsBalanceItem.population.query(
            f"MEMBERS#{shard}", filter_condition=PointsBalanceItem.sk == PointsBalanceItem.SK
        )
    )
    for balance in balances:
        result.members += 1
        sums: Counter[str] = Counter()
        for entry in PointsEntryItem.query(balance_pk(balance.member_id), PointsEntryItem.sk.startswith("PLEDGER#")):
            sums["available"] += int(entry.points)
            sums["pending"] += int(entry.pending_delta or 0)
            sums["held"] += int(entry.held_delta or 0)
            sums["lifetime"] += int(entry.lifetime_delta or 0)
            total = int(entry.points) + int(entry.pending_delta or 0) + int(entry.held_delta or 0)
            result.totals[p.category(p.EntryKind(entry.kind), total).value] += abs(total)
            if entry.kind == p.EntryKind.REVERSE:
                sums["reversed"] += -int(entry.points)
        stored = load_state(balance)
        problems = [
            f"{name} {getattr(stored, name)} != entries {sums[name]}"
            for name in ("available", "pending", "held", "lifetime")
            if getattr(stored, name) != sums[name]
        ]
        if stored.available < 0 and -stored.available > sums["reversed"]:
            problems.append(f"debt {-stored.available} is larger than all reversals {sums['reversed']}")
        if problems:
            result.mismatches.append({"member_id": balance.member_id, "problems": problems})
        result.totals["balances"] += stored.available + stored.pending + stored.held
    return result.report()
