"""The domain events identity announces, which the points ledger turns into earnings
(RULES.md 3.1: register, daily login, complete profile, referral sign-up, nutritionist
certified). Observed through a handler subscribed on the container, as the ledger is."""

from __future__ import annotations

import pytest

from chalicelib.domain.events import (
    MemberRegistered,
    NutritionistCertified,
    ProfileCompleted,
    ReferralEffective,
    SessionStarted,
)
from tests.builders import decide_review, forbid_server_errors, invite, login, new_staff, register


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


@pytest.fixture
def events(stack):
    seen: list = []
    for kind in (MemberRegistered, SessionStarted, ProfileCompleted, ReferralEffective, NutritionistCertified):
        stack.subscribe(kind, lambda event, uow: seen.append(event))
    return seen


def kinds(events) -> list[str]:
    return [type(event).__name__ for event in events]


def test_registration_is_a_registration_and_the_days_first_session(client, stack, events, clock):
    member = register(client, stack)
    assert kinds(events) == ["MemberRegistered", "SessionStarted"]
    assert all(event.member_id == member.member_id and event.at == clock.now() for event in events)


def test_registration_with_a_code_makes_the_referral_effective(client, stack, events):
    referrer = register(client, stack)
    events.clear()
    member = register(client, stack, referrer_code=referrer.member_code)
    assert ReferralEffective(referrer.member_id, member.member_id, stack.now()) in events


def test_a_login_starts_a_session_and_a_refresh_does_not(client, stack, events, clock):
    member = register(client, stack)
    clock.advance(seconds=61)
    events.clear()
    login(client, stack, member.phone)
    assert kinds(events) == ["SessionStarted"]
    events.clear()
    client.post("/v1/auth/refresh", json_body={"refresh_token": member.refresh_token})
    assert events == []


def test_an_invitation_earns_nothing_until_the_friend_activates(client, stack, events):
    inviter = register(client, stack)
    events.clear()
    phone = invite(client, inviter)
    assert events == []
    friend = register(client, stack, phone=phone)
    assert kinds(events) == ["MemberRegistered", "SessionStarted", "ReferralEffective"]
    assert events[-1] == ReferralEffective(inviter.member_id, friend.member_id, stack.now())


def test_a_stale_invitation_activates_without_a_referral(client, stack, events, clock):
    inviter = register(client, stack)
    phone = invite(client, inviter)
    clock.advance(days=31)
    events.clear()
    register(client, stack, phone=phone)
    assert kinds(events) == ["MemberRegistered", "SessionStarted"]


def test_a_late_binding_makes_the_referral_effective(client, stack, events):
    referrer, member = register(client, stack), register(client, stack)
    events.clear()
    client.post("/v1/me/referrer", token=member.access_token, json_body={"code": referrer.member_code})
    assert events == [ReferralEffective(referrer.member_id, member.member_id, stack.now())]


def test_the_profile_completes_once_even_when_completed_again(client, stack, events, clock):
    member = register(client, stack)
    events.clear()
    token = member.access_token
    client.patch("/v1/me", token=token, json_body={"name": "张三", "birthday": "1990-01-01"})
    assert events == []
    client.patch("/v1/me", token=token, json_body={"region": "杭州"})
    assert events == [ProfileCompleted(member.member_id, clock.now())]
    client.patch("/v1/me", token=token, json_body={"region": ""})  # incomplete again
    clock.advance(minutes=1)
    answer = client.patch("/v1/me", token=token, json_body={"region": "上海"})
    assert answer.json["profile"]["complete"] is True
    assert len(events) == 1


def test_a_certified_nutritionist_is_announced_once(client, stack, events):
    member = register(client, stack)
    ops = new_staff(client, stack, "ops").access_token
    certificate = {"certificate_no": "C-1", "issuer": "中国营养学会", "issued_on": "2024-06-01"}
    client.post("/v1/me/nutritionist", token=member.access_token, json_body=certificate)
    events.clear()
    assert decide_review(client, ops, "nutritionists", member.member_id).status_code == 200
    assert events == [NutritionistCertified(member.member_id, stack.now())]
