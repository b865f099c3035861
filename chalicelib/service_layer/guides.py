"""Guide evaluation (``evaluate-guides``, 1 May, 1 Sep, 1 Jan) and ops' guide decisions:
recording a lecture assessment, lowering a tier with a reason (RULES.md 5.4).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from ..adapters.dynamodb.identity import MemberItem
from ..adapters.dynamodb.points import ActivityItem
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain import guides
from ..domain.calendar import Month, local_date
from ..domain.errors import InvalidState, RuleViolation
from ..domain.identity import NUTRITIONIST_ROLE
from ..domain.settlement.tree import build_forest
from .common import audit, retrying
from .members import require_member
from .points_jobs import per_shard
from .settlement import PeriodNotEnded, load_volumes

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


def _facts(member: MemberItem, group_volume_fen: int) -> guides.GuideFacts:
    lectures = sum(1 for _ in ActivityItem.query(member.pk, ActivityItem.sk.startswith("LECTURE#")))
    guided = {item.ref for item in ActivityItem.query(member.pk, ActivityItem.sk.startswith("GUIDANCE#"))}
    return guides.GuideFacts(
        certified=NUTRITIONIST_ROLE in (member.roles or ()),
        assessment=guides.Assessment(member.assessment) if member.assessment else None,
        lectures=lectures,
        guided_members=len(guided),
        group_volume_fen=group_volume_fen,
        current_tier=int(member.guide_tier or 0),
    )


def evaluate_guides(c: Container, period: str | None, dry_run: bool) -> dict[str, Any]:
    rules = c.rules.settlement
    months = window(period, local_date(c.now()), rules.evaluation_window_months)
    profiles = sorted(
        per_shard(lambda shard: MemberItem.population.query(f"MEMBERS#{shard}", MemberItem.gsi2sk.startswith("P#"))),
        key=lambda m: (m.registered_at, m.member_id),
    )
    index = {m.member_id: i for i, m in enumerate(profiles)}
    parent = np.array(
        [index.get(m.referrer_id, -1) if m.referrer_id and m.status != "pending" else -1 for m in profiles],
        dtype=np.int64,
    )
    volumes = load_volumes([str(month) for month in months], index)
    forest = build_forest(parent)
    group_volume = forest.subtree_sums(volumes) - volumes
    candidates = [
        i for i, m in enumerate(profiles) if NUTRITIONIST_ROLE in (m.roles or ()) and m.status in ("active", "frozen")
    ]
    position = {member: k for k, member in enumerate(candidates)}
    facts = [_facts(profiles[i], int(group_volume[i])) for i in candidates]
    children: list[list[int]] = [[] for _ in candidates]
    for k, i in enumerate(candidates):
        up = int(parent[i])
        if up >= 0 and up in position:
            children[position[up]].append(k)
    order = sorted(range(len(candidates)), key=lambda k: -int(forest.tin[candidates[k]]))
    tiers = guides.evaluate(facts, children, order, rules)
    raises = [
        {"member_id": profiles[i].member_id, "from": facts[k].current_tier, "to": tiers[k]}
        for k, i in enumerate(candidates)
        if tiers[k] > facts[k].current_tier
    ]
    if not dry_run:
        for change in raises:
            retrying(
                lambda change=change: _set_tier(
                    c,
                    SYSTEM,
                    change["member_id"],
                    change["from"],
                    change["to"],
                    f"evaluation of {months[0]}..{months[-1]}",
                )
            )
    return {
        "window": [str(months[0]), str(months[-1])],
        "dry_run": dry_run,
        "nutritionists": len(candidates),
        "raised": len(raises),
        "changes": raises[:200],
    }


def _set_tier(c: Container, actor: Principal, member_id: str, before: int, after: int, reason: str) -> None:
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
    _set_tier(c, actor, member_id, current, tier, reason)
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
