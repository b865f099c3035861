"""The engine against the naive reference implementation on random small forests."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings

from chalicelib.domain.settlement import input_from_json, result_to_json, run_json, settle
from chalicelib.domain.settlement.tree import largest_child

from .builders import document, member, rewards_by_key
from .reference import reference_settle
from .strategies import forests, settlement_rules


def _engine(doc, rules):
    request = input_from_json(doc)
    result = settle(
        request.inp,
        rules,
        kind=request.kind,
        period=request.period,
        components=request.components,
        max_payout_ratio=request.max_payout_ratio,
    )
    return result, result_to_json(result)


@settings(max_examples=300)
@given(doc=forests(), rules=settlement_rules())
def test_engine_matches_the_reference_on_random_forests(doc, rules):
    expected = reference_settle(doc, rules)
    result, out = _engine(doc, rules)
    assert rewards_by_key(out) == expected.rewards
    computed = {
        (result.inp.ids[m], name): a
        for name, award in result.awards.items()
        for m, a in zip(award.member.tolist(), award.computed_fen.tolist(), strict=True)
    }
    assert computed == expected.computed
    assert out["totals"]["consumption_fen"] == expected.consumption_fen
    assert out["totals"]["rewards_fen"] == expected.rewards_fen
    assert out["totals"]["remainder_fen"] == expected.remainder_fen
    assert Fraction(out["report"]["payout_ratio_exact"]) == expected.payout_ratio
    assert result.scale_factor == expected.scale_factor
    assert out["store_required"] == expected.store_required
    for component, pool in expected.pools.items():
        assert out["report"]["components"][component]["pool_fen"] == pool


@settings(max_examples=150)
@given(doc=forests(kind="monthly"))
def test_every_largest_group_matches_the_reference_tie_rule(doc):
    expected = reference_settle(doc)
    inp = input_from_json(doc).inp
    group_volume = inp.forest.subtree_sums(inp.volumes_fen)
    largest = largest_child(inp.forest, group_volume, inp.registration_rank)
    found = {inp.ids[m]: inp.ids[c] for m, c in enumerate(largest.tolist()) if c >= 0}
    assert found == expected.largest_group


@pytest.mark.parametrize("kind", ["monthly", "quarterly"])
def test_volumes_too_large_for_int64_products_stay_exact(kind):
    # T = 2**62 + 3: rate * T and pool * weight overflow int64, so the engine must switch to
    # Python integers and still agree with the Fraction reference to the fen.
    members = [
        member("top", tier=5),
        member("n", "top", tier=3),
        member("a", "n", stars=0),
        member("b", "n", stars=0),
        member("c", "top", stars=0),
    ]
    volumes = {"a": 2**61 + 1, "b": 2**60 + 1, "c": 2**60 + 1}
    doc = document(members, volumes, kind=kind, max_payout_ratio=0.001)
    expected = reference_settle(doc)
    out = run_json(doc)
    assert rewards_by_key(out) == expected.rewards
    assert out["totals"]["rewards_fen"] == expected.rewards_fen
    assert max(expected.computed.values()) > 2**53  # beyond what a float could hold exactly
