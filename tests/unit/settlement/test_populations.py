"""The generated population shapes have the properties their docstrings promise."""

from __future__ import annotations

import numpy as np
import pytest

from chalicelib.domain.rules import SettlementRules
from chalicelib.domain.settlement import settle
from chalicelib.simulation.populations import SHAPES, deep_chain, draw_attributes, make_input


def _depths(parent: np.ndarray) -> np.ndarray:
    depth = np.zeros(parent.size, dtype=np.int64)
    for i, p in enumerate(parent.tolist()):  # parent[i] < i: one forward pass
        if p >= 0:
            depth[i] = depth[p] + 1
    return depth


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_is_a_forest_in_registration_order_and_repeats_with_its_seed(shape):
    first = SHAPES[shape](20_000, np.random.default_rng(3))
    again = SHAPES[shape](20_000, np.random.default_rng(3))
    assert (first.parent == again.parent).all()
    referred = first.parent >= 0
    assert (first.parent[referred] < np.flatnonzero(referred)).all()
    assert (first.registration_order == np.arange(20_000)).all()


def test_bushy_is_wide_and_shallow():
    tree = SHAPES["bushy"](50_000, np.random.default_rng(1))
    assert _depths(tree.parent).max() <= 4
    assert np.bincount(tree.parent[tree.parent >= 0]).max() > 200


def test_deep_chain_holds_the_exact_200000_chain():
    tree = deep_chain(250_000, np.random.default_rng(1))
    assert (tree.parent[:200_000] == np.arange(-1, 199_999)).all()
    assert _depths(tree.parent).max() >= 199_999


def test_realistic_most_refer_nobody_and_depth_stays_a_few_dozen():
    tree = SHAPES["realistic"](50_000, np.random.default_rng(1))
    referrers = np.unique(tree.parent[tree.parent >= 0]).size
    assert referrers < 0.25 * tree.n
    counts = np.sort(np.bincount(tree.parent[tree.parent >= 0]))[::-1]
    assert counts[: tree.n // 100].sum() > 0.5 * counts.sum()  # 1 % of members made most referrals
    assert 5 <= _depths(tree.parent).max() <= 60


def test_attributes_stay_in_range_and_volumes_are_heavy_tailed():
    drawn = draw_attributes(100_000, np.random.default_rng(2))
    assert drawn.stars.min() >= 0 and drawn.stars.max() <= 5
    assert drawn.guide_tier.min() >= 0 and drawn.guide_tier.max() <= 5
    buyers = drawn.volumes_fen[drawn.volumes_fen > 0]
    assert drawn.volumes_fen.min() >= 0
    assert buyers.max() > 50 * np.median(buyers)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_generated_population_settles(shape):
    inp = make_input(shape, 5_000, seed=11)
    result = settle(inp, SettlementRules(), kind="monthly", period="2026-10")
    assert result.consumption_fen == int(inp.volumes_fen.sum()) > 0
    assert result.rewards_fen > 0
