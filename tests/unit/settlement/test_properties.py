"""Properties the rules promise, checked on random forests and random rules."""

from __future__ import annotations

import copy
from datetime import datetime
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.rules import SettlementRules
from chalicelib.domain.settlement import input_from_json, result_to_json, run_json, settle

from .builders import document, member
from .strategies import TIMES, forests, settlement_rules


def _run(doc, rules=None):
    return run_json(doc, rules or SettlementRules())


def _amount_from_basis(component: str, basis: dict) -> int:
    """Recompute a reward from its basis alone (RULES.md 5.5)."""
    if component == "small_group":
        amount = basis["rate_bp"] * basis["small_groups_volume_fen"] // 10_000
    elif component in ("q1", "q10"):
        assert basis["weight"] == basis["largest_group_volume_fen"] // basis["weight_unit_fen"]
        assert basis["pool_fen"] == basis["pool_bp"] * basis["total_consumption_fen"] // 10_000
        amount = basis["pool_fen"] * basis["weight"] // basis["total_weight"]
    else:
        amount = sum(s["diff_bp"] * s["volume_fen"] for s in basis["slices"]) // 10_000
    if "scale_factor" in basis:
        assert basis["computed_fen"] == amount
        factor = Fraction(basis["scale_factor"])
        amount = amount * factor.numerator // factor.denominator
    return amount


@settings(max_examples=200)
@given(doc=forests(), rules=settlement_rules())
def test_every_basis_reproduces_its_amount_exactly(doc, rules):
    out = _run(doc, rules)
    for reward in out["rewards"]:
        assert reward["amount_fen"] > 0
        assert _amount_from_basis(reward["component"], reward["basis"]) == reward["amount_fen"]


@settings(max_examples=150)
@given(doc=forests(kind="quarterly"), rules=settlement_rules())
def test_pool_shares_never_exceed_the_pool(doc, rules):
    out = _run(doc, rules)
    for name, figures in out["report"]["components"].items():
        assert figures["shares_fen"] + figures["remainder_fen"] == figures["pool_fen"]
        assert 0 <= figures["rewards_fen"] <= figures["shares_fen"] <= figures["pool_fen"]
        paid = sum(r["amount_fen"] for r in out["rewards"] if r["component"] == name)
        assert paid == figures["rewards_fen"]


@settings(max_examples=150)
@given(doc=forests(kind="monthly"), rules=settlement_rules(), data=st.data())
def test_guide_fees_on_one_buyer_never_exceed_the_highest_rate(doc, rules, data):
    buyer = data.draw(st.sampled_from([m["id"] for m in doc["members"]]))
    volume = data.draw(st.integers(0, 10**9))
    doc = {**doc, "volumes_fen": {buyer: volume}, "components": ["guide_fee"], "max_payout_ratio": None}
    paid = _run(doc, rules)["totals"]["rewards_fen"]
    assert paid <= volume * max(rules.guide_rates_bp) // 10_000
    assert _run(doc)["totals"]["rewards_fen"] <= volume // 10  # 10 % with the default rates


@settings(max_examples=150)
@given(doc=forests(), rules=settlement_rules(), data=st.data())
def test_own_consumption_never_counts_for_ones_own_rewards(doc, rules, data):
    doc = {**doc, "max_payout_ratio": None}
    who = data.draw(st.sampled_from([m["id"] for m in doc["members"]]))
    other = copy.deepcopy(doc)
    other["volumes_fen"][who] = data.draw(st.integers(0, 20_000_000))

    def own(d):
        out = _run(d, rules)
        return {(r["component"]): r["basis"] for r in out["rewards"] if r["member"] == who}

    before, after = own(doc), own(other)
    if doc["kind"] == "monthly":
        assert before == after
    else:  # the pool is a share of everybody's consumption T, but the weight is not own consumption
        for component in ("q1", "q10"):
            if component in before and component in after:
                assert before[component]["weight"] == after[component]["weight"]


@settings(max_examples=150)
@given(
    volume=st.integers(1, 2_000_000),
    children=st.lists(
        st.tuples(st.text(alphabet="pqrs", min_size=1, max_size=2), st.sampled_from(TIMES)),
        min_size=2,
        max_size=6,
        unique_by=lambda c: c[0],
    ),
)
def test_ties_for_the_largest_group_go_to_the_earliest_registration_then_the_smallest_id(volume, children):
    members = [member("m")] + [member(cid, "m", stars=0, at=at) for cid, at in children]
    # a 100 % rate makes any small-group volume a reward, so the basis shows the choice
    out = _run(document(members, {cid: volume for cid, _ in children}), SettlementRules(small_group_rate_bp=10_000))
    winner = min(children, key=lambda c: (datetime.fromisoformat(c[1]), c[0]))[0]
    (reward,) = out["rewards"]
    assert reward["basis"]["largest_group_root"] == winner
    assert reward["amount_fen"] == volume * (len(children) - 1)


@settings(max_examples=200)
@given(
    doc=forests(),
    rules=settlement_rules(),
    cap=st.fractions(min_value=0, max_value=Fraction(1, 5), max_denominator=10_000),
)
def test_the_payout_cap_never_raises_a_reward_and_brings_the_ratio_under_it(doc, rules, cap):
    request = input_from_json({**doc, "max_payout_ratio": None})
    free = settle(request.inp, rules, kind=request.kind, period=request.period, components=request.components)
    capped = settle(
        request.inp,
        rules,
        kind=request.kind,
        period=request.period,
        components=request.components,
        max_payout_ratio=cap,
    )
    assert capped.payout_ratio <= cap or capped.scale_factor is None
    assert capped.payout_ratio <= max(cap, free.payout_ratio)
    if capped.consumption_fen and free.computed_rewards_fen > cap * capped.consumption_fen:
        assert capped.scale_factor is not None and capped.payout_ratio <= cap
    else:
        assert capped.scale_factor is None and capped.rewards_fen == free.rewards_fen
    for name, award in capped.awards.items():
        assert (award.amount_fen <= free.awards[name].amount_fen).all()
        assert (award.amount_fen >= 0).all()
    assert result_to_json(capped)["totals"]["rewards_fen"] <= result_to_json(free)["totals"]["rewards_fen"]
