"""Customer service's member look-up: find a member by phone (through the blind index),
member code or id, open their file (masked profile, status with its history, points with
lots by expiry month, wallet, reviews, payout account), and see one personal field in
clear through the audited reveal. Every search and every opened file is in the audit log
(who looked, how, whom; never the phone searched for or a value shown).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from ..adapters.dynamodb.member_lookup import REVEALABLE, MemberDirectory, StatusChange
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain import identity
from ..domain import points as points_domain
from ..domain.calendar import Month, local_date
from ..domain.errors import InvalidRequest, NotFound
from ..domain.identity import MemberStatus
from . import otp
from .common import audit, retrying
from .disclosure import record_reveal
from .points_ledger import MemberPoints
from .reviews import ReviewKind


@dataclass(frozen=True)
class MemberSummary:
    member_id: str
    member_code: str | None
    phone: str  # masked
    status: str
    registered_at: datetime


@dataclass(frozen=True)
class Lot:
    expires_on: date
    points: int


@dataclass(frozen=True)
class MemberFile:
    member_id: str
    member_code: str | None
    phone: str  # masked
    name: str | None  # masked
    birth_month: int | None
    babies: int
    region: str | None
    profile_complete: bool
    status: str
    status_history: list[StatusChange]
    registered_at: datetime
    activated_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    roles: list[str]
    stars: int
    guide_tier: int
    referrer_id: str | None
    available: int
    pending: int
    held: int
    lifetime: int
    debt: int
    lots: list[Lot]
    balance_fen: int
    held_fen: int
    kyc: str | None
    nutritionist: str | None
    payout_kind: str | None
    payout_account: str | None  # masked


@dataclass(frozen=True)
class RevealedField:
    member_id: str
    field: str
    value: str | None


def _directory(c: Container) -> MemberDirectory:
    return MemberDirectory(c.cursors)


def _masked_phone(c: Container, phone_enc: str | None) -> str:
    return identity.mask_phone(c.cipher.decrypt(phone_enc, field="phone")) if phone_enc else ""


def find(
    c: Container, actor: Principal, *, phone: str | None, code: str | None, member_id: str | None
) -> list[MemberSummary]:
    """At most one member (phone, code and id are each unique); audited whether found or not."""
    given = [name for name, value in (("phone", phone), ("code", code), ("member_id", member_id)) if value]
    if len(given) != 1:
        raise InvalidRequest("Search by exactly one of phone, code, member_id.")
    directory = _directory(c)
    if phone:
        found = directory.by_phone_index(otp.phone_index(c, identity.normalize_phone(phone)))
    elif code:
        found = directory.by_code(code)
    else:
        found = member_id
    member = directory.member(found) if found else None
    uow = c.uow()
    target = member.member_id if member else actor.subject
    audit(
        uow,
        c,
        actor,
        "member.lookup",
        "member" if member else "staff",
        target,
        None,
        None,
        {"by": given[0], "found": member is not None},
    )
    uow.commit()
    if member is None:
        return []
    phone_masked = _masked_phone(c, member.phone_enc)
    return [MemberSummary(member.member_id, member.member_code, phone_masked, member.status, member.registered_at)]


def require_known(c: Container, member_id: str) -> None:
    """Staff may read the file of any member ever registered, closed ones included."""
    if _directory(c).member(member_id) is None:
        raise NotFound("No such member.")


def member_file(c: Container, actor: Principal, member_id: str) -> MemberFile:
    """The member's file for customer service, masked; opening it is audited."""
    directory = _directory(c)
    member = directory.member(member_id)
    if member is None:
        raise NotFound("No such member.")
    uow = c.uow()
    audit(uow, c, actor, "member.viewed", "member", member_id, None, None, {"status": member.status})
    uow.commit()
    now = c.now()
    points = MemberPoints.load(c, member_id).state
    current = Month.of(local_date(now))
    balance_fen, held_fen = directory.wallet(member_id)
    payout = directory.payout_account(member_id)
    name = c.cipher.decrypt(member.name_enc, field="name") if member.name_enc else None
    babies = json.loads(c.cipher.decrypt(member.babies_enc, field="babies")) if member.babies_enc else []
    birthday = c.cipher.decrypt(member.birthday_enc, field="birthday") if member.birthday_enc else None
    return MemberFile(
        member_id=member_id,
        member_code=member.member_code,
        phone=_masked_phone(c, member.phone_enc),
        name=identity.mask_name(name) if name else None,
        # the month decides the purchase multiplier (RULES.md 3.1), which members ask about
        birth_month=date.fromisoformat(birthday).month if birthday else None,
        babies=len(babies),
        region=member.region,
        profile_complete=member.profile_completed_at is not None,
        status=member.status,
        status_history=directory.status_history(member_id),
        registered_at=member.registered_at,
        activated_at=member.activated_at,
        closed_at=member.closed_at,
        close_reason=member.close_reason,
        roles=sorted(member.roles or ()),
        stars=points_domain.stars_for(points.lifetime, c.rules.points.star_thresholds),
        guide_tier=int(member.guide_tier or 0),
        referrer_id=member.referrer_id,
        available=points.available,
        pending=points.pending,
        held=points.held,
        lifetime=points.lifetime,
        debt=points.debt,
        lots=[Lot(day, amount) for day, amount in points_domain.expiring_schedule(points, current)],
        balance_fen=balance_fen,
        held_fen=held_fen,
        kyc=directory.review_status(member_id, ReviewKind.KYC.sort_key),
        nutritionist=directory.review_status(member_id, ReviewKind.NUTRITIONIST.sort_key),
        payout_kind=payout.kind if payout else None,
        payout_account=payout.account_masked if payout else None,
    )


def reveal(c: Container, actor: Principal, member_id: str, field: str, reason: str) -> RevealedField:
    """One personal field in clear, for a staff member who must check it (a caller's
    identity, a birthday that decides a multiplier); audited first, with the reason."""
    if field not in REVEALABLE:
        raise InvalidRequest(f"field must be one of: {', '.join(REVEALABLE)}.")
    directory = _directory(c)

    def attempt() -> RevealedField:
        member = directory.member(member_id)
        if member is None or member.status == MemberStatus.CLOSED:
            raise NotFound("No such member.")
        ciphertext = getattr(member, REVEALABLE[field])
        if ciphertext is None:
            return RevealedField(member_id, field, None)
        record_reveal(
            c,
            actor,
            "member.revealed",
            "member",
            member_id,
            reason,
            lambda uow: directory.check_field_unchanged(uow, member_id, field, ciphertext),
            {"field": field, "status": member.status},
        )
        return RevealedField(member_id, field, c.cipher.decrypt(ciphertext, field=field))

    return retrying(attempt)
