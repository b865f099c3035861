"""One trial through the engine: figures that add up, depths, inequality and points cost."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from chalicelib.domain.settlement import SettlementInput
from chalicelib.simulation.config import COMPONENTS, load_config
from chalicelib.simulation.model import Population, generate, trial_seeds
from chalicelib.simulation.populations import GROWTH_MODELS
from chalicelib.simulation.trial import _lorenz, depths, points_cost, run_trial

from .builders import depths_by_walk


@pytest.mark.parametrize("model", sorted(GROWTH_MODELS))
def test_depths_from_the_preorder_match_a_walk(model):
    tree = GROWTH_MODELS[model](5_000, np.random.default_rng(1))
    zeros = np.zeros(5_000, dtype=np.int64)
    inp = SettlementInput.from_arrays(parent=tree.parent, stars=zeros, guide_tier=zeros, volumes_fen=zeros)
    forest = inp.forest
    assert (depths(forest) == depths_by_walk(tree.parent)[forest.order]).all()


def test_a_trials_figures_add_up():
    config = load_config({})
    trial = run_trial(generate(config, 10_000, "realistic", trial_seeds(4, 1)[0]), config)
    f = trial["figures"]
    assert f["rewards_fen"] == sum(f[f"rewards_fen_{c}"] for c in COMPONENTS) > 0
    assert f["payout_ratio"] == f["rewards_fen"] / f["consumption_fen"]
    assert f["payout_ratio_small_group"] == f["rewards_fen_small_group"] / f["consumption_fen"]
    months, quarter = trial["settlements"][:3], trial["settlements"][3]
    assert [s["period"] for s in trial["settlements"]] == ["2026-10", "2026-11", "2026-12", "2026-Q4"]
    assert quarter["consumption_fen"] == sum(m["consumption_fen"] for m in months) == f["consumption_fen"]
    assert f["rewards_fen_q1"] == quarter["rewards_fen_by_component"]["q1"]
    assert f["rewards_fen_small_group"] == sum(m["rewards_fen_by_component"]["small_group"] for m in months)
    assert 0 < f["members_paid_share"] < 1 and 0 < f["top1_share"] <= 1
    assert f["store_duty_count"] >= max(s["store_required"] for s in trial["settlements"])


def test_a_payout_cap_holds_in_every_settlement():
    config = load_config({"rules": {"settlement": {"max_payout_ratio": 0.05}}})
    trial = run_trial(generate(config, 10_000, "preferential", trial_seeds(5, 1)[0]), config)
    for s in trial["settlements"]:
        assert Fraction(s["rewards_fen"], s["consumption_fen"]) <= Fraction(1, 20)
    assert trial["settlements"][0]["scale_factor"] is not None


def test_switched_off_components_pay_nothing():
    config = load_config({"rules": {"settlement": {"components": ["guide_fee", "q10"]}}})
    f = run_trial(generate(config, 5_000, "chain", trial_seeds(6, 1)[0]), config)["figures"]
    assert f["rewards_fen_small_group"] == f["rewards_fen_q1"] == 0
    assert f["rewards_fen_guide_fee"] > 0 and f["rewards_fen_q10"] > 0


def test_one_member_taking_everything_has_gini_n_minus_1_over_n_and_all_of_the_top_share():
    curve, gini = _lorenz(np.array([0, 0, 0, 10]))
    assert gini == 0.75
    assert curve[0] == 0.0 and curve[-1] == 1.0
    assert _lorenz(np.array([5, 5, 5, 5]))[1] == 0.0


def test_points_cost_counts_whole_yuan_the_birthday_bonus_and_breakage():
    config = load_config({"points_cost": {"breakage_rate": 0.25, "referral_first_purchase_share": 0.1}})
    population = Population(
        model="realistic",
        parent=np.array([-1, 0]),
        stars=np.zeros(2, dtype=np.int64),
        guide_tier=np.zeros(2, dtype=np.int64),
        volumes_fen=np.array([[10_050, 0], [0, 20_000], [0, 0]]),
        birthday_month=np.array([[True, False], [False, False], [False, False]]),
        lifetime_points=np.zeros(2, dtype=np.int64),
    )
    cost = points_cost(population, config, 30_050)
    purchase = 100 * 2 + 200  # 100 whole yuan doubled in a birth month, 200 yuan
    referral = 30 * 2  # 10 % of the 300 whole yuan are first orders of referred members, 2 points a yuan
    assert cost["points_issued"] == purchase + referral
    assert cost["points_value_fen"] == purchase + referral  # 100 points = 100 fen
    assert cost["points_cost_fen"] == int(0.75 * (purchase + referral))
    assert cost["points_cost_ratio"] == cost["points_cost_fen"] / 30_050
