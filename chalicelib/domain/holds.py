"""The two-phase reservation every hold uses: mall checkouts (points), shop payments in
aibi, and withdrawals (aibi). A hold is ``pending`` until it is ``posted`` (captured,
paid), ``voided`` (released, rejected) or ``expired`` (timed out); each way a second
resolution can fail has its own error, as in TigerBeetle's two-phase transfers.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from .errors import Conflict


class HoldState(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


class HoldError(Conflict):
    """The hold is no longer pending."""

    code = "hold_not_pending"


class HoldAlreadyPosted(HoldError):
    """The hold was already captured or paid."""

    code = "already_posted"
    default_message = "This was already captured."


class HoldAlreadyVoided(HoldError):
    """The hold was already released or rejected."""

    code = "already_voided"
    default_message = "This was already released."


class HoldExpired(HoldError):
    """The hold timed out and its amount went back."""

    code = "hold_expired"
    default_message = "This hold timed out and was released."


_ERRORS = {HoldState.POSTED: HoldAlreadyPosted, HoldState.VOIDED: HoldAlreadyVoided, HoldState.EXPIRED: HoldExpired}


def resolve(
    current: HoldState, target: HoldState, *, expires_at: datetime | None = None, now: datetime | None = None
) -> HoldState:
    """The state after resolving a hold to ``target``, or the precise reason it cannot be.

    A pending hold past its deadline can only expire: capturing it is ``HoldExpired``.
    """
    if target is HoldState.PENDING:
        raise ValueError("a hold is resolved to posted, voided or expired")
    if current is not HoldState.PENDING:
        raise _ERRORS[current]()
    overdue = expires_at is not None and now is not None and now >= expires_at
    if overdue and target is HoldState.POSTED:
        raise HoldExpired()
    return target
