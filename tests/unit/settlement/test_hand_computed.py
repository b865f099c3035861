"""Small settlements worked out by hand; the arithmetic is in the comments."""

from __future__ import annotations

from fractions import Fraction

from chalicelib.domain.rules import SettlementRules
from chalicelib.domain.settlement import run_json

from .builders import basis_of, document, member, rewards_by_key


def test_small_group_share_is_five_percent_of_all_groups_but_the_largest_and_ignores_own_consumption():
    members = [
        member("m"),
        member("a", "m", stars=0),
        member("a1", "a", stars=0),
        member("b", "m", stars=0),
        member("c", "m", stars=0),
    ]
    # groups of m: V(a) = 300,000 + 200,000 = 500,000 (largest); V(b) = 100,000; V(c) = 50,000
    # small groups = 150,000 -> floor(500 * 150,000 / 10,000) = 7,500.
    # m's own 1,000,000 never counts for m.
    volumes = {"m": 1_000_000, "a": 300_000, "a1": 200_000, "b": 100_000, "c": 50_000}
    out = run_json(document(members, volumes))
    assert rewards_by_key(out) == {("m", "small_group"): 7_500}
    assert basis_of(out, "m", "small_group") == {
        "largest_group_root": "a",
        "largest_group_volume_fen": 500_000,
        "groups": 3,
        "small_groups_volume_fen": 150_000,
        "rate_bp": 500,
    }
    assert out["totals"] == {
        "consumption_fen": 1_650_000,
        "rewards_fen": 7_500,
        "remainder_fen": 0,
        "payout_ratio": 7_500 / 1_650_000,
    }


def test_a_single_group_is_the_largest_so_it_earns_no_small_group_share():
    members = [member("m"), member("a", "m"), member("a1", "a")]
    out = run_json(document(members, {"a": 10_000, "a1": 90_000}))
    # m: one group (a: 100,000) = the largest -> 0; a: one group (a1) -> 0
    assert out["rewards"] == []


def test_tied_largest_groups_go_to_the_earliest_registered_referral_then_to_the_smaller_id():
    members = [
        member("m"),
        member("x", "m", at="2026-03-01T00:00:00+08:00"),
        member("y", "m", at="2026-02-01T00:00:00+08:00"),
        member("z", "m", at="2026-01-15T00:00:00+08:00"),
    ]
    # V(x) = V(y) = 100,000 tie; y registered earlier -> largest = y; z (40,000) is small.
    # small = x + z = 140,000 -> 7,000
    out = run_json(document(members, {"x": 100_000, "y": 100_000, "z": 40_000}))
    assert basis_of(out, "m", "small_group")["largest_group_root"] == "y"
    assert rewards_by_key(out)[("m", "small_group")] == 7_000

    # same instant written in two offsets: 08:00+08:00 == 00:00Z, so the id decides: "b" < "c"
    members = [
        member("m"),
        member("c", "m", at="2026-02-01T08:00:00+08:00"),
        member("b", "m", at="2026-02-01T00:00:00Z"),
    ]
    out = run_json(document(members, {"b": 5_000, "c": 5_000}))
    assert basis_of(out, "m", "small_group")["largest_group_root"] == "b"
    assert rewards_by_key(out)[("m", "small_group")] == 250  # 5% of c's 5,000


def test_only_members_with_at_least_one_star_earn_but_everybody_s_consumption_counts():
    members = [
        member("zero", stars=0),
        member("z1", "zero", stars=0),
        member("z2", "zero", stars=0),
        member("one", stars=1),
        member("o1", "one", stars=0),
        member("o2", "one", stars=0),
    ]
    # both have groups 80,000 and 20,000; only "one" (1 star) earns 5% of 20,000 = 1,000,
    # from the consumption of two 0-star members.
    volumes = {"z1": 80_000, "z2": 20_000, "o1": 80_000, "o2": 20_000}
    out = run_json(document(members, volumes))
    assert rewards_by_key(out) == {("one", "small_group"): 1_000}


