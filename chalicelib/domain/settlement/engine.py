"""The settlement components of RULES.md section 5, computed over a columnar input.

Every component is a handful of whole-array numpy operations on the preorder-numbered
forest (``tree.py``); no member is visited in a Python loop and no tree is walked per
member. Money is integer fen in int64 whenever a bound proves the arithmetic cannot
overflow, and exact Python integers otherwise; no float ever holds money. Every rate and
threshold comes from the ``SettlementRules`` passed in.

- Groups (5.1): the group volume V(C) of a member C is its subtree sum; a member's
  groups are its children's subtrees, the largest one picked with the tie rule.
- small_group (5.2): floor(rate * (sum of a member's groups except the largest)).
- q1 / q10 (5.3): weights floor(L / unit) over a pool floored from the total volume T.
- guide_fee (5.4): the differential walk decomposed by rate level: the slice of a
  buyer's volume between two consecutive rate levels goes to the buyer's nearest strict
  ancestor whose rate reaches the upper level, so each level is a "nearest marked
  ancestor" aggregation (``tree.marked_forest``), never a walk up the tree per buyer.
- Compliance (5.9): only requested and enabled components run; an optional payout
  cap scales every reward by one exact factor.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from fractions import Fraction
from functools import cached_property
from numbers import Rational

import numpy as np

from ..rules import ALL_MONTHLY_COMPONENTS, ALL_QUARTERLY_COMPONENTS, SettlementRules
from .errors import (
    InvalidComponentError,
    InvalidFieldError,
    InvalidKindError,
    InvalidPeriodError,
    InvalidRulesError,
)
from .model import INT64_MAX, ComponentAward, SettlementInput, SettlementResult, exact_sum
from .tree import largest_child, marked_forest

MONTHLY = "monthly"
QUARTERLY = "quarterly"
KIND_COMPONENTS: dict[str, tuple[str, ...]] = {
    MONTHLY: tuple(ALL_MONTHLY_COMPONENTS),
    QUARTERLY: tuple(ALL_QUARTERLY_COMPONENTS),
}
BP_PER_UNIT = 10_000  # basis points in a whole
_PERIOD_FORMATS = {
    MONTHLY: (re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])"), "YYYY-MM"),
    QUARTERLY: (re.compile(r"[0-9]{4}-Q[1-4]"), "YYYY-Qn"),
}


def floor_mul_div(values: np.ndarray, numerator: int, denominator: int) -> np.ndarray:
    """``floor(values * numerator / denominator)`` for non-negative integers, exactly.

    The one rounding function of the engine (RULES.md 5.5: floored to the fen once).
    int64 when the largest product provably fits, exact Python integers otherwise.
    """
    values = np.asarray(values)
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    if values.dtype != object and int(values.max()) * numerator <= INT64_MAX:
        return values.astype(np.int64, copy=False) * numerator // denominator
    return np.array([int(v) * numerator // denominator for v in values.tolist()], dtype=np.int64)


class _Context:
    """Figures shared by several components of one run, each computed once on demand."""

    def __init__(self, inp: SettlementInput, rules: SettlementRules) -> None:
        self.inp = inp
        self.rules = rules

    @cached_property
    def consumption_fen(self) -> int:
        return self.inp.total_volume_fen

    @cached_property
    def group_volume(self) -> np.ndarray:
        """V(C) for every member C: the volume of C's subtree."""
        return self.inp.forest.subtree_sums(self.inp.volumes_fen)

    @cached_property
    def below_volume(self) -> np.ndarray:
        """Volume of each member's strict descendants: what a member's groups hold."""
        return self.group_volume - self.inp.volumes_fen

    @cached_property
    def eligible(self) -> np.ndarray:
        return self.inp.stars >= self.rules.min_stars

    @cached_property
    def largest_group(self) -> np.ndarray:
        """Root of each member's largest group (-1 without groups), with the tie rule."""
        return largest_child(self.inp.forest, self.group_volume, self.inp.registration_rank)

    @cached_property
    def largest_volume(self) -> np.ndarray:
        largest = self.largest_group
        return np.where(largest >= 0, self.group_volume[np.maximum(largest, 0)], 0)


def _award(
    component: str,
    members: np.ndarray,
    computed: np.ndarray,
    columns: dict[str, np.ndarray],
    constants: dict[str, object],
    summary: dict[str, object] | None = None,
) -> ComponentAward:
    keep = computed > 0
    members = members[keep]
    computed = computed[keep]
    return ComponentAward(
        component=component,
        member=members,
        computed_fen=computed,
        amount_fen=computed,
        columns={name: column[keep] for name, column in columns.items()},
        constants=constants,
        summary={"recipients": int(members.size), **(summary or {})},
    )


