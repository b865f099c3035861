"""A deliberately naive settlement, written straight from RULES.md 5.1-5.6 and 5.9.

It shares no code with the engine: groups are enumerated member by member, every
buyer's volume is walked up the tree for the guidance fee, and all arithmetic is exact
``Fraction``. Only usable on small inputs; the tests compare the engine with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from chalicelib.domain.rules import SettlementRules

MONTHLY_COMPONENTS = ("small_group", "guide_fee")
QUARTERLY_COMPONENTS = ("q1", "q10")


@dataclass
class ReferenceResult:
    rewards: dict[tuple[str, str], int]  # (member, component) -> paid fen, zeros left out
    computed: dict[tuple[str, str], int]  # before any payout cap
    largest_group: dict[str, str]  # member -> root of its largest group
    consumption_fen: int
    rewards_fen: int
    remainder_fen: int
    payout_ratio: Fraction
    scale_factor: Fraction | None
    store_required: list[str]
    pools: dict[str, int] = field(default_factory=dict)


def reference_settle(document: dict, rules: SettlementRules | None = None) -> ReferenceResult:
    rules = rules or SettlementRules()
    members = {m["id"]: m for m in document["members"]}
    volume = {mid: document["volumes_fen"].get(mid, 0) for mid in members}
    children: dict[str, list[str]] = {mid: [] for mid in members}
    for m in members.values():
        if m["referrer"] is not None:
            children[m["referrer"]].append(m["id"])

    def eligible(mid: str) -> bool:
        return members[mid]["stars"] >= rules.min_stars

    def group_volume(root: str) -> int:
        total, stack = 0, [root]
        while stack:
            x = stack.pop()
            total += volume[x]
            stack.extend(children[x])
        return total

    def registered(mid: str) -> tuple[datetime, str]:
        return datetime.fromisoformat(members[mid]["registered_at"]), mid

    largest: dict[str, str] = {}
    for mid, kids in children.items():
        if kids:
            largest[mid] = min(kids, key=lambda c: (-group_volume(c), *registered(c)))

    kind = document["kind"]
    all_components = MONTHLY_COMPONENTS if kind == "monthly" else QUARTERLY_COMPONENTS
    requested = document.get("components")
    requested = all_components if requested is None else requested
    used = [c for c in all_components if c in requested and c in rules.components]
    total = sum(volume.values())
    computed: dict[tuple[str, str], int] = {}
    pools: dict[str, int] = {}
    remainder = 0

    if "small_group" in used:
        for mid, kids in children.items():
            if kids and eligible(mid):
                small = sum(group_volume(c) for c in kids if c != largest[mid])
                computed[mid, "small_group"] = math.floor(Fraction(rules.small_group_rate_bp, 10_000) * small)

    for component, threshold, pool_bp in (
        ("q1", rules.q1_threshold_fen, rules.q1_pool_bp),
        ("q10", rules.q10_threshold_fen, rules.q10_pool_bp),
    ):
        if component not in used:
            continue
        pool = math.floor(Fraction(pool_bp, 10_000) * total)
        weights = {}
        for mid in members:
            big = group_volume(largest[mid]) if mid in largest else 0
            if eligible(mid) and big >= threshold:
                weights[mid] = big // rules.weight_unit_fen
        total_weight = sum(weights.values())
        paid = 0
        for mid, w in weights.items():
            share = math.floor(Fraction(pool * w, total_weight)) if total_weight else 0
            computed[mid, component] = share
            paid += share
        pools[component] = pool
        remainder += pool - paid

    if "guide_fee" in used:
        earned: dict[str, Fraction] = {}
        for buyer in members:
            paid_rate = 0
            x = members[buyer]["referrer"]
            while x is not None:
                tier = members[x]["guide_tier"]
                rate = rules.guide_rates_bp[tier] if eligible(x) and tier >= 1 else 0
                if rate > paid_rate:
                    slice_fen = Fraction((rate - paid_rate) * volume[buyer], 10_000)
                    earned[x] = earned.get(x, Fraction(0)) + slice_fen
                    paid_rate = rate
                x = members[x]["referrer"]
        for mid, amount in earned.items():
            computed[mid, "guide_fee"] = math.floor(amount)

    computed = {key: amount for key, amount in computed.items() if amount > 0}
    computed_total = sum(computed.values())
    cap = document.get("max_payout_ratio")
    cap = None if cap is None else Fraction(str(cap))
    factor = None
    if cap is not None and total > 0 and Fraction(computed_total, total) > cap:
        factor = cap * total / computed_total
    paid_rewards = {
        key: math.floor(amount * factor) if factor is not None else amount for key, amount in computed.items()
    }
    paid_rewards = {key: amount for key, amount in paid_rewards.items() if amount > 0}
    rewards_total = sum(paid_rewards.values())
    per_member: dict[str, int] = {}
    for (mid, _), amount in paid_rewards.items():
        per_member[mid] = per_member.get(mid, 0) + amount
    return ReferenceResult(
        rewards=paid_rewards,
        computed=computed,
        largest_group=largest,
        consumption_fen=total,
        rewards_fen=rewards_total,
        remainder_fen=remainder,
        payout_ratio=Fraction(rewards_total, total) if total else Fraction(0),
        scale_factor=factor,
        store_required=sorted(m for m, a in per_member.items() if a > rules.store_duty_threshold_fen),
        pools=pools,
    )
