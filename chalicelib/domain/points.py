"""Points arithmetic: lots by expiry month, credits that repay debt first, soonest-first
debits, expiry, star levels. Pure functions over an immutable ``PointsState``.

Invariant of every state this module returns: the lots are positive and add up to
``max(available, 0)``; ``available < 0`` is a points debt (RULES.md 3.2), and then
there are no lots.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from .calendar import Month
from .errors import RuleViolation


class InsufficientPoints(RuleViolation):
    """The member has fewer available points than asked for."""

    code = "insufficient_points"
    default_message = "Not enough points."


class PointsDebt(InsufficientPoints):
    """A member in points debt cannot spend points until later earnings repay it."""

    code = "points_debt"
    default_message = "Points are owed from a refunded order; spending is blocked until they are repaid."


LotShares = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class PointsState:
    available: int = 0
    pending: int = 0
    held: int = 0
    lifetime: int = 0
    lots: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if any(points <= 0 for points in self.lots.values()):
            raise ValueError("lots must be positive")
        if sum(self.lots.values()) != max(self.available, 0):
            raise ValueError("lots must add up to the available balance")
        if self.pending < 0 or self.held < 0 or self.lifetime < 0:
            raise ValueError("pending, held and lifetime cannot be negative")

    @property
    def debt(self) -> int:
        return max(-self.available, 0)


def expiry_month(earned_on: date, validity_months: int) -> Month:
    """Decision (RULES.md 3.2): earned on day D, expires at the end of D's month a year on."""
    return Month.of(earned_on).shift(validity_months)


def credit(
    state: PointsState, points: int, lot_month: Month, *, lifetime: bool = True
) -> tuple[PointsState, LotShares]:
    """Add earned points: debt is repaid first, the rest goes into the lot of ``lot_month``."""
    if points < 0:
        raise ValueError("credit takes a non-negative amount")
    new_available = state.available + points
    into_lot = new_available - max(state.available, 0) if new_available > 0 else 0
    lots = dict(state.lots)
    if into_lot:
        key = str(lot_month)
        lots[key] = lots.get(key, 0) + into_lot
    new_state = replace(
        state, available=new_available, lifetime=state.lifetime + (points if lifetime else 0), lots=lots
    )
    return new_state, (((str(lot_month), into_lot),) if into_lot else ())


def _take_soonest(lots: Mapping[str, int], points: int) -> tuple[dict[str, int], LotShares]:
    remaining = dict(lots)
    taken: list[tuple[str, int]] = []
    for month in sorted(remaining):
        if points == 0:
            break
        share = min(points, remaining[month])
        taken.append((month, share))
        points -= share
        remaining[month] -= share
        if remaining[month] == 0:
            del remaining[month]
    return remaining, tuple(taken)


def debit(state: PointsState, points: int) -> tuple[PointsState, LotShares]:
    """Spend points, soonest-expiring lots first; refused in debt or beyond the balance."""
    if points <= 0:
        raise ValueError("debit takes a positive amount")
    if state.available < 0:
        raise PointsDebt()
    if points > state.available:
        raise InsufficientPoints(available=state.available)
    lots, taken = _take_soonest(state.lots, points)
    return replace(state, available=state.available - points, lots=lots), taken


def hold(state: PointsState, points: int) -> tuple[PointsState, LotShares]:
    """Reserve points for a checkout: they leave the lots (soonest first) until captured
    or released; the shares say which lots to give them back to."""
    spent, taken = debit(state, points)
    return replace(spent, held=state.held + points), taken


def capture(state: PointsState, points: int) -> PointsState:
    """A held amount is spent for good."""
    if not 0 < points <= state.held:
        raise ValueError("capture must take a positive amount not above what is held")
    return replace(state, held=state.held - points)


def release_hold(state: PointsState, shares: LotShares) -> PointsState:
    """Give held points back to the lots they came from (expiry applies as usual)."""
    points = sum(share for _, share in shares)
    if not 0 < points <= state.held:
        raise ValueError("a release must return a positive amount not above what is held")
    lots = dict(state.lots)
    repay = min(points, state.debt)
    remaining = points - repay
    for month, share in sorted(shares):
        if remaining == 0:
            break
        back = min(share, remaining)
        lots[month] = lots.get(month, 0) + back
        remaining -= back
    return replace(state, available=state.available + points, held=state.held - points, lots=lots)