def small_group_share(ctx: _Context) -> ComponentAward:
    """RULES.md 5.2: rate times the volume of all of a member's groups except the largest."""
    rules = ctx.rules
    largest = ctx.largest_group
    members = np.flatnonzero(ctx.eligible & (largest >= 0))
    roots = largest[members]
    largest_volume = ctx.group_volume[roots]
    small = ctx.below_volume[members] - largest_volume
    computed = floor_mul_div(small, rules.small_group_rate_bp, BP_PER_UNIT)
    groups = ctx.inp.forest.child_counts()[members]
    return _award(
        "small_group",
        members,
        computed,
        {
            "largest_group_root": roots,
            "largest_group_volume_fen": largest_volume,
            "groups": groups,
            "small_groups_volume_fen": small,
        },
        {"rate_bp": rules.small_group_rate_bp},
    )


def pool_share(ctx: _Context, component: str) -> ComponentAward:
    """RULES.md 5.3: a pool of T shared by weight floor(L / unit) among members with L >= threshold."""
    rules = ctx.rules
    if component == "q1":
        threshold, pool_bp = rules.q1_threshold_fen, rules.q1_pool_bp
    else:
        threshold, pool_bp = rules.q10_threshold_fen, rules.q10_pool_bp
    unit = rules.weight_unit_fen
    total = ctx.consumption_fen
    pool = total * pool_bp // BP_PER_UNIT
    members = np.flatnonzero(ctx.eligible & (ctx.largest_volume >= threshold))
    volume = ctx.largest_volume[members]
    weight = volume // unit
    total_weight = exact_sum(weight)
    computed = floor_mul_div(weight, pool, total_weight) if total_weight > 0 else np.zeros(members.size, dtype=np.int64)
    paid = int(computed.sum())
    return _award(
        component,
        members,
        computed,
        {"largest_group_root": ctx.largest_group[members], "largest_group_volume_fen": volume, "weight": weight},
        {
            "total_weight": total_weight,
            "pool_fen": pool,
            "pool_bp": pool_bp,
            "total_consumption_fen": total,
            "weight_unit_fen": unit,
            "threshold_fen": threshold,
        },
        {
            "participants": int(members.size),
            "total_weight": total_weight,
            "pool_fen": pool,
            "pool_bp": pool_bp,
            "threshold_fen": threshold,
            "shares_fen": paid,
            "remainder_fen": pool - paid,
        },
    )


def guide_fee(ctx: _Context) -> ComponentAward:
    """RULES.md 5.4: the differential guidance fee, one nearest-marked-ancestor pass per rate level.

    For rate levels r_1 < r_2 < ... (the distinct positive guide rates) the slice
    (r_{j-1}, r_j] of buyer B's volume is paid to B's nearest strict ancestor whose rate
    is at least r_j: exactly what walking up from B, paying each nutritionist its rate
    minus the highest rate already paid, hands out. A member marked at level j receives
    the volume strictly below it minus what lies strictly below its nearest marked
    descendants (those receive that part themselves).
    """
    rules = ctx.rules
    inp = ctx.inp
    rate_of_tier = np.asarray(rules.guide_rates_bp, dtype=np.int64)
    tier = inp.guide_tier
    nutritionist = ctx.eligible & (tier >= 1)
    rate = np.where(nutritionist, rate_of_tier[np.where(nutritionist, tier, 0)], 0)
    levels = sorted({int(r) for r in rate_of_tier[1:] if r > 0})
    diffs = np.diff(np.array([0, *levels], dtype=np.int64))
    members = np.flatnonzero(rate > 0)
    slices = np.zeros((members.size, len(levels)), dtype=np.int64)
    if members.size:
        row_of = np.full(inp.n, -1, dtype=np.int64)
        row_of[members] = np.arange(members.size, dtype=np.int64)
        below = ctx.below_volume
        marked_count = -1
        for j, level in enumerate(levels):
            marked = rate >= level
            count = int(np.count_nonzero(marked))
            if count == marked_count:  # the levels nest: same count, same members
                slices[:, j] = slices[:, j - 1]
                continue
            marked_count = count
            nodes, up = marked_forest(inp.forest, marked)
            received = below[nodes].copy()
            nested = up >= 0
            np.subtract.at(received, up[nested], below[nodes[nested]])
            slices[row_of[nodes], j] = received
    if levels and ctx.consumption_fen * levels[-1] <= INT64_MAX:
        numerator = slices @ diffs
    else:
        numerator = np.array(
            [sum(int(v) * int(d) for v, d in zip(row, diffs, strict=True)) for row in slices.tolist()], dtype=object
        )
    computed = floor_mul_div(numerator, 1, BP_PER_UNIT)
    return _award(
        "guide_fee",
        members,
        computed,
        {"guide_tier": tier[members], "rate_bp": rate[members], "slice_volume_fen": slices},
        {"slice_rate_bp": levels, "slice_diff_bp": diffs.tolist()},
    )


_COMPONENTS: dict[str, Callable[[_Context], ComponentAward]] = {
    "small_group": small_group_share,
    "q1": lambda ctx: pool_share(ctx, "q1"),
    "q10": lambda ctx: pool_share(ctx, "q10"),
    "guide_fee": guide_fee,
}


