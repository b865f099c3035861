"""Properties of the points arithmetic (domain/points.py) and the earning amounts
(domain/earning.py).

Expected values are derived here independently of the code under test: by hand in the
example tests, and from a per-point model (a multiset of expiry months) in the
properties.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import earning
from chalicelib.domain import points as p
from chalicelib.domain.calendar import Month
from chalicelib.domain.rules import EarningRules, PointsRules

RULES = EarningRules()
THRESHOLDS = PointsRules().star_thresholds
MAX_LOTS = PointsRules().max_live_lots
NOW_MONTH = Month(2026, 11)


# --- strategies --------------------------------------------------------------------------------------
def live_months(current: Month = NOW_MONTH) -> st.SearchStrategy[str]:
    """A month a live lot can have: from the current month to 12 months on (13 in all)."""
    return st.integers(0, MAX_LOTS - 1).map(lambda n: str(current.shift(n)))


@st.composite
def states(draw: st.DrawFn, kind: str = "any") -> p.PointsState:
    """A valid state: a debt and no lots, or live lots adding up to ``available``.

    ``kind``: "any", "funded" (at least one point available) or "debt".
    """
    pending = draw(st.integers(0, 10_000))
    held = draw(st.integers(0, 10_000))
    lifetime = draw(st.integers(0, 300_000))
    if kind == "debt" or (kind == "any" and draw(st.integers(0, 3)) == 0):
        return p.PointsState(available=-draw(st.integers(1, 5_000)), pending=pending, held=held, lifetime=lifetime)
    min_size = 1 if kind == "funded" else 0
    lots = draw(st.dictionaries(live_months(), st.integers(1, 5_000), min_size=min_size, max_size=MAX_LOTS))
    return p.PointsState(available=sum(lots.values()), pending=pending, held=held, lifetime=lifetime, lots=lots)


def units(state: p.PointsState) -> Counter[str]:
    """The per-point model: how many points expire at the end of each month."""
    return Counter(state.lots)


def assert_valid(state: p.PointsState) -> None:
    assert all(points > 0 for points in state.lots.values())
    assert sum(state.lots.values()) == max(state.available, 0)
    if state.available < 0:
        assert state.lots == {}
    assert state.pending >= 0 and state.held >= 0 and state.lifetime >= 0


# --- credit ----------------------------------------------------------------------------------------------
@given(states(), st.integers(0, 20_000), live_months())
def test_credit_repays_debt_first_and_puts_only_the_rest_in_the_lot(state, points, month):
    after, shares = p.credit(state, points, Month.parse(month))

    repaid = min(points, state.debt)
    into_lot = points - repaid
    assert after.available == state.available + points
    assert after.debt == state.debt - repaid
    assert after.lifetime == state.lifetime + points
    expected = units(state)
    expected[month] += into_lot
    assert Counter(after.lots) == +expected
    assert shares == (((month, into_lot),) if into_lot else ())
    assert_valid(after)


def test_credit_of_an_earning_smaller_than_the_debt_leaves_a_smaller_debt_and_no_lot():
    after, shares = p.credit(p.PointsState(available=-30), 20, Month(2027, 11))
    assert (after.available, after.debt, after.lots, shares) == (-10, 10, {}, ())


def test_credit_without_lifetime_leaves_lifetime_alone():
    after, _ = p.credit(p.PointsState(lifetime=7), 5, Month(2027, 11), lifetime=False)
    assert after.lifetime == 7


# --- debit -----------------------------------------------------------------------------------------------
@given(states("funded"), st.data())
def test_debit_takes_the_soonest_expiring_lots_first(state, data):
    points = data.draw(st.integers(1, state.available))

    after, taken = p.debit(state, points)

    # model: line the points up by expiry month and take the first ``points`` of them
    ordered = [month for month in sorted(state.lots) for _ in range(state.lots[month])]
    expected_taken = Counter(ordered[:points])
    assert Counter(dict(taken)) == expected_taken
    assert [month for month, _ in taken] == sorted(expected_taken)
    assert Counter(after.lots) == Counter(ordered[points:])
    assert after.available == state.available - points
    assert (after.pending, after.held, after.lifetime) == (state.pending, state.held, state.lifetime)
    assert_valid(after)


@given(states("funded"), st.data())
def test_debit_never_touches_more_than_13_lots(state, data):
    _, taken = p.debit(state, data.draw(st.integers(1, state.available)))
    assert 1 <= len(taken) <= MAX_LOTS
    # every lot but the last one taken is emptied
    for month, share in taken[:-1]:
        assert share == state.lots[month]


@given(states("funded"), st.integers(1, 1_000))
def test_debit_beyond_the_balance_is_refused(state, extra):
    with pytest.raises(p.InsufficientPoints) as refused:
        p.debit(state, state.available + extra)
    assert refused.value.code == "insufficient_points"


@given(states("debt"), st.integers(1, 1_000))
def test_a_member_in_debt_cannot_spend(state, points):
    with pytest.raises(p.PointsDebt) as refused:
        p.debit(state, points)
    assert refused.value.code == "points_debt"


def test_debit_rejects_zero_and_negative_amounts():
    state = p.PointsState(available=10, lots={"2027-11": 10})
    for points in (0, -1):
        with pytest.raises(ValueError):
            p.debit(state, points)


def test_debit_across_three_lots_by_hand():
    state = p.PointsState(available=60, lots={"2027-03": 10, "2026-12": 20, "2027-01": 30})
    after, taken = p.debit(state, 35)
    # 20 from 2026-12, 15 of the 30 in 2027-01; 2027-03 untouched
    assert taken == (("2026-12", 20), ("2027-01", 15))
    assert after.lots == {"2027-01": 15, "2027-03": 10}
    assert after.available == 25


# --- lots invariant ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {"available": 10, "lots": {"2027-01": 5}},
        {"available": -5, "lots": {"2027-01": 5}},
        {"available": 0, "lots": {"2027-01": 0}},
        {"available": 0, "pending": -1},
        {"available": 0, "held": -1},
        {"available": 0, "lifetime": -1},
    ],
)
def test_a_state_whose_lots_do_not_add_up_cannot_exist(kwargs):
    with pytest.raises(ValueError):
        p.PointsState(**kwargs)


@given(
    states(),
    st.lists(
        st.tuples(st.sampled_from(["credit", "debit", "reverse", "expire"]), st.integers(1, 3_000), live_months()),
        max_size=20,
    ),
)
def test_lots_always_add_up_to_the_positive_part_of_available(state, steps):
    for operation, points, month in steps:
        if operation == "credit":
            state, _ = p.credit(state, points, Month.parse(month))
        elif operation == "debit" and 0 < points <= state.available:
            state, _ = p.debit(state, points)
        elif operation == "reverse":
            state, _ = p.reverse(state, points)
        elif operation == "expire":
            state, _ = p.expire(state, Month.parse(month))
        assert_valid(state)


# --- expiry ------------------------------------------------------------------------------------------------
@given(states(), st.integers(-2, 15))
def test_expire_removes_exactly_the_lots_before_the_month(state, offset):
    current = NOW_MONTH.shift(offset)
    after, due = p.expire(state, current)

    before_month = {m: n for m, n in state.lots.items() if Month.parse(m) < current}
    kept = {m: n for m, n in state.lots.items() if Month.parse(m) >= current}
    assert dict(due) == before_month
    assert after.lots == kept
    assert after.available == state.available - sum(before_month.values())
    assert after.lifetime == state.lifetime  # expiry never lowers lifetime (RULES.md 3.2)
    assert (after.pending, after.held) == (state.pending, state.held)
    assert_valid(after)
    again, nothing = p.expire(after, current)
    assert (again, nothing) == (after, ())


def test_expire_by_hand_at_the_first_day_of_a_month():
    state = p.PointsState(available=60, lots={"2027-01": 10, "2027-02": 20, "2027-03": 30})
    after, due = p.expire(state, Month(2027, 2))
    # the lot 2027-01 ended on 31 January; 2027-02 lives until the end of February
    assert due == (("2027-01", 10),)
    assert after.lots == {"2027-02": 20, "2027-03": 30}
    assert after.available == 50


def test_expiring_schedule_shows_the_last_day_of_each_live_lot():
    state = p.PointsState(available=60, lots={"2027-02": 20, "2026-10": 10, "2028-02": 30})
    assert p.expiring_schedule(state, Month(2026, 11)) == [(date(2027, 2, 28), 20), (date(2028, 2, 29), 30)]


@pytest.mark.parametrize(
    ("earned_on", "lot", "shown"),
    [
        (date(2026, 1, 15), "2027-01", date(2027, 1, 31)),
        (date(2026, 12, 31), "2027-12", date(2027, 12, 31)),
        (date(2026, 1, 1), "2027-01", date(2027, 1, 31)),
        (date(2027, 2, 1), "2028-02", date(2028, 2, 29)),  # a leap year's February
        (date(2026, 11, 30), "2027-11", date(2027, 11, 30)),
    ],
)
def test_expiry_month_is_the_same_month_a_year_later(earned_on, lot, shown):
    month = p.expiry_month(earned_on, PointsRules().validity_months)
    assert str(month) == lot
    assert month.last_day == shown


# --- hold, capture, release -----------------------------------------------------------------------------
@given(states("funded"), st.data())
def test_hold_then_release_restores_the_state_exactly(state, data):
    points = data.draw(st.integers(1, state.available))
    held, shares = p.hold(state, points)
    assert held.available == state.available - points
    assert held.held == state.held + points
    assert sum(share for _, share in shares) == points
    assert_valid(held)

    assert p.release_hold(held, shares) == state


@given(states("funded"), st.data())
def test_hold_then_capture_spends_the_points_for_good(state, data):
    points = data.draw(st.integers(1, state.available))
    held, _ = p.hold(state, points)
    captured = p.capture(held, points)
    assert captured.held == state.held
    assert captured.available == state.available - points
    assert captured.lifetime == state.lifetime  # spending never lowers lifetime
    assert_valid(captured)


@given(states("funded"), st.data())
def test_a_release_while_in_debt_repays_the_debt_first(state, data):
    points = data.draw(st.integers(1, state.available))
    held, shares = p.hold(state, points)
    # a refund after the window empties the rest of the balance and leaves a debt
    reversal = held.available + data.draw(st.integers(1, 2_000))
    in_debt, _ = p.reverse(held, reversal)
    debt = in_debt.debt

    released = p.release_hold(in_debt, shares)

    assert released.available == in_debt.available + points
    assert released.debt == max(debt - points, 0)
    assert sum(released.lots.values()) == max(points - debt, 0)
    assert released.held == state.held
    assert_valid(released)


def test_capture_and_release_refuse_more_than_is_held():
    state = p.PointsState(available=0, held=10)
    with pytest.raises(ValueError):
        p.capture(state, 11)
    with pytest.raises(ValueError):
        p.capture(state, 0)
    with pytest.raises(ValueError):
        p.release_hold(state, (("2027-01", 11),))


def test_hold_is_refused_in_debt():
    with pytest.raises(p.PointsDebt):
        p.hold(p.PointsState(available=-1), 1)


# --- reverse ---------------------------------------------------------------------------------------------------
@given(states(), st.integers(1, 20_000))
def test_reverse_creates_debt_only_for_what_is_missing(state, points):
    after, taken = p.reverse(state, points)

    positive = max(state.available, 0)
    from_balance = min(points, positive)
    assert sum(share for _, share in taken) == from_balance
    assert after.available == state.available - points
    assert after.debt == state.debt + (points - from_balance)
    assert after.lifetime == max(state.lifetime - points, 0)  # reversals lower lifetime (RULES.md 3.3)
    # the balance part comes from the soonest-expiring lots, like a spend
    ordered = [month for month in sorted(state.lots) for _ in range(state.lots[month])]
    assert Counter(after.lots) == Counter(ordered[from_balance:])
    assert_valid(after)


def test_reverse_by_hand():
    state = p.PointsState(available=30, lifetime=100, lots={"2027-01": 10, "2027-06": 20})
    after, taken = p.reverse(state, 50)
    # 30 come from the balance, 20 are missing and become a debt; lifetime 100 - 50
    assert taken == (("2027-01", 10), ("2027-06", 20))
    assert (after.available, after.debt, after.lifetime, after.lots) == (-20, 20, 50, {})


# --- stars ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lifetime", "stars"),
    [
        (0, 0),
        (1_999, 0),
        (2_000, 1),
        (9_999, 1),
        (10_000, 2),
        (29_999, 2),
        (30_000, 3),
        (79_999, 3),
        (80_000, 4),
        (199_999, 4),
        (200_000, 5),
        (10**9, 5),
    ],
)
def test_stars_for_lifetime_points(lifetime, stars):
    assert p.stars_for(lifetime, THRESHOLDS) == stars


@given(st.integers(0, 10**7), st.integers(0, 10**6))
def test_stars_never_go_down_as_lifetime_grows(lifetime, more):
    assert p.stars_for(lifetime + more, THRESHOLDS) >= p.stars_for(lifetime, THRESHOLDS)


# --- ledger categories ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "delta", "expected"),
    [
        (p.EntryKind.EARN, 10, p.Category.ISSUED),
        (p.EntryKind.RELEASE, 0, p.Category.MOVED),
        (p.EntryKind.HOLD, 0, p.Category.MOVED),
        (p.EntryKind.UNHOLD, 0, p.Category.MOVED),
        (p.EntryKind.CAPTURE, -10, p.Category.SPENT),
        (p.EntryKind.SPEND, -10, p.Category.SPENT),
        (p.EntryKind.EXCHANGE, -100, p.Category.SPENT),
        (p.EntryKind.EXPIRE, -10, p.Category.EXPIRED),
        (p.EntryKind.REVERSE, -10, p.Category.REVERSED),
        (p.EntryKind.CANCEL, -10, p.Category.REVERSED),
        (p.EntryKind.ADJUST, 10, p.Category.ISSUED),
        (p.EntryKind.ADJUST, -10, p.Category.REVERSED),
    ],
)
def test_every_entry_kind_has_its_category(kind, delta, expected):
    assert p.category(kind, delta) is expected


# --- earning amounts ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "birth_months", "multiplier"),
    [
        (date(2026, 11, 1), {11}, 2),  # the member's birth month
        (date(2026, 11, 30), {3, 11}, 2),  # a baby's birth month
        (date(2026, 12, 1), {11}, 1),
        (date(2026, 11, 15), set(), 1),
    ],
)
def test_birthday_multiplier(day, birth_months, multiplier):
    assert earning.birthday_multiplier(day, birth_months, RULES) == multiplier


@pytest.mark.parametrize(
    ("paid_fen", "multiplier", "points"),
    [
        (0, 1, 0),
        (99, 1, 0),  # less than a whole yuan earns nothing
        (100, 1, 1),
        (12_399, 1, 123),  # 123.99 yuan -> 123 whole yuan
        (12_399, 2, 246),  # doubled after flooring, not floor(2 * 123.99)
        (1_000_000, 1, 10_000),
    ],
)
def test_purchase_points_floor_per_whole_yuan(paid_fen, multiplier, points):
    assert earning.purchase_points(paid_fen, multiplier, RULES) == points


@given(st.integers(0, 10**9))
def test_purchase_points_are_the_whole_yuan_paid(paid_fen):
    points = earning.purchase_points(paid_fen, 1, RULES)
    assert points * 100 <= paid_fen < (points + 1) * 100


@pytest.mark.parametrize(
    ("gross_fen", "points"),
    [(0, 0), (199, 2), (10_050, 200), (25_000, 500)],
)
def test_referral_points_are_two_per_whole_yuan_of_gross(gross_fen, points):
    assert earning.referral_first_purchase_points(gross_fen, RULES) == points


@pytest.mark.parametrize(
    ("gross", "paid", "refunded", "points"),
    [
        (20_000, 15_000, 0, 400),  # nothing refunded: 2 x 200 yuan of gross
        (20_000, 15_000, 15_000, 0),  # a full refund leaves nothing
        # a third of the paid amount is refunded: gross basis 20000 * 10000 / 15000 = 13333 fen -> 133 yuan -> 266
        (20_000, 15_000, 5_000, 266),
        (10_000, 10_000, 2_550, 148),  # 7450 fen of gross remain -> 74 yuan -> 148
        (10_000, 0, 0, 0),  # nothing was paid: nothing to keep
    ],
)
def test_referral_points_after_a_refund_shrink_in_proportion(gross, paid, refunded, points):
    assert earning.referral_points_after_refund(gross, paid, refunded, RULES) == points


@given(st.integers(1, 10**7), st.data())
def test_referral_points_after_refund_fall_as_more_is_refunded(paid, data):
    gross = data.draw(st.integers(paid, 2 * paid))
    first = data.draw(st.integers(0, paid))
    second = data.draw(st.integers(first, paid))
    kept_first = earning.referral_points_after_refund(gross, paid, first, RULES)
    kept_second = earning.referral_points_after_refund(gross, paid, second, RULES)
    assert kept_second <= kept_first <= earning.referral_first_purchase_points(gross, RULES)


@pytest.mark.parametrize(
    ("used", "wanted", "cap", "granted"), [(0, 2, 20, 2), (19, 2, 20, 1), (20, 2, 20, 0), (25, 1, 3, 0)]
)
def test_capped(used, wanted, cap, granted):
    assert earning.capped(used, wanted, cap) == granted


def test_challenge_wins_per_day_must_be_within_three_to_five():
    assert EarningRules(challenge_wins_per_day=5).challenge_wins_per_day == 5
    for wins in (2, 6):
        with pytest.raises(ValueError):
            EarningRules(challenge_wins_per_day=wins)
