"""The step-up proof's freshness as a pure rule: no moto, no clock but the one passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import step_up
from chalicelib.domain.errors import StepUpRequired
from chalicelib.domain.rules import SessionRules

RULES = SessionRules()
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_the_proof_lasts_five_minutes_by_default():
    assert RULES.step_up_ttl_s == 300
    assert step_up.valid_until(NOW, RULES) == NOW + timedelta(minutes=5)


@pytest.mark.parametrize("age", [timedelta(0), timedelta(seconds=1), timedelta(minutes=4, seconds=59)])
def test_a_proof_younger_than_its_validity_stands(age):
    step_up.require_fresh(NOW - age, NOW, RULES)


@pytest.mark.parametrize("age", [timedelta(minutes=5), timedelta(minutes=5, microseconds=1), timedelta(days=30)])
def test_a_proof_as_old_as_its_validity_or_older_is_refused(age):
    with pytest.raises(StepUpRequired):
        step_up.require_fresh(NOW - age, NOW, RULES)


def test_no_proof_or_a_spent_one_is_refused():
    with pytest.raises(StepUpRequired):
        step_up.require_fresh(None, NOW, RULES)


def test_a_proof_stamped_by_a_clock_slightly_ahead_stands():
    step_up.require_fresh(NOW + timedelta(milliseconds=40), NOW, RULES)


def test_the_validity_comes_from_the_rules():
    short = SessionRules(step_up_ttl_s=60)
    with pytest.raises(StepUpRequired):
        step_up.require_fresh(NOW - timedelta(seconds=60), NOW, short)
    assert step_up.oldest_fresh(NOW, short) == NOW - timedelta(seconds=60)
