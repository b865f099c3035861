"""Access tokens name what can revoke them: a member's session family, a staff account's
session epoch; a token without it is refused (one issued before revocation existed)."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest

from chalicelib.adapters.tokens import AccessTokens, Principal
from chalicelib.domain.errors import InvalidToken

KEY = b"k" * 32
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
tokens = AccessTokens(KEY, "v1")


def test_a_member_token_carries_its_session_family_and_expiry():
    issued = tokens.issue(Principal("m-1", "member", frozenset(), session="fam-1"), NOW, 900)
    principal = tokens.verify(issued, NOW)
    assert (principal.session, principal.epoch, principal.expires) == ("fam-1", 0, int(NOW.timestamp()) + 900)


def test_a_staff_token_carries_its_session_epoch():
    issued = tokens.issue(Principal("s-1", "staff", frozenset({"ops"}), epoch=7), NOW, 900)
    principal = tokens.verify(issued, NOW)
    assert (principal.roles, principal.epoch, principal.session) == (frozenset({"ops"}), 7, None)


@pytest.mark.parametrize(
    ("kind", "extra"),
    [("member", {}), ("member", {"sid": ""}), ("member", {"sid": 3}), ("staff", {}), ("staff", {"ver": True})],
)
def test_a_token_without_what_revokes_it_is_refused(kind, extra):
    claims = {"iss": "member-points", "sub": "x", "kind": kind, "roles": [], "iat": 0, "exp": 2**40, **extra}
    with pytest.raises(InvalidToken):
        tokens.verify(jwt.encode(claims, KEY, algorithm="HS256"), NOW)
