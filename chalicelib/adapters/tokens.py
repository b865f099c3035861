"""Access tokens (signed JWTs, PyJWT) and opaque refresh tokens.

An access token says who the principal is (``sub``), which kind (``member`` or
``staff``) and which roles; it lives 15 minutes. It also names what can revoke it: a
member's token its session family (``sid``), a staff token the account's session epoch
(``ver``). The Chalice authorizer checks the signature only; the route handler checks
the family or the epoch against the table on every request (``service_layer.sessions``).
A refresh token is ``<family id>.<secret>``; only a hash of the secret is stored, and
each use rotates it (see ``service_layer.sessions``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from ..domain.errors import InvalidToken

_ALGORITHM = "HS256"
_ISSUER = "member-points"
_CLOCK_SKEW_S = 60


@dataclass(frozen=True)
class Principal:
    subject: str
    kind: str  # "member" | "staff"
    roles: frozenset[str]
    session: str | None = None  # a member's refresh-token family
    epoch: int = 0  # a staff account's session epoch
    expires: int = 0  # the access token's ``exp`` (Unix seconds)


class AccessTokens:
    def __init__(self, key: bytes, key_version: str) -> None:
        self._key = key
        self._kid = key_version

    def issue(self, principal: Principal, now: datetime, ttl_s: int) -> str:
        claims = {
            "iss": _ISSUER,
            "sub": principal.subject,
            "kind": principal.kind,
            "roles": sorted(principal.roles),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
            "jti": secrets.token_hex(8),
        }
        if principal.kind == "member":
            claims["sid"] = principal.session
        else:
            claims["ver"] = principal.epoch
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM, headers={"kid": self._kid})

    def verify(self, token: str, now: datetime) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                issuer=_ISSUER,
                # times are checked below against the injected clock, not the wall clock
                options={
                    "require": ["exp", "iat", "sub", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        if int(claims["exp"]) <= int(now.timestamp()):
            raise InvalidToken("The access token has expired.")
        if int(claims["iat"]) > int(now.timestamp()) + _CLOCK_SKEW_S:
            raise InvalidToken()
        kind = claims.get("kind")
        roles = claims.get("roles")
        if kind not in ("member", "staff") or not isinstance(roles, list):
            raise InvalidToken()
        session, epoch = claims.get("sid"), claims.get("ver")
        if kind == "member" and not (isinstance(session, str) and session):
            raise InvalidToken()
        if kind == "staff" and not (isinstance(epoch, int) and not isinstance(epoch, bool)):
            raise InvalidToken()
        return Principal(
            subject=str(claims["sub"]),
            kind=kind,
            roles=frozenset(map(str, roles)),
            session=session if kind == "member" else None,
            epoch=epoch if kind == "staff" else 0,
            expires=int(claims["exp"]),
        )


def new_refresh_token(family_id: str) -> str:
    return f"{family_id}.{secrets.token_urlsafe(32)}"


def split_refresh_token(token: str) -> tuple[str, str]:
    family_id, sep, secret = token.partition(".")
    if not sep or not family_id or not secret or len(token) > 200:
        raise InvalidToken()
    return family_id, secret


def hash_refresh_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
