"""The earning rules of RULES.md 3.1 as arithmetic: what a purchase, a refund or a capped
activity is worth. Which rule fires once, or how often a day, is enforced by the ledger
writer with conditional writes; the amounts come from here.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from enum import StrEnum

from .rules import EarningRules

FEN_PER_YUAN = 100


class Rule(StrEnum):
    REGISTER = "register"
    PROFILE_COMPLETE = "profile_complete"
    DAILY_LOGIN = "daily_login"
    PURCHASE = "purchase"
    CHALLENGE_WIN = "challenge_win"
    EVENT_CHECK_IN = "event_check_in"
    SURVEY = "survey"
    CONTENT = "content"
    RED_PACKET = "red_packet"
    REFERRAL_SIGN_UP = "referral_sign_up"
    REFERRAL_FIRST_PURCHASE = "referral_first_purchase"
    NUTRITIONIST_CERTIFIED = "nutritionist_certified"
    NUTRITIONIST_CONTRIBUTION = "nutritionist_contribution"


def birthday_multiplier(day: date, birth_months: Collection[int], rules: EarningRules) -> int:
    """2x in the birth month of the member or of any of their babies."""
    return rules.birthday_month_multiplier if day.month in birth_months else 1


def purchase_points(paid_fen: int, multiplier: int, rules: EarningRules) -> int:
    """1 point per whole yuan paid (cash + aibi), times the birthday multiplier."""
    return (paid_fen // FEN_PER_YUAN) * rules.purchase_points_per_yuan * multiplier


def referral_first_purchase_points(gross_fen: int, rules: EarningRules) -> int:
    """2 points per whole yuan of the referred member's first order, before discounts."""
    return (gross_fen // FEN_PER_YUAN) * rules.referral_first_purchase_points_per_yuan


def referral_points_after_refund(gross_fen: int, paid_fen: int, refunded_fen: int, rules: EarningRules) -> int:
    """Decision: a refund shrinks the referral's gross basis in proportion to what is
    refunded of the paid amount, so that a full refund leaves nothing."""
    if paid_fen <= 0:
        return 0
    remaining_gross = gross_fen * (paid_fen - refunded_fen) // paid_fen
    return referral_first_purchase_points(remaining_gross, rules)


def capped(used: int, wanted: int, cap: int) -> int:
    """What is left under a daily cap: ``wanted`` or less, never below zero."""
    return max(0, min(wanted, cap - used))