def reverse(state: PointsState, points: int) -> tuple[PointsState, LotShares]:
    """Take back earned points after the return window: from the available balance first
    (soonest-expiring lots), the rest becomes debt; lifetime points go down too."""
    if points <= 0:
        raise ValueError("reverse takes a positive amount")
    from_lots = min(points, max(state.available, 0))
    lots, taken = _take_soonest(state.lots, from_lots)
    return (
        replace(state, available=state.available - points, lifetime=max(state.lifetime - points, 0), lots=lots),
        taken,
    )


def expire(state: PointsState, current_month: Month) -> tuple[PointsState, LotShares]:
    """Remove every lot whose month has ended before ``current_month``."""
    due = tuple((month, points) for month, points in sorted(state.lots.items()) if month < str(current_month))
    if not due:
        return state, ()
    lots = {month: points for month, points in state.lots.items() if month >= str(current_month)}
    expired = sum(points for _, points in due)
    return replace(state, available=state.available - expired, lots=lots), due


def expiring_schedule(state: PointsState, current_month: Month) -> list[tuple[date, int]]:
    """Live lots as ``(last day of validity, points)``, soonest first."""
    return [
        (Month.parse(month).last_day, points)
        for month, points in sorted(state.lots.items())
        if month >= str(current_month)
    ]


def earliest_lot(state: PointsState) -> str | None:
    return min(state.lots) if state.lots else None


def stars_for(lifetime: int, thresholds: tuple[int, ...]) -> int:
    """Star level 0..5 from lifetime points (RULES.md 3.3)."""
    return max(bisect.bisect_right(thresholds, lifetime) - 1, 0)


@dataclass(frozen=True)
class NextStar:
    """The next star level and the lifetime points still missing for it."""

    stars: int
    lifetime_needed: int
    points_needed: int


def next_star(lifetime: int, thresholds: tuple[int, ...]) -> NextStar | None:
    """``None`` at the top level; spending never lowers lifetime, so only earning closes the gap."""
    stars = stars_for(lifetime, thresholds)
    if stars + 1 >= len(thresholds):
        return None
    needed = thresholds[stars + 1]
    return NextStar(stars + 1, needed, needed - max(lifetime, 0))


class EntryKind(StrEnum):
    """Every way a member's points move. Each kind is issuance, a spend, an expiry, a
    reversal, or a move between the member's own buckets (net zero)."""

    EARN = "earn"  # issued, to available or to pending
    RELEASE = "release"  # pending -> available after the return window
    SPEND = "spend"  # draw, charity, points-only mall purchase
    EXCHANGE = "exchange"  # into aibi
    HOLD = "hold"  # available -> held at a mall checkout
    CAPTURE = "capture"  # held -> spent
    UNHOLD = "unhold"  # held -> available (payment failed or timed out)
    EXPIRE = "expire"
    REVERSE = "reverse"  # refund after the window (may create debt)
    CANCEL = "cancel"  # refund inside the window: pending points cancelled
    ADJUST = "adjust"  # staff correction: issued when positive, reversed when negative


class Category(StrEnum):
    ISSUED = "issued"
    SPENT = "spent"
    EXPIRED = "expired"
    REVERSED = "reversed"
    MOVED = "moved"


def category(kind: EntryKind, total_delta: int) -> Category:
    """RULES.md 6.2: issued - spent - expired - reversed = sum of all balances."""
    if kind in (EntryKind.RELEASE, EntryKind.HOLD, EntryKind.UNHOLD):
        return Category.MOVED
    if kind is EntryKind.EARN:
        return Category.ISSUED
    if kind is EntryKind.ADJUST:
        return Category.ISSUED if total_delta >= 0 else Category.REVERSED
    if kind is EntryKind.EXPIRE:
        return Category.EXPIRED
    if kind in (EntryKind.REVERSE, EntryKind.CANCEL):
        return Category.REVERSED
    return Category.SPENT
