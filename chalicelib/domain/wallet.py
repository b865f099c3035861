"""Aibi wallet arithmetic (RULES.md 3.4 exchange, 4 wallet): integer fen only.

The wallet has a spendable ``balance_fen`` and a ``held_fen`` (open withdrawals and shop
payments). Every function returns a new state or raises; none can make either negative.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from .errors import RuleViolation
from .rules import WalletRules


class InsufficientBalance(RuleViolation):
    """The wallet holds less aibi than asked for."""

    code = "insufficient_balance"
    default_message = "Not enough aibi in the wallet."


class BelowMinimum(RuleViolation):
    """A withdrawal below the minimum amount."""

    code = "below_minimum"
    default_message = "A withdrawal must be at least 100 aibi."


class NotMultipleOf100(RuleViolation):
    """Points are exchanged in multiples of 100."""

    code = "not_multiple_of_100"
    default_message = "Exchange points in multiples of 100."


@dataclass(frozen=True)
class WalletState:
    balance_fen: int = 0
    held_fen: int = 0

    def __post_init__(self) -> None:
        if self.balance_fen < 0 or self.held_fen < 0:
            raise ValueError("a wallet never goes below zero")


def credit(state: WalletState, amount_fen: int) -> WalletState:
    if amount_fen <= 0:
        raise ValueError("credit takes a positive amount")
    return replace(state, balance_fen=state.balance_fen + amount_fen)


def debit(state: WalletState, amount_fen: int) -> WalletState:
    if amount_fen <= 0:
        raise ValueError("debit takes a positive amount")
    if amount_fen > state.balance_fen:
        raise InsufficientBalance(available=state.balance_fen)
    return replace(state, balance_fen=state.balance_fen - amount_fen)


def hold(state: WalletState, amount_fen: int) -> WalletState:
    """The amount leaves the balance at request (RULES.md 4) and waits in ``held``."""
    return replace(debit(state, amount_fen), held_fen=state.held_fen + amount_fen)


def post(state: WalletState, amount_fen: int) -> WalletState:
    """A held amount leaves the wallet for good (withdrawal paid, payment captured)."""
    if not 0 < amount_fen <= state.held_fen:
        raise ValueError("post takes a positive amount not above what is held")
    return replace(state, held_fen=state.held_fen - amount_fen)


def void(state: WalletState, amount_fen: int) -> WalletState:
    """A held amount returns to the balance (withdrawal rejected, payment voided)."""
    if not 0 < amount_fen <= state.held_fen:
        raise ValueError("void takes a positive amount not above what is held")
    return WalletState(balance_fen=state.balance_fen + amount_fen, held_fen=state.held_fen - amount_fen)


@dataclass(frozen=True)
class WithdrawalQuote:
    amount_fen: int
    fee_fen: int
    payout_fen: int


def quote_withdrawal(amount_fen: int, rules: WalletRules) -> WithdrawalQuote:
    """Fee ``ceil(A * fee_bp / 10000)`` (10 %: ``ceil(A / 10)``), payout ``A - fee``."""
    if amount_fen < rules.min_withdrawal_fen:
        raise BelowMinimum(minimum_fen=rules.min_withdrawal_fen)
    fee = -(-amount_fen * rules.withdrawal_fee_bp // 10_000)
    return WithdrawalQuote(amount_fen, fee, amount_fen - fee)


def exchange_value_fen(points: int, rules: WalletRules) -> int:
    """100 points = 1 aibi = 100 fen, in whole multiples of 100 points only."""
    if points <= 0 or points % rules.points_per_exchange_unit:
        raise NotMultipleOf100()
    return points // rules.points_per_exchange_unit * rules.fen_per_exchange_unit


def exchange_worth_fen(available_points: int, rules: WalletRules) -> int:
    """What the available points would bring in aibi if exchanged now: whole exchange
    units only, nothing for a points debt (RULES.md 7.3, "the value of points")."""
    if available_points <= 0:
        return 0
    return available_points // rules.points_per_exchange_unit * rules.fen_per_exchange_unit


class WalletEntryKind(StrEnum):
    EXCHANGE = "exchange"  # credit: points exchanged into aibi
    REWARD = "reward"  # credit: a released settlement
    PRIZE = "prize"  # credit: an aibi prize of the lucky draw
    REFUND = "refund"  # credit: refund of an order paid in aibi
    ADJUST = "adjust"  # staff correction, either way
    WITHDRAWAL_HOLD = "withdrawal_hold"  # balance -> held
    WITHDRAWAL_PAID = "withdrawal_paid"  # held -> paid out
    WITHDRAWAL_RETURNED = "withdrawal_returned"  # held -> balance (rejected)
    PAYMENT_HOLD = "payment_hold"  # balance -> held (shop order)
    PAYMENT_CAPTURED = "payment_captured"  # held -> spent at the shop
    PAYMENT_VOIDED = "payment_voided"  # held -> balance


CREDIT_KINDS = frozenset(
    {WalletEntryKind.EXCHANGE, WalletEntryKind.REWARD, WalletEntryKind.PRIZE, WalletEntryKind.REFUND}
)
OUTFLOW_KINDS = frozenset({WalletEntryKind.WITHDRAWAL_PAID, WalletEntryKind.PAYMENT_CAPTURED})
