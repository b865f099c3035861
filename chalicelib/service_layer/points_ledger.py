"""One member's points inside one unit of work: read once, change through the domain's
arithmetic, written once as the balance item (guarded by its version) plus one ledger
entry per change, in the same transaction as everything else the use case writes.

Lots whose month has ended are expired on load (with their ledger entries), so no
spend can ever touch an expired lot even before the daily job has swept it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from ulid import ULID

from ..adapters.dynamodb.base import shard_of
from ..adapters.dynamodb.pagination import Page, query_page
from ..adapters.dynamodb.points import LotShare, PointsBalanceItem, PointsEntryItem
from ..adapters.dynamodb.uow import UnitOfWork
from ..bootstrap import Container
from ..domain import points as p
from ..domain.calendar import Month, local_date
from ..domain.points import EntryKind, LotShares, PointsState
from .accounts import VersionedAccount


def balance_pk(member_id: str) -> str:
    return f"MEMBER#{member_id}"


def load_state(item: PointsBalanceItem | None) -> PointsState:
    if item is None:
        return PointsState()
    lots = item.lots.as_dict() if item.lots is not None and hasattr(item.lots, "as_dict") else dict(item.lots or {})
    return PointsState(
        available=int(item.available),
        pending=int(item.pending),
        held=int(item.held or 0),
        lifetime=int(item.lifetime),
        lots={str(month): int(points) for month, points in lots.items()},
    )


@dataclass
class _Entry:
    kind: EntryKind
    rule: str | None
    before: PointsState
    after: PointsState
    ref: str | None
    expires_on: str | None
    lots: LotShares
    note: str | None


class MemberPoints(VersionedAccount[_Entry]):
    balance_model = PointsBalanceItem

    def __init__(self, c: Container, member_id: str, item: PointsBalanceItem | None, as_of: datetime) -> None:
        super().__init__(member_id, item)
        self.c = c
        self.state = load_state(item)
        self._now = c.now()
        self._opening = (item.opening_month, item.opening_lifetime) if item is not None else (None, None)
        self._loaded_lifetime = self.state.lifetime
        self.expired_on_load = self.expire(Month.of(local_date(as_of)))

    @classmethod
    def load(cls, c: Container, member_id: str, as_of: datetime | None = None) -> MemberPoints:
        item = PointsBalanceItem.get_or_none(balance_pk(member_id), PointsBalanceItem.SK)
        return cls(c, member_id, item, as_of or c.now())

    @classmethod
    def of(cls, uow: UnitOfWork, c: Container, member_id: str, as_of: datetime | None = None) -> MemberPoints:
        """The member's points for this unit of work (loaded on first use, flushed once)."""
        return uow.shared(("points", member_id), lambda: cls.load(c, member_id, as_of))

    # --- changes -----------------------------------------------------------------------------
    def _record(
        self,
        kind: EntryKind,
        rule: str | None,
        after: PointsState,
        *,
        ref: str | None = None,
        expires_on: str | None = None,
        lots: LotShares = (),
        note: str | None = None,
    ) -> None:
        self._entries.append(_Entry(kind, rule, self.state, after, ref, expires_on, lots, note))
        self.state = after

    def _lot_month(self, earned_on: date) -> Month:
        return p.expiry_month(earned_on, self.c.rules.points.validity_months)

    def earn(self, points: int, earned_on: date, rule: str, ref: str | None = None) -> None:
        if points <= 0:
            return
        month = self._lot_month(earned_on)
        after, shares = p.credit(self.state, points, month)
        self._record(EntryKind.EARN, rule, after, ref=ref, expires_on=month.last_day.isoformat(), lots=shares)

    def earn_pending(self, points: int, rule: str, ref: str) -> None:
        if points <= 0:
            return
        self._record(EntryKind.EARN, rule, replace(self.state, pending=self.state.pending + points), ref=ref)

    def release(self, points: int, earned_on: date, rule: str, ref: str) -> None:
        if points <= 0:
            return
        month = self._lot_month(earned_on)
        after, shares = p.credit(replace(self.state, pending=self.state.pending - points), points, month)
        self._record(EntryKind.RELEASE, rule, after, ref=ref, expires_on=month.last_day.isoformat(), lots=shares)

    def cancel_pending(self, points: int, rule: str, ref: str) -> None:
        if points <= 0:
            return
        self._record(EntryKind.CANCEL, rule, replace(self.state, pending=self.state.pending - points), ref=ref)

    def reverse(self, points: int, rule: str, ref: str) -> None:
        if points <= 0:
            return
        after, shares = p.reverse(self.state, points)
        self._record(EntryKind.REVERSE, rule, after, ref=ref, lots=shares)

    def spend(self, points: int, kind: EntryKind, ref: str, note: str | None = None) -> LotShares:
        after, shares = p.debit(self.state, points)
        self._record(kind, None, after, ref=ref, lots=shares, note=note)
        return shares

    def hold(self, points: int, ref: str) -> LotShares:
        after, shares = p.hold(self.state, points)
        self._record(EntryKind.HOLD, None, after, ref=ref, lots=shares)
        return shares

    def capture(self, points: int, ref: str) -> None:
        self._record(EntryKind.CAPTURE, None, p.capture(self.state, points), ref=ref)

    def unhold(self, shares: LotShares, ref: str) -> None:
        self._record(EntryKind.UNHOLD, None, p.release_hold(self.state, shares), ref=ref, lots=shares)

    def adjust(self, points: int, ref: str, note: str) -> None:
        """A staff correction: credits go into today's lot; debits take soonest lots first."""
        if points > 0:
            month = self._lot_month(local_date(self._now))
            after, shares = p.credit(self.state, points, month)
            self._record(
                EntryKind.ADJUST, None, after, ref=ref, expires_on=month.last_day.isoformat(), lots=shares, note=note
            )
        elif points < 0:
            after, shares = p.debit(self.state, -points)
            self._record(EntryKind.ADJUST, None, after, ref=ref, lots=shares, note=note)

    def expire(self, current_month: Month) -> int:
        after, due = p.expire(self.state, current_month)
        if due:
            self._record(EntryKind.EXPIRE, None, after, lots=due, note=f"lots ending before {current_month}")
        return sum(points for _, points in due)

    # --- write -----------------------------------------------------------------------------------
    def _balance_item(self, version: int) -> PointsBalanceItem:
        shard = shard_of(self.member_id)
        state = self.state
        earliest = p.earliest_lot(state)
        month = str(Month.of(local_date(self._now)))
        opening_month, opening_lifetime = self._opening
        if opening_month != month:
            opening_month, opening_lifetime = month, self._loaded_lifetime
        return PointsBalanceItem(
            pk=balance_pk(self.member_id),
            sk=PointsBalanceItem.SK,
            member_id=self.member_id,
            available=state.available,
            pending=state.pending,
            held=state.held,
            lifetime=state.lifetime,
            lots=dict(state.lots),
            version=version,
            updated_at=self._now,
            opening_month=opening_month,
            opening_lifetime=opening_lifetime,
            gsi2pk=f"MEMBERS#{shard}",
            gsi2sk=f"B#{self.member_id}",
            gsi3pk=f"EXPIRY#{shard}" if earliest else None,
            gsi3sk=f"{earliest}#{self.member_id}" if earliest else None,
        )

    def _entry_item(self, version: int, number: int, entry: _Entry) -> PointsEntryItem:
        before, after = entry.before, entry.after
        return PointsEntryItem(
            pk=balance_pk(self.member_id),
            sk=f"PLEDGER#{version:012d}#{number:03d}",
            entry_id=str(ULID()),
            member_id=self.member_id,
            kind=entry.kind.value,
            rule=entry.rule,
            points=after.available - before.available,
            pending_delta=after.pending - before.pending,
            held_delta=after.held - before.held,
            lifetime_delta=after.lifetime - before.lifetime,
            balance_after=after.available,
            pending_after=after.pending,
            held_after=after.held,
            created_at=self._now,
            expires_on=entry.expires_on,
            ref=entry.ref,
            note=entry.note,
            lots=[LotShare(month=month, points=share) for month, share in entry.lots] or None,
        )


def entries_page(c: Container, member_id: str, limit: int, cursor: str | None) -> Page[PointsEntryItem]:
    """The member's points statement, newest first."""
    return query_page(
        PointsEntryItem,
        balance_pk(member_id),
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        range_key_condition=PointsEntryItem.sk.startswith("PLEDGER#"),
        newest_first=True,
    )
