"""The vectorised forest algorithms against naive walks, and the depth worst case."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.rules import SettlementRules
from chalicelib.domain.settlement import ReferralCycleError, SettlementInput, settle
from chalicelib.domain.settlement.tree import CycleInForestError, build_forest, marked_forest
from chalicelib.simulation.populations import deep_chain


@st.composite
def parent_arrays(draw, max_members=40):
    n = draw(st.integers(1, max_members))
    parent = [-1] + [draw(st.one_of(st.just(-1), st.integers(0, i - 1))) for i in range(1, n)]
    perm = draw(st.permutations(range(n)))  # new label of old member i is perm[i]
    relabelled = [-1] * n
    for i, p in enumerate(parent):
        relabelled[perm[i]] = -1 if p < 0 else perm[p]
    return np.array(relabelled, dtype=np.int64)


def _ancestors(parent, v):
    v = parent[v]
    while v >= 0:
        yield int(v)
        v = parent[v]


@settings(max_examples=200)
@given(parent=parent_arrays())
def test_every_subtree_is_one_contiguous_preorder_range(parent):
    forest = build_forest(parent)
    n = parent.size
    assert sorted(forest.order.tolist()) == list(range(n))
    assert (forest.order[forest.tin] == np.arange(n)).all()
    for v in range(n):
        inside = {int(u) for u in forest.order[forest.tin[v] : forest.tin[v] + forest.size[v]]}
        assert inside == {v} | {u for u in range(n) if v in _ancestors(parent, u)}
        kids = forest.children[forest.child_start[v] : forest.child_start[v + 1]]
        assert sorted(kids.tolist()) == [u for u in range(n) if parent[u] == v]


@settings(max_examples=200)
@given(parent=parent_arrays(), data=st.data())
def test_marked_forest_finds_each_nearest_strict_marked_ancestor(parent, data):
    marked = np.array(data.draw(st.lists(st.booleans(), min_size=parent.size, max_size=parent.size)))
    forest = build_forest(parent)
    nodes, up = marked_forest(forest, marked)
    assert sorted(nodes.tolist()) == np.flatnonzero(marked).tolist()
    for node, above in zip(nodes.tolist(), up.tolist(), strict=True):
        expected = next((a for a in _ancestors(parent, node) if marked[a]), -1)
        assert (nodes[above] if above >= 0 else -1) == expected


@pytest.mark.parametrize(
    ("parent", "cycle"),
    [([1, 2, 0, -1], {0, 1, 2}), ([-1, 2, 3, 1, 3], {1, 2, 3}), ([0], {0}), ([1, 0], {0, 1})],
)
def test_a_cycle_is_reported_with_its_members(parent, cycle):
    with pytest.raises(CycleInForestError) as caught:
        build_forest(np.array(parent))
    assert set(caught.value.nodes) == cycle


def test_a_cycle_in_the_input_names_the_member_ids():
    inp = SettlementInput.from_arrays(
        parent=[-1, 2, 1], stars=[1, 1, 1], guide_tier=[0, 0, 0], volumes_fen=[0, 0, 0], member_ids=["root", "x", "y"]
    )
    with pytest.raises(ReferralCycleError, match=r"'x', 'y'|'y', 'x'"):
        settle(inp, SettlementRules(), kind="monthly", period="2026-10")


def _paid(award):
    return dict(zip(award.member.tolist(), award.amount_fen.tolist(), strict=True))


def test_a_referral_chain_200000_deep_settles_exactly():
    n = 200_000
    tree = deep_chain(n, np.random.default_rng(0))
    assert (tree.parent == np.arange(-1, n - 1)).all()  # exactly the chain
    stars = np.zeros(n, dtype=np.int64)
    tiers = np.zeros(n, dtype=np.int64)
    stars[[0, 100_000]] = 1
    tiers[0], tiers[100_000] = 5, 2
    volumes = np.full(n, 100, dtype=np.int64)
    inp = SettlementInput.from_arrays(parent=tree.parent, stars=stars, guide_tier=tiers, volumes_fen=volumes)
    monthly = settle(inp, SettlementRules(), kind="monthly", period="2026-10")
    # one child each: no small groups. Member 100,000 (400 bp) on the 99,999 members below:
    #   9,999,900 * 400 / 10,000 = 399,996. Member 0 (1000 bp): all of members 1..100,000
    #   (10,000,000 fen) and 1000 - 400 = 600 bp of the 9,999,900 below 100,000:
    #   1,000,000 + 599,994 = 1,599,994.
    assert monthly.awards["small_group"].member.size == 0
    assert _paid(monthly.awards["guide_fee"]) == {0: 1_599_994, 100_000: 399_996}

    quarterly = settle(inp, SettlementRules(), kind="quarterly", period="2026-Q4")
    # L(0) = 199,999 * 100 = 19,999,900 (weight 19); L(100,000) = 9,999,900 (weight 9)
    # T = 20,000,000: Q1 pool 600,000 -> floor(600,000 * 19 / 28) = 407,142 and
    #   floor(600,000 * 9 / 28) = 192,857 (remainder 1); Q10 pool 400,000 all to member 0.
    assert _paid(quarterly.awards["q1"]) == {0: 407_142, 100_000: 192_857}
    assert _paid(quarterly.awards["q10"]) == {0: 400_000}
    assert quarterly.remainder_fen == 1