def test_quarterly_pools_weigh_whole_ten_thousand_yuan_units_and_a_member_can_share_both():
    members = [
        member("p"),
        member("p1", "p", stars=0),
        member("q"),
        member("q1", "q", stars=0),
        member("r", stars=2),
        member("r1", "r", stars=0),
        member("r2", "r", stars=0),
        member("s", stars=0),
        member("s1", "s", stars=0),
        member("u"),
        member("u1", "u", stars=0),
    ]
    volumes = {
        "p1": 3_100_000,  # 31,000 yuan -> weight 3
        "q1": 3_950_000,  # 39,500 yuan -> weight 3
        "r1": 12_000_000,  # L(r) = 120,000 yuan -> weight 12, in Q1 and Q10
        "r2": 500_000,
        "s1": 5_000_000,  # s has 0 stars: no share, but s1 counts in T
        "u1": 999_999,  # L(u) < 10,000 yuan: not in Q1
    }
    # T = 3,100,000 + 3,950,000 + 12,000,000 + 500,000 + 5,000,000 + 999,999 = 25,549,999
    # Q1 pool = floor(300 * T / 10,000) = floor(766,499.97) = 766,499; weights p 3, q 3, r 12 = 18
    #   p, q: floor(766,499 * 3 / 18) = floor(127,749.83) = 127,749
    #   r:    floor(766,499 * 12 / 18) = floor(510,999.33) = 510,999; remainder 766,499 - 766,497 = 2
    # Q10 pool = floor(200 * T / 10,000) = floor(510,999.98) = 510,999; only r (weight 12): all of it
    out = run_json(document(members, volumes, kind="quarterly"))
    assert rewards_by_key(out) == {
        ("p", "q1"): 127_749,
        ("q", "q1"): 127_749,
        ("r", "q1"): 510_999,
        ("r", "q10"): 510_999,
    }
    assert basis_of(out, "p", "q1")["weight"] == basis_of(out, "q", "q1")["weight"] == 3
    assert basis_of(out, "r", "q10") == {
        "largest_group_root": "r1",
        "largest_group_volume_fen": 12_000_000,
        "weight": 12,
        "total_weight": 12,
        "pool_fen": 510_999,
        "pool_bp": 200,
        "total_consumption_fen": 25_549_999,
        "weight_unit_fen": 1_000_000,
        "threshold_fen": 10_000_000,
    }
    assert out["totals"]["consumption_fen"] == 25_549_999
    assert out["totals"]["rewards_fen"] == 1_277_496
    assert out["totals"]["remainder_fen"] == 2
    assert out["report"]["components"]["q1"]["pool_fen"] == 766_499


def test_guide_fee_is_differential_and_skips_ineligible_nutritionists():
    # chain upwards from buyer x: c1 (tier 1) -> b (tier 3, 0 stars: skipped) -> c (tier 2)
    #   -> d (tier 4) -> e (tier 3, below what is already paid) -> a (tier 5)
    members = [
        member("a", tier=5),
        member("e", "a", tier=3),
        member("d", "e", tier=4),
        member("c", "d", tier=2),
        member("b", "c", stars=0, tier=3),
        member("c1", "b", tier=1),
        member("x", "c1", tier=5),
    ]
    # x buys 100,000: c1 200bp -> 2,000; b skipped; c 400-200 -> 2,000; d 800-400 -> 4,000;
    #   e 600 < 800 -> 0; a 1000-800 -> 2,000. Total 10,000 = 10 %. x's own tier is irrelevant.
    # b buys 50,000: c 400 -> 2,000; d 800-400 -> 2,000; e 0; a 200 -> 1,000.
    out = run_json(document(members, {"x": 100_000, "b": 50_000}, components=["guide_fee"]))
    assert rewards_by_key(out) == {
        ("c1", "guide_fee"): 2_000,
        ("c", "guide_fee"): 4_000,
        ("d", "guide_fee"): 6_000,
        ("a", "guide_fee"): 3_000,
    }
    # d earns two slices: 400-600 and 600-800 on the 150,000 below it
    assert basis_of(out, "d", "guide_fee") == {
        "guide_tier": 4,
        "rate_bp": 800,
        "slices": [
            {"rate_bp": 600, "diff_bp": 200, "volume_fen": 150_000},
            {"rate_bp": 800, "diff_bp": 200, "volume_fen": 150_000},
        ],
    }


def test_guide_fee_is_floored_once_per_member_not_per_buyer():
    members = [member("n", tier=1), member("b1", "n", stars=0), member("b2", "n", stars=0)]
    # each buyer: 25 * 200 / 10,000 = 0.5 fen; the member's sum 1.0 -> 1 fen (per buyer: 0 + 0)
    out = run_json(document(members, {"b1": 25, "b2": 25}, components=["guide_fee"]))
    assert rewards_by_key(out) == {("n", "guide_fee"): 1}


