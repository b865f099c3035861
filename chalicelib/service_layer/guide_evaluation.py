"""The ``evaluate-guides`` run (RULES.md 5.4): group volumes over the window through the
settlement engine's forest, tiers evaluated children first, raises only. Needs numpy, so
only the job imports it (see ``jobs``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..adapters.dynamodb.identity import MemberItem
from ..adapters.dynamodb.points import ActivityItem
from ..bootstrap import Container
from ..domain import guides
from ..domain.calendar import local_date
from ..domain.identity import NUTRITIONIST_ROLE
from ..domain.settlement.tree import build_forest
from .common import retrying
from .guides import SYSTEM, set_tier, window
from .points_jobs import per_shard
from .settlement_run import load_volumes


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
                lambda change=change: set_tier(
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
