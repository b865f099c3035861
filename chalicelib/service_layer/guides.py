"""Guide tiers: the evaluation windows (``evaluate-guides``, 1 May, 1 Sep, 1 Jan; the run
itself is ``guide_evaluation``) and ops' guide decisions: recording a lecture assessment,
lowering a tier with a reason (RULES.md 5.4).
"""

from __future__ import annotations

from datetime import date

from ..adapters.dynamodb.identity import MemberItem
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain import guides
from ..domain.calendar import Month
from ..domain.errors import InvalidState, RuleViolation
from ..domain.identity import NUTRITIONIST_ROLE
from .common import audit
from .members import require_member
from .settlement import PeriodNotEnded

WINDOW_END_MONTHS = (4, 8, 12)
SYSTEM = Principal("evaluate-guides", "staff", frozenset())


class InvalidWindow(RuleViolation):
    """Evaluation windows end in April, August or December."""

    code = "invalid_job_request"


def last_window_end(today: date) -> Month:
    month = Month.of(today).shift(-1)
    while month.month not in WINDOW_END_MONTHS:
        month = month.shift(-1)
    return month


def window(period: str | None, today: date, months: int) -> list[Month]:
    end = Month.parse(period) if period else last_window_end(today)
    if end.month not in WINDOW_END_MONTHS:
        raise InvalidWindow(f"An evaluation window ends in April, August or December, not {end}.")
    if end >= Month.of(today):
        raise PeriodNotEnded(f"The window ending {end} has not ended yet.")
    return [end.shift(-offset) for offset in range(months - 1, -1, -1)]


def set_tier(c: Container, actor: Principal, member_id: str, before: int, after: int, reason: str) -> None:
    member = require_member(member_id)
    uow = c.uow()
    uow.update(
        member,
        [MemberItem.guide_tier.set(after)],
        condition=MemberItem.guide_tier == before,
        on_fail=InvalidState("The tier changed meanwhile."),
    )
    audit(uow, c, actor, "guide.tier", "member", member_id, reason, {"guide_tier": before}, {"guide_tier": after})
    uow.commit()


def lower_tier(c: Container, actor: Principal, member_id: str, tier: int, reason: str) -> int:
    """Only ops lower a tier (e.g. a revoked certificate), with a reason (RULES.md 5.4)."""
    member = require_member(member_id)
    current = int(member.guide_tier or 0)
    if tier >= current:
        raise InvalidState(f"The tier is {current}; ops can only lower it (evaluation raises it).")
    set_tier(c, actor, member_id, current, tier, reason)
    return tier


def record_assessment(c: Container, actor: Principal, member_id: str, result: str, reason: str) -> str:
    member = require_member(member_id)
    if NUTRITIONIST_ROLE not in (member.roles or ()):
        raise InvalidState("Only certified nutritionists are assessed.")
    assessment = guides.Assessment(result)
    uow = c.uow()
    uow.update(member, [MemberItem.assessment.set(assessment.value)], versioned=True)
    audit(
        uow,
        c,
        actor,
        "guide.assessment",
        "member",
        member_id,
        reason,
        {"assessment": member.assessment},
        {"assessment": assessment.value},
    )
    uow.commit()
    return assessment.value
