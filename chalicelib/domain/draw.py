"""The lucky draw (幸运抽奖): which prize a roll wins.

A roll is a uniform integer in ``[0, 10000)`` drawn from the OS CSPRNG by the caller
(``secrets.randbelow``); prize probabilities are basis points of 10000 and whatever
they leave is "no prize". A prize that is out of stock wins nothing, so stock can
never be exceeded and the odds of the other prizes never change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from .errors import RuleViolation

ROLL_SPACE = 10_000


class PrizeKind(StrEnum):
    GOODS = "goods"  # physical goods, fulfilled by ops
    POINTS = "points"  # value = points credited
    AIBI = "aibi"  # value = fen credited to the wallet
    TICKET = "ticket"  # an event ticket: a redemption code is issued
    TOPUP = "topup"  # a phone top-up card: a redemption code is issued


class InvalidPrizes(RuleViolation):
    """The prize table's probabilities exceed 100 % or a prize is malformed."""

    code = "invalid_prizes"


@dataclass(frozen=True)
class Prize:
    prize_id: str
    kind: PrizeKind
    value: int
    probability_bp: int
    stock: int


def check_prizes(prizes: Sequence[Prize]) -> None:
    if sum(prize.probability_bp for prize in prizes) > ROLL_SPACE:
        raise InvalidPrizes("The probabilities add up to more than 100 %.")
    if len({prize.prize_id for prize in prizes}) != len(prizes):
        raise InvalidPrizes("Prize ids must be unique.")
    for prize in prizes:
        if prize.probability_bp < 0 or prize.stock < 0 or prize.value < 0:
            raise InvalidPrizes("Probabilities, stock and values cannot be negative.")
        if prize.kind in (PrizeKind.POINTS, PrizeKind.AIBI) and prize.value <= 0:
            raise InvalidPrizes("A points or aibi prize needs a positive value.")


def pick(prizes: Sequence[Prize], roll: int) -> Prize | None:
    """The prize whose probability band contains ``roll``; ``None`` for no prize."""
    if not 0 <= roll < ROLL_SPACE:
        raise ValueError("roll must be in [0, 10000)")
    upper = 0
    for prize in prizes:
        upper += prize.probability_bp
        if roll < upper:
            return prize if prize.stock > 0 else None
    return None
