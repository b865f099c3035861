"""The rules registry: every version name ever stored resolves to its own numbers, an
unknown name is refused, and the version in effect follows the business clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain.calendar import FIRST_INSTANT, start_of_local_day
from chalicelib.domain.rules import REGISTRY, InvalidRegistry, Rules, RulesRegistry, UnknownRulesVersion

# Every name a deployment has written into a settlement's ``rules_version`` so far. A
# version is added here when it is released; a name can never leave the registry again.
RELEASED = ("2026-11-23.1",)

A = Rules(version="A")
NOVEMBER = start_of_local_day(date(2026, 11, 1))
B = A.revised("B", NOVEMBER, settlement={"small_group_rate_bp": 400})
AB = RulesRegistry((A, B))


@pytest.mark.parametrize("name", RELEASED)
def test_every_released_version_name_resolves_to_the_version_of_that_name(name):
    assert REGISTRY.named(name).version == name


def test_the_registry_holds_exactly_the_released_versions_in_order():
    assert REGISTRY.names == RELEASED


@pytest.mark.parametrize("name", ["2026-11-23.2", "", "defaults", None])
def test_an_unknown_or_missing_version_name_is_refused_rather_than_answered_with_current_rules(name):
    with pytest.raises(UnknownRulesVersion, match="not in the registry"):
        REGISTRY.named(name)


def test_the_first_released_version_holds_the_numbers_of_rules_md():
    v1 = REGISTRY.named("2026-11-23.1")
    s = v1.settlement
    assert (s.min_stars, s.small_group_rate_bp, s.q1_pool_bp, s.q10_pool_bp) == (1, 500, 300, 200)
    assert (s.q1_threshold_fen, s.q10_threshold_fen, s.weight_unit_fen) == (1_000_000, 10_000_000, 1_000_000)
    assert s.guide_rates_bp == (0, 200, 400, 600, 800, 1_000)
    assert (s.store_duty_threshold_fen, s.monthly_release_day, s.quarterly_release_days_after_end) == (
        10_000_000,
        10,
        10,
    )
    assert s.max_payout_ratio is None and s.components == {"small_group", "guide_fee", "q1", "q10"}
    e = v1.earning
    assert (e.register, e.profile_complete, e.daily_login, e.purchase_points_per_yuan) == (50, 100, 10, 1)
    assert (e.birthday_month_multiplier, e.challenge_win, e.challenge_wins_per_day) == (2, 12, 3)
    assert (e.event_check_in, e.survey, e.content, e.content_points_per_day) == (200, 50, 2, 20)
    assert (e.referral_sign_up, e.referral_first_purchase_points_per_yuan) == (50, 2)
    assert (e.nutritionist_certified, e.nutritionist_contribution) == (450, 500)
    assert v1.points.star_thresholds == (0, 2_000, 10_000, 30_000, 80_000, 200_000)
    assert (v1.points.return_window_days, v1.points.validity_months) == (7, 12)
    w = v1.wallet
    assert (w.points_per_exchange_unit, w.fen_per_exchange_unit, w.withdrawal_fee_bp, w.min_withdrawal_fen) == (
        100,
        100,
        1_000,
        10_000,
    )


def test_the_version_in_effect_is_the_last_one_that_started():
    assert AB.at(FIRST_INSTANT) is A
    assert AB.at(NOVEMBER - timedelta(microseconds=1)) is A
    assert AB.at(NOVEMBER) is B
    assert AB.at(datetime(2100, 12, 31, tzinfo=UTC)) is B


def test_a_revision_changes_only_the_numbers_it_names():
    assert B.settlement.small_group_rate_bp == 400
    assert A.settlement.small_group_rate_bp == 500
    assert B.settlement.q1_pool_bp == A.settlement.q1_pool_bp
    assert (B.earning, B.points, B.wallet, B.otp) == (A.earning, A.points, A.wallet, A.otp)
    assert (B.version, B.effective_from) == ("B", NOVEMBER)


def test_a_revision_naming_a_number_that_does_not_exist_fails():
    with pytest.raises(TypeError):
        A.revised("C", NOVEMBER, settlement={"small_group_rate": 400})


@pytest.mark.parametrize(
    ("versions", "problem"),
    [
        ((), "at least one"),
        ((A, A.revised("A", NOVEMBER)), "unique"),
        ((A.revised("late", NOVEMBER),), "first version"),
        ((A, B, B.revised("C", NOVEMBER)), "increasing"),
        ((A, A.revised("naive", datetime(2026, 11, 1))), "aware"),
    ],
)
def test_a_registry_that_is_not_one_timeline_is_refused_when_it_is_built(versions, problem):
    with pytest.raises(InvalidRegistry, match=problem):
        RulesRegistry(versions)
