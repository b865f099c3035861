"""A trial's population: growth models by trial, consumption, stars from points, separate random streams."""

from __future__ import annotations

import numpy as np

from chalicelib.simulation.config import load_config
from chalicelib.simulation.model import generate, lifetime_points, trial_models, trial_seeds


def test_the_mix_is_apportioned_to_whole_trials_in_blocks():
    assert trial_models({"realistic": 0.5, "preferential": 0.25, "chain": 0.25}, 20) == (
        ["realistic"] * 10 + ["preferential"] * 5 + ["chain"] * 5
    )
    assert trial_models({"realistic": 0.5, "preferential": 0.25, "chain": 0.25}, 3) == [
        "realistic",
        "preferential",
        "chain",
    ]
    assert trial_models({"realistic": 0.0, "preferential": 0.0, "chain": 2.0}, 4) == ["chain"] * 4


def test_trial_seeds_do_not_depend_on_the_number_of_trials():
    few, many = trial_seeds(9, 2), trial_seeds(9, 5)
    assert [s.generate_state(4).tolist() for s in few] == [s.generate_state(4).tolist() for s in many[:2]]


def test_consumption_has_the_configured_non_buyers_cap_and_median():
    config = load_config({"consumption": {"non_buyer_share": 0.3, "max_monthly_fen": 200_000, "month_sigma": 0.0}})
    population = generate(config, 50_000, "realistic", trial_seeds(1, 1)[0])
    quarter = population.volumes_fen.sum(axis=0)
    assert abs((quarter == 0).mean() - (0.3 + 0.7 * 0.25**3)) < 0.01  # never buyers, and buyers idle 3 months
    assert population.volumes_fen.max() <= 200_000
    bought = population.volumes_fen[population.volumes_fen > 0]
    assert abs(np.median(bought) / 30_000 - 1) < 0.05


def test_stars_are_read_off_the_thresholds_from_lifetime_points():
    config = load_config({})
    population = generate(config, 20_000, "preferential", trial_seeds(2, 1)[0])
    thresholds = np.asarray(config.rules.points.star_thresholds)
    for stars in range(len(thresholds)):
        held = population.lifetime_points[population.stars == stars]
        assert (held >= thresholds[stars]).all()
        if stars + 1 < len(thresholds):
            assert (held < thresholds[stars + 1]).all()
    assert 0.2 < (population.stars >= 1).mean() < 0.8


def test_lifetime_points_add_up_purchases_referrals_and_certification():
    config = load_config({"consumption": {"month_sigma": 0.0, "purchase_probability": 0.5}})
    parent = np.array([-1, 0, 0, 1])
    level_fen = np.array([100_000.0, 0.0, 50_000.0, 0.0])  # 1,000 and 500 yuan a month
    tier = np.array([0, 1, 0, 0])
    points = lifetime_points(config, parent, level_fen, tier)
    base = 50 + 100  # register + profile complete
    per_yuan = 12 * 0.5 * (1 + 0.15)  # tenure x purchase probability x birthday bonus
    referrals_of_0 = 2 * 50 + 2 * 500  # two sign-ups; first purchase of member 2 at 2 points a yuan
    assert points.tolist() == [
        int(base + 1_000 * per_yuan + referrals_of_0),
        base + 50 + 950,  # refers member 3; certified nutritionist
        int(base + 500 * per_yuan),
        base,
    ]


def test_a_tree_setting_leaves_every_members_consumption_as_it_was():
    seed = trial_seeds(3, 1)[0]
    one = generate(load_config({}), 5_000, "chain", seed)
    other = generate(load_config({"population": {"chain": {"recent_share": 0.5}}}), 5_000, "chain", seed)
    assert not (one.parent == other.parent).all()
    assert (one.volumes_fen == other.volumes_fen).all()
    assert (one.guide_tier == other.guide_tier).all()
