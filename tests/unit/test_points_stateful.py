"""A state machine over the pure points arithmetic, checked against a simple reference.

The reference keeps every live point as a unit with its expiry month (a multiset), a
debt as one integer, and counts what was issued, spent, expired and reversed. After
every step the domain's ``PointsState`` must agree with it, and RULES.md 6.2 must hold:
issued - spent - expired - reversed = available + pending + held.

As in ``MemberPoints``, every operation first expires what is due for the current month
(the ledger does that on load), and the month only moves forward.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chalicelib.domain import points as p
from chalicelib.domain.calendar import Month
from chalicelib.domain.rules import PointsRules

VALIDITY = PointsRules().validity_months
MAX_LOTS = PointsRules().max_live_lots
amounts = st.integers(1, 500)


class PointsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.month = Month(2026, 11)
        self.state = p.PointsState()
        # the reference
        self.units: Counter[str] = Counter()
        self.debt = 0
        self.pending: list[int] = []  # one entry per purchase still in its return window
        self.holds: list[tuple[int, p.LotShares]] = []
        self.lifetime = 0
        self.issued = self.spent = self.expired = self.reversed = 0

    # --- the reference's own arithmetic ------------------------------------------------------------------
    @property
    def model_available(self) -> int:
        return sum(self.units.values()) - self.debt

    def _model_credit(self, points: int, month: str) -> None:
        repay = min(points, self.debt)
        self.debt -= repay
        self.units[month] += points - repay

    def _model_take(self, points: int) -> Counter[str]:
        """Take ``points`` units, soonest month first."""
        taken: Counter[str] = Counter()
        for month in sorted(self.units):
            share = min(points, self.units[month])
            taken[month] += share
            self.units[month] -= share
            points -= share
        self.units = +self.units
        return +taken

    def _load(self) -> None:
        """What ``MemberPoints`` does on load: expire lots of months that have ended."""
        due = sum(n for month, n in self.units.items() if Month.parse(month) < self.month)
        self.units = Counter({month: n for month, n in self.units.items() if Month.parse(month) >= self.month})
        self.expired += due
        self.state, expired = p.expire(self.state, self.month)
        assert sum(n for _, n in expired) == due

    @property
    def lot_month(self) -> Month:
        return self.month.shift(VALIDITY)

    # --- rules ---------------------------------------------------------------------------------------------
    @rule(points=amounts)
    def earn(self, points: int) -> None:
        self._load()
        self.state, _ = p.credit(self.state, points, self.lot_month)
        self._model_credit(points, str(self.lot_month))
        self.lifetime += points
        self.issued += points

    @rule(points=amounts)
    def earn_pending(self, points: int) -> None:
        self._load()
        self.state = p.PointsState(
            available=self.state.available,
            pending=self.state.pending + points,
            held=self.state.held,
            lifetime=self.state.lifetime,
            lots=self.state.lots,
        )
        self.pending.append(points)
        self.issued += points

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def release_pending(self, data: st.DataObject) -> None:
        """After the return window pending points become available (and lifetime)."""
        self._load()
        points = self.pending.pop(data.draw(st.integers(0, len(self.pending) - 1)))
        moved = p.PointsState(
            available=self.state.available,
            pending=self.state.pending - points,
            held=self.state.held,
            lifetime=self.state.lifetime,
            lots=self.state.lots,
        )
        self.state, _ = p.credit(moved, points, self.lot_month)
        self._model_credit(points, str(self.lot_month))
        self.lifetime += points

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def cancel_pending(self, data: st.DataObject) -> None:
        """A refund inside the window cancels (part of) a purchase's pending points."""
        self._load()
        index = data.draw(st.integers(0, len(self.pending) - 1))
        points = data.draw(st.integers(1, self.pending[index]))
        self.pending[index] -= points
        if not self.pending[index]:
            del self.pending[index]
        self.state = p.PointsState(
            available=self.state.available,
            pending=self.state.pending - points,
            held=self.state.held,
            lifetime=self.state.lifetime,
            lots=self.state.lots,
        )
        self.reversed += points

    @rule(data=st.data())
    def debit(self, data: st.DataObject) -> None:
        self._load()
        if self.state.available <= 0:
            return
        points = data.draw(st.integers(1, self.state.available))
        self.state, taken = p.debit(self.state, points)
        assert Counter(dict(taken)) == self._model_take(points)
        assert len(taken) <= MAX_LOTS
        self.spent += points

    @rule(data=st.data())
    def hold(self, data: st.DataObject) -> None:
        self._load()
        if self.state.available <= 0:
            return
        points = data.draw(st.integers(1, self.state.available))
        self.state, shares = p.hold(self.state, points)
        assert Counter(dict(shares)) == self._model_take(points)
        assert len(shares) <= MAX_LOTS
        self.holds.append((points, shares))

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def capture(self, data: st.DataObject) -> None:
        self._load()
        points, _ = self.holds.pop(data.draw(st.integers(0, len(self.holds) - 1)))
        self.state = p.capture(self.state, points)
        self.spent += points

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def unhold(self, data: st.DataObject) -> None:
        """Payment failed: the held points go back to their lots (or repay a debt first)."""
        self._load()
        points, shares = self.holds.pop(data.draw(st.integers(0, len(self.holds) - 1)))
        self.state = p.release_hold(self.state, shares)
        repay = min(points, self.debt)
        self.debt -= repay
        rest = points - repay
        for month, share in sorted(shares):
            back = min(share, rest)
            self.units[month] += back
            rest -= back
        self.units = +self.units

    @rule(points=st.integers(1, 1_500))
    def reverse(self, points: int) -> None:
        """A refund after the window: from the balance, soonest lots first; the rest is debt."""
        self._load()
        positive = max(self.model_available, 0)
        self.state, taken = p.reverse(self.state, points)
        assert Counter(dict(taken)) == self._model_take(min(points, positive))
        self.debt += points - min(points, positive)
        self.lifetime = max(self.lifetime - points, 0)
        self.reversed += points

    @rule(months=st.integers(1, 14))
    def time_passes(self, months: int) -> None:
        self.month = self.month.shift(months)
        self._load()

    # --- invariants ----------------------------------------------------------------------------------------
    @invariant()
    def lots_add_up_to_the_positive_part_of_available(self) -> None:
        assert sum(self.state.lots.values()) == max(self.state.available, 0)
        assert all(points > 0 for points in self.state.lots.values())

    @invariant()
    def nothing_negative_but_a_debt(self) -> None:
        assert self.state.pending >= 0 and self.state.held >= 0 and self.state.lifetime >= 0
        if self.state.available < 0:
            assert self.state.lots == {}

    @invariant()
    def the_state_agrees_with_the_reference(self) -> None:
        assert Counter(self.state.lots) == self.units
        assert self.state.available == self.model_available
        assert self.state.debt == self.debt
        assert self.state.pending == sum(self.pending)
        assert self.state.held == sum(points for points, _ in self.holds)
        assert self.state.lifetime == self.lifetime

    @invariant()
    def issued_minus_spent_expired_reversed_is_the_balance(self) -> None:
        assert self.issued - self.spent - self.expired - self.reversed == (
            self.state.available + self.state.pending + self.state.held
        )

    @invariant()
    def at_most_13_live_lots_once_expired(self) -> None:
        live, _ = p.expire(self.state, self.month)
        assert len(live.lots) <= MAX_LOTS
        assert all(Month.parse(month) >= self.month for month in live.lots)


PointsMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestPointsMachine = PointsMachine.TestCase