def check_rules(rules: SettlementRules) -> None:
    """Refuse a configuration the engine cannot apply (rather than paying nonsense)."""
    if rules.weight_unit_fen <= 0:
        raise InvalidRulesError("weight_unit_fen must be positive")
    if not rules.guide_rates_bp:
        raise InvalidRulesError("guide_rates_bp must list a rate for tier 0 at least")
    named = {
        "small_group_rate_bp": rules.small_group_rate_bp,
        "q1_pool_bp": rules.q1_pool_bp,
        "q10_pool_bp": rules.q10_pool_bp,
        "q1_threshold_fen": rules.q1_threshold_fen,
        "q10_threshold_fen": rules.q10_threshold_fen,
        "store_duty_threshold_fen": rules.store_duty_threshold_fen,
        **{f"guide_rates_bp[{t}]": r for t, r in enumerate(rules.guide_rates_bp)},
    }
    for name, value in named.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidRulesError(f"{name} must be a non-negative integer, not {value!r}")


def check_kind_and_period(kind: object, period: object) -> None:
    if not isinstance(kind, str) or kind not in KIND_COMPONENTS:
        raise InvalidKindError(f"kind must be 'monthly' or 'quarterly', not {kind!r}")
    pattern, shape = _PERIOD_FORMATS[kind]  # type: ignore[index]
    if not isinstance(period, str) or not pattern.fullmatch(period):
        raise InvalidPeriodError(f"a {kind} period looks like {shape}, not {period!r}")


def requested_components(kind: str, components: Iterable[str] | None) -> tuple[str, ...]:
    """The components asked for, in the kind's canonical order (all of the kind by default)."""
    allowed = KIND_COMPONENTS[kind]
    if components is None:
        return allowed
    if isinstance(components, str):
        raise InvalidComponentError("components must be a list of component names")
    wanted = set()
    for name in components:
        if not isinstance(name, str):
            raise InvalidComponentError(f"component names are strings, not {name!r}")
        if name not in allowed:
            known = {c for cs in KIND_COMPONENTS.values() for c in cs}
            why = "unknown" if name not in known else f"not part of a {kind} settlement"
            raise InvalidComponentError(f"component {name!r} is {why}; a {kind} settlement has {', '.join(allowed)}")
        wanted.add(name)
    return tuple(c for c in allowed if c in wanted)


def _as_ratio(value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, Rational | float):
        raise InvalidFieldError(f"max_payout_ratio must be a number or null, not {value!r}")
    ratio = Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    if ratio < 0:
        raise InvalidFieldError(f"max_payout_ratio must not be negative, not {value!r}")
    return ratio


def settle(
    inp: SettlementInput,
    rules: SettlementRules,
    kind: str,
    period: str,
    components: Iterable[str] | None = None,
    max_payout_ratio: Fraction | None = None,
) -> SettlementResult:
    """Settle one period: the rewards of the requested, enabled components of ``kind``.

    ``components`` defaults to every component of the kind; a component switched off in
    ``rules.components`` is skipped and left out of ``components_used``.
    ``max_payout_ratio`` defaults to ``rules.max_payout_ratio`` (None: no cap).
    Raises a ``SettlementInputError`` for bad input and ``InvalidRulesError`` for a bad
    configuration.
    """
    check_kind_and_period(kind, period)
    check_rules(rules)
    requested = requested_components(kind, components)
    used = tuple(c for c in requested if c in rules.components)
    cap_value = max_payout_ratio if max_payout_ratio is not None else rules.max_payout_ratio
    cap = None if cap_value is None else _as_ratio(cap_value)
    highest_tier = len(rules.guide_rates_bp) - 1
    if inp.n and int(inp.guide_tier.max()) > highest_tier:
        i = int(np.argmax(inp.guide_tier))
        raise InvalidFieldError(
            f"member {inp.ids[i]!r} has guide_tier {int(inp.guide_tier[i])}; "
            f"the highest configured tier is {highest_tier}"
        )
    inp.forest  # noqa: B018 - detect a referral cycle before any component runs

    ctx = _Context(inp, rules)
    awards = {name: _COMPONENTS[name](ctx) for name in used}
    consumption = ctx.consumption_fen
    computed = sum(a.computed_total_fen for a in awards.values())
    scale_factor = None
    if cap is not None and consumption > 0 and computed > cap * consumption:
        scale_factor = cap * consumption / computed
        awards = {
            name: replace(a, amount_fen=floor_mul_div(a.computed_fen, scale_factor.numerator, scale_factor.denominator))
            for name, a in awards.items()
        }
    paid = sum(a.total_fen for a in awards.values())
    result = SettlementResult(
        inp=inp,
        kind=kind,
        period=period,
        components_requested=requested,
        components_used=used,
        awards=awards,
        consumption_fen=consumption,
        computed_rewards_fen=computed,
        rewards_fen=paid,
        remainder_fen=sum(a.remainder_fen for a in awards.values()),
        payout_ratio=Fraction(paid, consumption) if consumption else Fraction(0),
        max_payout_ratio=cap,
        scale_factor=scale_factor,
        store_required=np.zeros(0, dtype=np.int64),
    )
    totals = result.member_totals_fen()
    return replace(result, store_required=np.flatnonzero(totals > rules.store_duty_threshold_fen))
