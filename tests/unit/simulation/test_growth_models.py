"""The growth models grow forests in registration order with the shapes their docstrings promise."""

from __future__ import annotations

import numpy as np
import pytest

from chalicelib.simulation.populations import GROWTH_MODELS, chain_heavy, preferential

from .builders import depths_by_walk


@pytest.mark.parametrize("model", sorted(GROWTH_MODELS))
def test_every_growth_model_is_a_forest_in_registration_order_and_repeats_with_its_seed(model):
    first = GROWTH_MODELS[model](20_000, np.random.default_rng(3))
    again = GROWTH_MODELS[model](20_000, np.random.default_rng(3))
    other = GROWTH_MODELS[model](20_000, np.random.default_rng(4))
    assert (first.parent == again.parent).all()
    assert not (first.parent == other.parent).all()
    referred = first.parent >= 0
    assert (first.parent[referred] < np.flatnonzero(referred)).all()
    assert 0.01 < 1 - referred.mean() < 0.03  # the 2 % organic arrivals


@pytest.mark.parametrize(("attractiveness", "leaves"), [(1.0, 2 / 3), (1_000.0, 1 / 2)])
def test_preferential_attachment_has_the_leaf_share_of_its_theory(attractiveness, leaves):
    # With weight referrals + a, the share of members who refer nobody tends to (a + 1) / (2a + 1):
    # 2/3 for the plane-oriented recursive tree (a = 1), 1/2 for uniform attachment (a large).
    tree = preferential(200_000, np.random.default_rng(5), attractiveness=attractiveness, organic_share=0.0)
    referrals = np.bincount(tree.parent[tree.parent >= 0], minlength=tree.n)
    assert abs((referrals == 0).mean() - leaves) < 0.01


def test_preferential_attachment_makes_the_early_members_hubs():
    tree = preferential(100_000, np.random.default_rng(6))
    referrals = np.bincount(tree.parent[tree.parent >= 0], minlength=tree.n)
    assert referrals.max() > 200  # uniform attachment would give about ln(n) = 12
    assert depths_by_walk(tree.parent).max() <= 40


def test_chain_heavy_recruiting_grows_deep_trees():
    tree = chain_heavy(100_000, np.random.default_rng(7))
    assert depths_by_walk(tree.parent).max() > 100
    pure = chain_heavy(20_000, np.random.default_rng(7), recent_share=1.0, recent_window=20, organic_share=0.0)
    expected = 2 * 20_000 / 21  # the front moves one level per (window + 1) / 2 newcomers
    assert abs(depths_by_walk(pure.parent).max() - expected) < 0.1 * expected
