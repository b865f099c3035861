"""The per-request check behind every bearer route (``sessions.current_principal``),
including what no in-process gateway can show: API Gateway serving a cached Allow for a
token whose ``exp`` has passed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain.errors import InvalidToken
from chalicelib.service_layer import sessions
from tests.builders import register


def test_a_token_past_its_expiry_is_refused_even_when_the_gateway_let_it_through(client, stack):
    member = register(client, stack)
    principal = stack.tokens.verify(member.access_token, stack.wall_clock.now())
    assert sessions.current_principal(stack, principal).subject == member.member_id
    with pytest.raises(InvalidToken):
        sessions.current_principal(stack, replace(principal, expires=int(stack.wall_clock.now().timestamp())))


def test_a_token_naming_another_members_session_family_is_refused(client, stack):
    first, second = register(client, stack), register(client, stack)
    principal = stack.tokens.verify(first.access_token, stack.wall_clock.now())
    other_family = stack.tokens.verify(second.access_token, stack.wall_clock.now()).session
    with pytest.raises(InvalidToken):
        sessions.current_principal(stack, replace(principal, session=other_family))
