"""Domain events: facts one use case announces so that another area can react in the
same transaction (see ``adapters.dynamodb.uow``). Identity emits them; the points
ledger awards the matching earning rules (RULES.md 3.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MemberRegistered:
    """A member proved their number and their account became active for the first time."""

    member_id: str
    at: datetime


@dataclass(frozen=True)
class SessionStarted:
    """A member signed in (a login, or the registration itself): the daily-login rule."""

    member_id: str
    at: datetime
    can_earn: bool = True


@dataclass(frozen=True)
class ProfileCompleted:
    """The member's profile became complete for the first time."""

    member_id: str
    at: datetime
    can_earn: bool = True


@dataclass(frozen=True)
class ReferralEffective:
    """A member is both active and bound to ``referrer_id``: the referral sign-up rule."""

    referrer_id: str
    member_id: str
    at: datetime


@dataclass(frozen=True)
class NutritionistCertified:
    """Ops approved a member's nutritionist certificate."""

    member_id: str
    at: datetime
