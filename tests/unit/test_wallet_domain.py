"""The wallet's pure rules: withdrawal fee and payout, exchange value, the wallet's hold /
post / void arithmetic, the two-phase hold state machine and the lucky-draw bands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from math import ceil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import wallet as w
from chalicelib.domain.draw import ROLL_SPACE, InvalidPrizes, Prize, PrizeKind, check_prizes, pick
from chalicelib.domain.errors import Conflict
from chalicelib.domain.holds import HoldAlreadyPosted, HoldAlreadyVoided, HoldError, HoldExpired, HoldState, resolve
from chalicelib.domain.rules import WalletRules

RULES = WalletRules()


# --- withdrawal quote ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount_fen", "fee_fen", "payout_fen"),
    [
        (10_000, 1_000, 9_000),  # the minimum: 100 aibi pays out 90 yuan
        (10_001, 1_001, 9_000),  # 1000.1 rounds up to 1001
        (10_009, 1_001, 9_008),  # 1000.9 rounds up to 1001
        (10_010, 1_001, 9_009),  # exactly 1001
        (12_345, 1_235, 11_110),  # 1234.5 rounds up to 1235
        (10**18 + 1, 10**17 + 1, 9 * 10**17),  # far past any float's precision
    ],
)
def test_withdrawal_fee_is_a_tenth_rounded_up_and_payout_the_rest(amount_fen, fee_fen, payout_fen):
    quote = w.quote_withdrawal(amount_fen, RULES)
    assert (quote.amount_fen, quote.fee_fen, quote.payout_fen) == (amount_fen, fee_fen, payout_fen)


@given(st.integers(min_value=10_000, max_value=10**30))
def test_withdrawal_fee_matches_exact_rational_ceiling(amount_fen):
    quote = w.quote_withdrawal(amount_fen, RULES)
    assert quote.fee_fen == ceil(Fraction(amount_fen, 10))
    assert quote.fee_fen + quote.payout_fen == amount_fen
    assert 0 < quote.payout_fen < amount_fen


@pytest.mark.parametrize("amount_fen", [9_999, 1, 0, -10_000])
def test_withdrawal_below_one_hundred_aibi_is_refused(amount_fen):
    with pytest.raises(w.BelowMinimum) as raised:
        w.quote_withdrawal(amount_fen, RULES)
    assert raised.value.code == "below_minimum"


# --- exchange -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("points", "fen"), [(100, 100), (200, 200), (15_000, 15_000), (10**9, 10**9)])
def test_exchange_gives_one_fen_per_point_in_hundreds(points, fen):
    # 100 points = 1 aibi = 100 fen
    assert w.exchange_value_fen(points, RULES) == fen


@pytest.mark.parametrize("points", [1, 50, 99, 101, 150, 199, 0, -100])
def test_exchange_of_anything_but_a_positive_multiple_of_100_is_refused(points):
    with pytest.raises(w.NotMultipleOf100) as raised:
        w.exchange_value_fen(points, RULES)
    assert raised.value.code == "not_multiple_of_100"


# --- wallet arithmetic ------------------------------------------------------------------------------
operation = st.tuples(st.sampled_from(["credit", "debit", "hold", "post", "void"]), st.integers(-5, 50_000))


@given(st.lists(operation, max_size=40))
def test_wallet_never_goes_negative_and_every_fen_is_accounted(operations):
    state = w.WalletState()
    credited = spent = 0  # the independent model: balance + held = credited - spent
    for name, amount in operations:
        before = state
        try:
            state = getattr(w, name)(state, amount)
        except (w.InsufficientBalance, ValueError):
            assert state == before
            if name in ("debit", "hold"):
                assert amount <= 0 or amount > before.balance_fen
            elif name in ("post", "void"):
                assert amount <= 0 or amount > before.held_fen
            else:
                assert amount <= 0
            continue
        assert amount > 0
        if name == "credit":
            credited += amount
        elif name in ("debit", "post"):
            spent += amount
        assert state.balance_fen >= 0 and state.held_fen >= 0
        assert state.balance_fen + state.held_fen == credited - spent
        if name == "hold":
            assert (state.balance_fen, state.held_fen) == (before.balance_fen - amount, before.held_fen + amount)
        if name == "void":
            assert (state.balance_fen, state.held_fen) == (before.balance_fen + amount, before.held_fen - amount)


def test_a_hold_beyond_the_balance_is_insufficient_balance():
    with pytest.raises(w.InsufficientBalance) as raised:
        w.hold(w.WalletState(balance_fen=9_999), 10_000)
    assert raised.value.code == "insufficient_balance"


def test_a_wallet_state_cannot_be_negative():
    with pytest.raises(ValueError):
        w.WalletState(balance_fen=-1)
    with pytest.raises(ValueError):
        w.WalletState(held_fen=-1)


# --- the two-phase hold -------------------------------------------------------------------------------
DEADLINE = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
RESOLUTIONS = [HoldState.POSTED, HoldState.VOIDED, HoldState.EXPIRED]


@pytest.mark.parametrize("target", RESOLUTIONS)
def test_a_pending_hold_resolves_to_any_final_state(target):
    assert resolve(HoldState.PENDING, target) is target
    assert resolve(HoldState.PENDING, target, expires_at=DEADLINE, now=DEADLINE - timedelta(seconds=1)) is target


@pytest.mark.parametrize(
    ("current", "error", "code"),
    [
        (HoldState.POSTED, HoldAlreadyPosted, "already_posted"),
        (HoldState.VOIDED, HoldAlreadyVoided, "already_voided"),
        (HoldState.EXPIRED, HoldExpired, "hold_expired"),
    ],
)
@pytest.mark.parametrize("target", RESOLUTIONS)
def test_a_second_resolution_fails_with_the_error_of_the_first(current, error, code, target):
    with pytest.raises(error) as raised:
        resolve(current, target)
    assert raised.value.code == code
    assert isinstance(raised.value, HoldError) and isinstance(raised.value, Conflict)


def test_the_three_second_resolution_errors_are_distinct():
    codes = {HoldAlreadyPosted.code, HoldAlreadyVoided.code, HoldExpired.code, HoldError.code}
    assert len(codes) == 4


@pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1), timedelta(days=1)])
def test_capturing_a_hold_at_or_past_its_deadline_is_hold_expired(late):
    with pytest.raises(HoldExpired):
        resolve(HoldState.PENDING, HoldState.POSTED, expires_at=DEADLINE, now=DEADLINE + late)


@pytest.mark.parametrize("target", [HoldState.VOIDED, HoldState.EXPIRED])
def test_an_overdue_hold_can_still_be_released(target):
    assert resolve(HoldState.PENDING, target, expires_at=DEADLINE, now=DEADLINE + timedelta(hours=1)) is target


@pytest.mark.parametrize("current", list(HoldState))
def test_nothing_resolves_a_hold_back_to_pending(current):
    with pytest.raises((ValueError, HoldError)):
        resolve(current, HoldState.PENDING)


# --- lucky draw ---------------------------------------------------------------------------------------
def prize(prize_id: str, probability_bp: int, stock: int = 5, kind: PrizeKind = PrizeKind.GOODS, value: int = 0):
    return Prize(prize_id, kind, value, probability_bp, stock)


def test_pick_covers_exactly_the_probability_bands_in_order():
    prizes = [prize("a", 1_000), prize("b", 2_500), prize("zero", 0), prize("d", 500)]
    # bands: a [0, 1000), b [1000, 3500), zero: none, d [3500, 4000), no prize [4000, 10000)
    expected = {"a": range(0, 1_000), "b": range(1_000, 3_500), "d": range(3_500, 4_000)}
    won: dict[str | None, list[int]] = {}
    for roll in range(ROLL_SPACE):
        result = pick(prizes, roll)
        won.setdefault(result.prize_id if result else None, []).append(roll)
    assert {k: range(v[0], v[-1] + 1) for k, v in won.items() if k} == expected
    assert all(len(won[k]) == len(expected[k]) for k in expected)
    assert won[None] == list(range(4_000, ROLL_SPACE))
    assert "zero" not in won


def test_a_prize_of_100_percent_wins_every_roll_and_0_percent_none():
    certain = [prize("sure", 10_000)]
    assert all(pick(certain, roll).prize_id == "sure" for roll in range(ROLL_SPACE))
    never = [prize("never", 0), prize("other", 0)]
    assert all(pick(never, roll) is None for roll in range(ROLL_SPACE))


def test_an_out_of_stock_prize_wins_nothing_and_leaves_the_other_bands_alone():
    prizes = [prize("a", 1_000), prize("gone", 2_000, stock=0), prize("c", 3_000)]
    assert pick(prizes, 999).prize_id == "a"
    assert pick(prizes, 1_000) is None and pick(prizes, 2_999) is None
    assert pick(prizes, 3_000).prize_id == "c" and pick(prizes, 5_999).prize_id == "c"
    assert pick(prizes, 6_000) is None


@pytest.mark.parametrize("roll", [-1, ROLL_SPACE, 10**9])
def test_a_roll_outside_the_roll_space_is_a_bug(roll):
    with pytest.raises(ValueError):
        pick([prize("a", 10_000)], roll)


def test_check_prizes_accepts_odds_adding_up_to_exactly_100_percent():
    check_prizes([prize("a", 6_000), prize("b", 4_000), prize("p", 0, kind=PrizeKind.POINTS, value=10)])


@pytest.mark.parametrize(
    "prizes",
    [
        [prize("a", 6_000), prize("b", 4_001)],  # 100.01 %
        [prize("a", 100), prize("a", 100)],  # duplicate id
        [prize("a", -1)],
        [prize("a", 100, stock=-1)],
        [prize("a", 100, value=-5)],
        [prize("p", 100, kind=PrizeKind.POINTS, value=0)],
        [prize("y", 100, kind=PrizeKind.AIBI, value=0)],
    ],
)
def test_check_prizes_refuses_a_malformed_table(prizes):
    with pytest.raises(InvalidPrizes) as raised:
        check_prizes(prizes)
    assert raised.value.code == "invalid_prizes"
