"""Bad input is refused with a precise error naming the member at fault."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from chalicelib.domain.rules import SettlementRules
from chalicelib.domain.settlement import (
    DuplicateMemberError,
    InvalidComponentError,
    InvalidFieldError,
    InvalidKindError,
    InvalidPeriodError,
    InvalidRulesError,
    NegativeVolumeError,
    ReferralCycleError,
    SettlementInput,
    SettlementInputError,
    UnknownReferrerError,
    UnknownVolumeMemberError,
    VolumeOverflowError,
    run_json,
    settle,
)

from .builders import document, member

GOOD_MEMBERS = [member("a"), member("b", "a")]


def _doc(**changes):
    return {**document(GOOD_MEMBERS, {"b": 100}), **changes}


def _with_member(**fields):
    return _doc(members=[member("a"), {**member("b", "a"), **fields}])


@pytest.mark.parametrize(
    ("doc", "error", "message"),
    [
        (_doc(members=[member("a"), member("b", "nobody")]), UnknownReferrerError, "'b'.*'nobody'"),
        (_doc(members=[member("a"), member("a")]), DuplicateMemberError, "'a'"),
        (_doc(members=[member("a", "b"), member("b", "a")]), ReferralCycleError, "cycle"),
        (_doc(members=[member("a", "a")], volumes_fen={}), ReferralCycleError, "'a' refers itself"),
        (_doc(volumes_fen={"b": -1}), NegativeVolumeError, "'b'"),
        (_doc(volumes_fen={"c": 1}), UnknownVolumeMemberError, "'c'"),
        (_doc(volumes_fen={"b": 1.5}), InvalidFieldError, "integer"),
        (_doc(volumes_fen={"b": True}), InvalidFieldError, "integer"),
        (_doc(volumes_fen={"b": 2**63}), InvalidFieldError, "2\\*\\*63"),
        (_doc(volumes_fen={"a": 2**62, "b": 2**62}), VolumeOverflowError, "2\\*\\*63"),
        (_doc(volumes_fen=[]), InvalidFieldError, "volumes_fen"),
        (_doc(period="2026-13"), InvalidPeriodError, "YYYY-MM"),
        (_doc(period="2026-Q4"), InvalidPeriodError, "YYYY-MM"),
        (_doc(kind="quarterly", period="2026-10"), InvalidPeriodError, "YYYY-Qn"),
        (_doc(kind="quarterly", period="2026-Q5"), InvalidPeriodError, "YYYY-Qn"),
        (_doc(kind="weekly"), InvalidKindError, "weekly"),
        (_doc(kind=["monthly"]), InvalidKindError, "monthly"),
        (_doc(period="\u0662\u0660\u0662\u0666-10"), InvalidPeriodError, "YYYY-MM"),
        (_doc(components=["q1"]), InvalidComponentError, "not part of a monthly"),
        (_doc(components=["bonus"]), InvalidComponentError, "unknown"),
        (_doc(components="small_group"), InvalidFieldError, "list"),
        (_doc(max_payout_ratio=-0.1), InvalidFieldError, "negative"),
        (_doc(max_payout_ratio="5%"), InvalidFieldError, "number"),
        (_doc(max_payout_ratio=True), InvalidFieldError, "number"),
        (_doc(bonus=1), InvalidFieldError, "unknown field bonus"),
        ({"kind": "monthly", "period": "2026-10", "members": []}, InvalidFieldError, "misses volumes_fen"),
        ([], InvalidFieldError, "object"),
        (_doc(members={"a": {}}), InvalidFieldError, "list"),
        (_doc(members=["a"]), InvalidFieldError, "object"),
        (_with_member(stars="1"), InvalidFieldError, "'b': stars"),
        (_with_member(stars=True), InvalidFieldError, "'b': stars"),
        (_with_member(stars=-1), InvalidFieldError, "negative"),
        (_with_member(guide_tier=6), InvalidFieldError, "highest configured tier is 5"),
        (_with_member(id=7), InvalidFieldError, "id must be a non-empty string"),
        (_with_member(id=""), InvalidFieldError, "id must be a non-empty string"),
        (_with_member(referrer=1), InvalidFieldError, "referrer"),
        (_with_member(registered_at="yesterday"), InvalidFieldError, "ISO 8601"),
        (_with_member(registered_at="2026-01-01T00:00:00"), InvalidFieldError, "offset"),
        (_with_member(registered_at=20260101), InvalidFieldError, "string"),
        (_with_member(nickname="bee"), InvalidFieldError, "unknown field nickname"),
        (_doc(members=[member("a"), {"id": "b", "referrer": "a"}]), InvalidFieldError, "'b' misses"),
    ],
)
def test_bad_input_is_refused_with_a_precise_error(doc, error, message):
    with pytest.raises(error, match=message):
        run_json(doc)


def test_every_input_error_shares_one_root():
    with pytest.raises(SettlementInputError):
        run_json(_doc(kind="weekly"))


def test_members_missing_from_volumes_have_volume_zero_and_an_empty_input_settles():
    assert run_json(document([], {}))["totals"]["consumption_fen"] == 0
    assert run_json(_doc(volumes_fen={}))["totals"]["consumption_fen"] == 0


@pytest.mark.parametrize(
    ("columns", "error"),
    [
        ({"parent": [-1, 5]}, UnknownReferrerError),
        ({"parent": [-1, -2]}, UnknownReferrerError),
        ({"stars": [1]}, InvalidFieldError),
        ({"volumes_fen": [1.0, 2.0]}, InvalidFieldError),
        ({"volumes_fen": [0, -5]}, NegativeVolumeError),
        ({"guide_tier": [0, -1]}, InvalidFieldError),
        ({"member_ids": ["x", "x"]}, DuplicateMemberError),
        ({"parent": [[-1, 0]]}, InvalidFieldError),
        ({"volumes_fen": np.array([0, 2**64 - 1], dtype=np.uint64)}, InvalidFieldError),
        ({"member_ids": [1, 2]}, InvalidFieldError),
        ({"stars": [True, False]}, InvalidFieldError),
    ],
)
def test_columns_are_validated_too(columns, error):
    base = {"parent": [-1, 0], "stars": [1, 1], "guide_tier": [0, 0], "volumes_fen": [0, 10]}
    with pytest.raises(error):
        SettlementInput.from_arrays(**{**base, **columns})


def test_a_rules_configuration_the_engine_cannot_apply_is_refused():
    inp = SettlementInput.from_arrays(parent=np.array([-1]), stars=[1], guide_tier=[0], volumes_fen=[0])
    with pytest.raises(InvalidRulesError):
        settle(inp, SettlementRules(weight_unit_fen=0), kind="quarterly", period="2026-Q1")
    with pytest.raises(InvalidRulesError):
        settle(inp, SettlementRules(guide_rates_bp=(0, -200)), kind="monthly", period="2026-01")


def test_the_cap_defaults_to_the_rules_and_accepts_exact_fractions():
    doc = document([member("m"), member("a", "m", stars=0), member("b", "m", stars=0)], {"a": 300, "b": 200})
    capped = SettlementRules(max_payout_ratio=Fraction(1, 100))
    # 5 % of 200 = 10 fen on 500 fen = 2 % > 1 %: factor 5/10 = 1/2
    assert run_json(doc, capped)["report"]["scale_factor"] == "1/2"
    inp = SettlementInput.from_arrays(
        parent=[-1, 0, 0], stars=[1, 0, 0], guide_tier=[0, 0, 0], volumes_fen=[0, 300, 200]
    )
    result = settle(inp, SettlementRules(), "monthly", "2026-10", max_payout_ratio=Fraction(1, 250))
    assert result.scale_factor == Fraction(1, 5) and result.rewards_fen == 2