def test_payout_cap_scales_every_reward_by_one_factor_floored_to_the_fen():
    members = [member("m", tier=1), member("a", "m", stars=0), member("b", "m", stars=0), member("c", "m", stars=0)]
    # small_group: groups 100,000 / 60,000 / 40,000 -> 5% of 100,000 = 5,000
    # guide_fee: m 200bp on 200,000 = 4,000. Rewards 9,000 on consumption 200,000 = 4.5 %.
    # cap 1 %: factor = 0.01 * 200,000 / 9,000 = 2/9
    #   small_group floor(5,000 * 2/9) = floor(1,111.1) = 1,111; guide floor(4,000 * 2/9) = 888
    out = run_json(document(members, {"a": 100_000, "b": 60_000, "c": 40_000}, max_payout_ratio=0.01))
    assert rewards_by_key(out) == {("m", "small_group"): 1_111, ("m", "guide_fee"): 888}
    assert basis_of(out, "m", "small_group")["scale_factor"] == "2/9"
    assert basis_of(out, "m", "small_group")["computed_fen"] == 5_000
    assert out["report"]["scale_factor"] == "2/9"
    assert out["report"]["computed_rewards_fen"] == 9_000
    assert out["totals"]["rewards_fen"] == 1_999
    assert Fraction(out["report"]["payout_ratio_exact"]) == Fraction(1_999, 200_000) <= Fraction("0.01")

    # a cap above the ratio changes nothing and reports no factor
    out = run_json(document(members, {"a": 100_000, "b": 60_000, "c": 40_000}, max_payout_ratio=0.05))
    assert out["totals"]["rewards_fen"] == 9_000
    assert out["report"]["scale_factor"] is None


def test_store_duty_flags_rewards_strictly_above_one_hundred_thousand_yuan():
    members = [
        member("at"),
        member("a1", "at", stars=0),
        member("a2", "at", stars=0),
        member("above"),
        member("b1", "above", stars=0),
        member("b2", "above", stars=0),
    ]
    # "at": small groups 200,000,000 -> 10,000,000 fen exactly: not flagged
    # "above": small groups 200,000,020 -> 10,000,001 fen: flagged
    volumes = {"a1": 300_000_000, "a2": 200_000_000, "b1": 300_000_000, "b2": 200_000_020}
    out = run_json(document(members, volumes))
    assert rewards_by_key(out) == {("at", "small_group"): 10_000_000, ("above", "small_group"): 10_000_001}
    assert out["store_required"] == ["above"]


def test_switched_off_components_are_not_computed_and_the_report_says_which_ran():
    members = [member("m", tier=1), member("a", "m", stars=0), member("b", "m", stars=0)]
    rules = SettlementRules(components=frozenset({"small_group", "q1", "q10"}))
    out = run_json(document(members, {"a": 100_000, "b": 60_000}), rules)
    assert rewards_by_key(out) == {("m", "small_group"): 3_000}
    assert out["report"]["components_requested"] == ["small_group", "guide_fee"]
    assert out["report"]["components_used"] == ["small_group"]

    out = run_json(document(members, {"a": 100_000, "b": 60_000}, components=["guide_fee"]))
    assert rewards_by_key(out) == {("m", "guide_fee"): 3_200}  # 2 % of 160,000
    assert out["report"]["components_used"] == ["guide_fee"]


def test_rates_and_thresholds_come_from_the_rules():
    members = [member("m", tier=2), member("a", "m", stars=0), member("b", "m", stars=0)]
    rules = SettlementRules(small_group_rate_bp=1_000, guide_rates_bp=(0, 100, 300, 300, 300, 300))
    out = run_json(document(members, {"a": 100_000, "b": 60_000}), rules)
    # 10 % of 60,000 = 6,000; tier 2 at 300 bp on 160,000 = 4,800
    assert rewards_by_key(out) == {("m", "small_group"): 6_000, ("m", "guide_fee"): 4_800}


def test_no_consumption_means_no_rewards_and_a_zero_payout_ratio():
    members = [member("m", tier=5), member("a", "m")]
    out = run_json(document(members, {}, max_payout_ratio=0))
    assert out["rewards"] == []
    assert out["totals"] == {"consumption_fen": 0, "rewards_fen": 0, "remainder_fen": 0, "payout_ratio": 0.0}


def test_rewards_are_sorted_by_member_then_component():
    members = [member("z", tier=1), member("b", "z", tier=1), member("b1", "b"), member("b2", "b"), member("a", "z")]
    out = run_json(document(members, {"b1": 10_000, "b2": 20_000, "a": 5_000}))
    keys = [(r["member"], r["component"]) for r in out["rewards"]]
    assert keys == sorted(keys)
    assert keys == [("b", "guide_fee"), ("b", "small_group"), ("z", "guide_fee"), ("z", "small_group")]
