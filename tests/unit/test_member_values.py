"""What ``GET /v1/me`` tells a member their points are worth and how far the next star is."""

from __future__ import annotations

from chalicelib.domain.points import NextStar, next_star
from chalicelib.domain.rules import PointsRules, WalletRules
from chalicelib.domain.wallet import exchange_worth_fen

THRESHOLDS = PointsRules().star_thresholds  # 0, 2,000, 10,000, 30,000, 80,000, 200,000


def test_a_new_member_needs_the_whole_first_threshold():
    assert next_star(0, THRESHOLDS) == NextStar(stars=1, lifetime_needed=2_000, points_needed=2_000)


def test_reaching_a_threshold_exactly_counts_the_gap_to_the_one_after():
    assert next_star(10_000, THRESHOLDS) == NextStar(stars=3, lifetime_needed=30_000, points_needed=20_000)


def test_one_point_short_of_a_star_needs_one_point():
    assert next_star(79_999, THRESHOLDS) == NextStar(stars=4, lifetime_needed=80_000, points_needed=1)


def test_the_top_level_has_no_next_star():
    assert next_star(200_000, THRESHOLDS) is None
    assert next_star(10**9, THRESHOLDS) is None


def test_points_are_worth_whole_exchange_units_only():
    rules = WalletRules()
    assert exchange_worth_fen(99, rules) == 0
    assert exchange_worth_fen(100, rules) == 100
    assert exchange_worth_fen(2_250, rules) == 2_200


def test_a_points_debt_is_worth_nothing_rather_than_a_negative_amount():
    assert exchange_worth_fen(-500, WalletRules()) == 0
    assert exchange_worth_fen(0, WalletRules()) == 0
