"""Plan files: defaults, overrides, and a clear ConfigError naming the setting for anything wrong."""

from __future__ import annotations

from fractions import Fraction

import pytest

from chalicelib.domain.rules import EarningRules, PointsRules, SettlementRules, WalletRules
from chalicelib.simulation.config import ConfigError, config_to_json, load_config, resolve_setting
from chalicelib.simulation.sweep import parse_sweep


def test_the_defaults_are_the_programme_rules():
    config = load_config({})
    assert config.rules.settlement == SettlementRules()
    assert config.rules.earning == EarningRules()
    assert config.rules.points == PointsRules()
    assert config.rules.wallet == WalletRules()
    assert config.months == ("2026-10", "2026-11", "2026-12")
    assert config.engine_rules_are_default()


def test_a_plan_overrides_only_what_it_names():
    config = load_config(
        {
            "quarter": "2027-Q1",
            "population": {"models": {"chain": 1}, "chain": {"recent_window": 5}},
            "consumption": {"non_buyer_share": 0.5},
            "rules": {"settlement": {"small_group_rate_bp": 300, "max_payout_ratio": 0.12, "components": ["q1"]}},
        }
    )
    assert config.months == ("2027-01", "2027-02", "2027-03")
    assert config.model_weights() == {"realistic": 0.0, "preferential": 0.0, "chain": 1.0}
    assert config.population.chain.recent_window == 5
    assert config.population.chain.recent_share == 0.95
    assert config.consumption.non_buyer_share == 0.5
    assert config.rules.settlement.max_payout_ratio == Fraction(3, 25)
    assert config.rules.settlement.components == frozenset({"q1"})
    assert not config.engine_rules_are_default()  # the settlement CLI cannot apply a 3 % rate
    assert config_to_json(config)["rules"]["settlement"]["components"] == ["q1"]


def test_a_cap_and_components_alone_keep_the_engine_defaults():
    config = load_config({"rules": {"settlement": {"max_payout_ratio": 0.2, "components": ["small_group"]}}})
    assert config.engine_rules_are_default()


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ([], "must be a JSON object"),
        ({"populaton": {}}, "unknown setting populaton"),
        ({"rules": {"settlement": {"auto_approve": True}}}, "unknown setting rules.settlement.auto_approve"),
        ({"consumption": {"non_buyer_share": 1.5}}, "consumption.non_buyer_share must be within 0..1"),
        ({"consumption": {"median_monthly_fen": 300.5}}, "consumption.median_monthly_fen must be an integer"),
        ({"consumption": {"sigma": "wide"}}, "consumption.sigma must be a number"),
        ({"consumption": {"sigma": True}}, "consumption.sigma must be a number"),
        ({"population": {"models": {"viral": 1}}}, "population.models.viral is not a growth model"),
        ({"population": {"models": {"chain": 0}}}, "at least one growth model"),
        ({"population": {"chain": {"recent_window": 0}}}, "population.chain.recent_window must be at least 1"),
        ({"rules": {"settlement": {"small_group_rate_bp": -5}}}, "small_group_rate_bp must not be negative"),
        ({"rules": {"settlement": {"max_payout_ratio": -0.1}}}, "max_payout_ratio must not be negative"),
        ({"rules": {"settlement": {"components": ["bonus"]}}}, "unknown component 'bonus'"),
        ({"rules": {"settlement": {"weight_unit_fen": 0}}}, "weight_unit_fen must be positive"),
        ({"rules": {"points": {"star_thresholds": [0, 500, 100]}}}, "star_thresholds must start at 0"),
        ({"members": {"guide_tier_shares": [0.9, 0.1, 0, 0, 0, 0, 0]}}, "guide_tier_shares has 7 tiers"),
        ({"quarter": "2026-10"}, "quarter looks like 2026-Q4"),
        ({"rules": {"settlement": {"small_group_rate_bp": 20_000}}}, "small_group_rate_bp must be at most 10,000"),
        ({"consumption": {"max_monthly_fen": 10**10}}, "max_monthly_fen must be at most 1,000,000,000"),
        ({"consumption": {"month_sigma": 10**400}}, "month_sigma is too large"),
        ({"population": {"realistic": {"activity_alpha": 0.01}}}, "activity_alpha must be within 0.1..100"),
    ],
)
def test_every_bad_setting_is_a_config_error_naming_it(plan, message):
    with pytest.raises(ConfigError) as caught:
        load_config(plan)
    assert message in str(caught.value)


def test_a_setting_is_found_by_its_path_or_its_unique_last_part():
    assert resolve_setting("small_group_rate_bp") == "rules.settlement.small_group_rate_bp"
    assert resolve_setting("q1_threshold_fen") == "rules.settlement.q1_threshold_fen"
    assert resolve_setting("max_payout_ratio") == "rules.settlement.max_payout_ratio"
    assert resolve_setting("consumption.sigma") == "consumption.sigma"
    assert resolve_setting("chain.recent_share") == "population.chain.recent_share"
    with pytest.raises(ConfigError, match="not a single-number setting"):
        resolve_setting("guide_rates_bp")


def test_a_sweep_validates_every_value_before_anything_runs():
    sweep = parse_sweep("max_payout_ratio=null,0.15,0.1", {})
    assert sweep.path == "rules.settlement.max_payout_ratio"
    assert [c.rules.settlement.max_payout_ratio for c in sweep.configs] == [None, Fraction(3, 20), Fraction(1, 10)]
    with pytest.raises(ConfigError, match="non_buyer_share=2"):
        parse_sweep("non_buyer_share=0.2,2", {})
    with pytest.raises(ConfigError, match="not a JSON number"):
        parse_sweep("small_group_rate_bp=300,five", {})
    with pytest.raises(ConfigError, match="PARAM=v1,v2"):
        parse_sweep("small_group_rate_bp", {})
