"""The points jobs: release pending purchase points, expire lots, release stale holds.

Each reads only what is due through a sparse, sharded index (its cost grows with the
work due, not with the number of members) and changes each member in one transaction,
so a re-run for the same day finds nothing left to do and a crash half-way resumes
where it stopped. A dry run computes the same report and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..adapters.dynamodb.base import SHARDS, iso
from ..adapters.dynamodb.points import PendingPointsItem, PointsBalanceItem
from ..adapters.dynamodb.wallet import MallOrderItem, ShopPaymentItem
from ..adapters.observability import logger
from ..bootstrap import Container
from ..domain import points as p
from ..domain.calendar import Month, start_of_local_day
from ..domain.holds import HoldError, HoldState
from . import mall, shop_payments
from .common import LEDGER_ATTEMPTS, retrying
from .points_ledger import MemberPoints, load_state

PROGRESS_EVERY = 1000
WORKERS = 8


def per_shard[T](fetch: Callable[[int], Iterable[T]]) -> Iterator[T]:
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


# --- stale holds ---------------------------------------------------------------------------------
def release_stale_holds(c: Container, now: datetime, dry_run: bool) -> dict[str, Any]:
    """Mall checkouts and shop aibi payments not resolved within 30 minutes (RULES.md 3.4)."""
    due = list(
        per_shard(
            lambda shard: MallOrderItem.hold_queue.query(
                f"HOLDS#{shard}", MallOrderItem.gsi3sk < iso(now), attributes_to_get=["pk", "sk", "gsi3sk"]
            )
        )
    )
    report = {"holds_due": len(due), "holds_released": 0}
    for item in due:
        if dry_run:
            continue
        kind = item.gsi3sk.split("#")[1]
        report["holds_released"] += retrying(lambda item=item, kind=kind: _expire_hold(c, kind, item.pk, now))
    return report


def _expire_hold(c: Container, kind: str, pk: str, now: datetime) -> int:
    uow = c.uow()
    try:
        if kind == "MALL":
            mall.resolve_order(uow, c, pk.removeprefix("MALLORDER#"), None, HoldState.EXPIRED, now)
        else:
            payment = ShopPaymentItem.get_or_none(pk, ShopPaymentItem.SK)
            if payment is None:
                return 0
            shop_payments.resolve_payment(uow, c, payment, HoldState.EXPIRED, now)
    except HoldError:
        return 0  # resolved meanwhile by the payment result
    uow.commit()
    return 1
