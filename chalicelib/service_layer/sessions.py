"""Registration, sign-in, refresh-token rotation, staff sign-in, logout, and the check
that an access token still stands.

Every sign-in spends a one-time code; registration, activation of a pending friend and
the welcome events are one transaction. Refresh tokens rotate on every use and a
spent one presented again revokes its whole family (RULES.md 1). An access token is
checked against the table on every request (``current_principal``): a member's token
needs its session family unrevoked and the account not closed, a staff token needs the
account active and its session epoch unchanged (no role change since it was issued).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pyotp
from ulid import ULID

from ..adapters.dynamodb.base import epoch, iso, shard_of
from ..adapters.dynamodb.consent import Consents
from ..adapters.dynamodb.identity import (
    MemberCodeItem,
    MemberItem,
    OtpItem,
    PhoneItem,
    SessionItem,
    StaffItem,
    StaffPhoneItem,
)
from ..adapters.dynamodb.uow import UnitOfWork
from ..adapters.tokens import Principal, hash_refresh_secret, new_refresh_token, split_refresh_token
from ..bootstrap import Container
from ..domain import identity
from ..domain.consent import Acceptance, Channel
from ..domain.errors import (
    InvalidCode,
    InvalidToken,
    InvalidTotp,
    PhoneAlreadyRegistered,
    RefreshTokenReused,
    UnknownReferrer,
)
from ..domain.events import MemberRegistered, ReferralEffective, SessionStarted
from ..domain.identity import MemberStatus, OtpPurpose
from . import legal, otp
from .common import audit, retrying

MEMBER_CODE_TRIES = 5
LIVE_STATUSES = (MemberStatus.ACTIVE.value, MemberStatus.FROZEN.value)


@dataclass(frozen=True)
class MemberSession:
    member_id: str
    access_token: str
    refresh_token: str
    member_code: str | None = None


@dataclass(frozen=True)
class StaffSession:
    staff_id: str
    access_token: str
    roles: frozenset[str]


@dataclass(frozen=True)
class Consented:
    """The document versions a registration accepted, and through which channel."""

    accepted: list[Acceptance]
    channel: Channel

    def record(self, uow: UnitOfWork, member_id: str, now: datetime) -> dict[str, int]:
        ids = legal.new_record_ids(len(self.accepted))
        return Consents.record_acceptances(uow, member_id, ids, self.accepted, self.channel, now)


class _MemberCodeTaken(Exception):
    """Internal: the random member code collided; draw another."""


def member_pk(member_id: str) -> str:
    return f"MEMBER#{member_id}"


def load_member(member_id: str) -> MemberItem | None:
    return MemberItem.get_or_none(member_pk(member_id), MemberItem.SK)


def member_roles(member: MemberItem) -> frozenset[str]:
    return frozenset(member.roles or ())


def children_keys(referrer_id: str, member: MemberItem) -> tuple[str, str]:
    return f"REFERRER#{referrer_id}", f"{iso(member.registered_at)}#{member.member_id}"


def resolve_referrer(code: str) -> MemberItem:
    """The live member behind a member code, or ``UnknownReferrer``."""
    code = code.strip()
    if not identity.is_member_code(code):
        raise UnknownReferrer()
    link = MemberCodeItem.get_or_none(f"MCODE#{code}", MemberCodeItem.SK)
    member = link and load_member(link.member_id)
    if not member or member.status not in LIVE_STATUSES:
        raise UnknownReferrer()
    return member


def check_referrer_live(uow: UnitOfWork, referrer: MemberItem) -> None:
    uow.check(
        MemberItem,
        referrer.pk,
        MemberItem.SK,
        MemberItem.status.is_in(*LIVE_STATUSES),
        on_fail=UnknownReferrer(),
    )


def open_session(uow: UnitOfWork, c: Container, member: MemberItem) -> tuple[str, str]:
    """A new refresh-token family plus a first access token: ``(access, refresh)``.

    Token and session lifetimes run on the wall clock (security time), as do codes. The
    sign-in has just proved the number, so the session starts stepped up
    (``domain.step_up``); a refresh of it later does not renew that."""
    now = c.wall_clock.now()
    family_id = str(ULID())
    refresh = new_refresh_token(family_id)
    _, secret = split_refresh_token(refresh)
    expires = now + timedelta(seconds=c.rules.sessions.refresh_ttl_s)
    uow.put(
        SessionItem(
            pk=f"SESSION#{family_id}",
            sk=SessionItem.SK,
            member_id=member.member_id,
            secret_hash=hash_refresh_secret(secret),
            generation=0,
            revoked=False,
            created_at=now,
            expires_at=expires,
            stepped_up_at=now,
            ttl=epoch(expires + timedelta(days=1)),
        )
    )
    access = c.tokens.issue(
        Principal(member.member_id, "member", member_roles(member), session=family_id),
        now,
        c.rules.sessions.access_ttl_s,
    )
    return access, refresh


def _claim_member_code(uow: UnitOfWork, c: Container, member_id: str) -> str:
    code = identity.new_member_code(c.randbelow)
    uow.put(
        MemberCodeItem(pk=f"MCODE#{code}", sk=MemberCodeItem.SK, member_id=member_id),
        condition=MemberCodeItem.pk.does_not_exist(),
        on_fail=_MemberCodeTaken,
    )
    return code


def new_member_item(
    c: Container,
    member_id: str,
    phone: str,
    index: str,
    now: datetime,
    status: MemberStatus,
    referrer: MemberItem | None,
    bound_via: str | None,
) -> MemberItem:
    item = MemberItem(
        pk=member_pk(member_id),
        sk=MemberItem.SK,
        member_id=member_id,
        status=status.value,
        phone_enc=c.cipher.encrypt(phone, field="phone"),
        phone_index=index,
        registered_at=now,
        guide_tier=0,
        gsi2pk=f"MEMBERS#{shard_of(member_id)}",
        gsi2sk=f"P#{member_id}",
    )
    if referrer is not None:
        item.referrer_id = referrer.member_id
        item.referrer_bound_at = now
        item.bound_via = bound_via
        item.gsi1pk, item.gsi1sk = children_keys(referrer.member_id, item)
    return item


# --- member registration and sign-in -------------------------------------------------------------
def register(
    c: Container,
    phone_raw: str,
    code: str,
    referrer_code: str | None,
    accepted: list[Acceptance],
    channel: Channel,
) -> MemberSession:
    """Registration records the acceptance of the document versions in force (PIPL art.
    14): a missing or stale one refuses it (``consent_required``, naming them). Checked
    after the code and the referrer, so each of their answers stays what it was."""
    phone = identity.normalize_phone(phone_raw)
    index = otp.phone_index(c, phone)
    # the number first: a member code is looked up only for a caller who proved a number,
    # so codes cannot be probed without one
    code_item = otp.spend_try(c, index, OtpPurpose.REGISTER, code)
    referrer = resolve_referrer(referrer_code) if referrer_code else None
    consented = Consented(legal.for_registration(c, accepted), channel)

    def attempt() -> MemberSession:
        link = PhoneItem.get_or_none(f"PHONE#{index}", PhoneItem.SK)
        existing = link and load_member(link.member_id)
        if existing is not None and existing.status != MemberStatus.PENDING:
            raise PhoneAlreadyRegistered()
        for _ in range(MEMBER_CODE_TRIES):
            try:
                if existing is not None:
                    return _activate(
                        c, existing, code_item, referrer, consented, explicit_code=referrer_code is not None
                    )
                return _create_active(c, phone, index, code_item, referrer, consented)
            except _MemberCodeTaken:
                continue
        raise RuntimeError("could not draw a free member code")

    return retrying(attempt)


def _create_active(
    c: Container, phone: str, index: str, code_item: OtpItem, referrer: MemberItem | None, consented: Consented
) -> MemberSession:
    now = c.now()
    member_id = str(ULID())
    uow = c.uow()
    member = new_member_item(c, member_id, phone, index, now, MemberStatus.ACTIVE, referrer, "code")
    member.activated_at = now
    member.member_code = _claim_member_code(uow, c, member_id)
    member.accepted_docs = consented.record(uow, member_id, now)
    uow.put(
        PhoneItem(pk=f"PHONE#{index}", sk=PhoneItem.SK, member_id=member_id),
        condition=PhoneItem.pk.does_not_exist(),
        on_fail=PhoneAlreadyRegistered(),
    )
    uow.put(member)
    otp.consume(uow, code_item)
    if referrer is not None:
        check_referrer_live(uow, referrer)
    access, refresh = open_session(uow, c, member)
    _welcome(uow, member, now)
    uow.commit()
    return MemberSession(member_id, access, refresh, member.member_code)


def _activate(
    c: Container,
    member: MemberItem,
    code_item: OtpItem,
    referrer: MemberItem | None,
    consented: Consented | None,
    *,
    explicit_code: bool,
) -> MemberSession:
    """A pending friend proves the number: the account becomes active (their consent).

    Decision: the referrer who registered them stays bound unless the friend typed or
    followed another member's code, or the invitation is older than the late-binding
    window, or the inviter closed their account (a closed member is nobody's referrer);
    the friend's own choice wins because the invitation was never consented to.
    """
    now = c.now()
    uow = c.uow()
    window = timedelta(days=c.rules.referral.late_binding_days)
    inviter = load_member(member.referrer_id) if member.referrer_id else None
    inviter_gone = member.referrer_id is not None and (inviter is None or inviter.status not in LIVE_STATUSES)
    invitation_stale = now - member.registered_at > window or inviter_gone
    actions = [
        MemberItem.status.set(MemberStatus.ACTIVE.value),
        MemberItem.activated_at.set(now),
    ]
    # a friend who activates by signing in (no consent in that body) has accepted
    # nothing yet: they are asked before their first spend, like after a new version
    if consented is not None:
        actions.append(MemberItem.accepted_docs.set(consented.record(uow, member.member_id, now)))
    code = _claim_member_code(uow, c, member.member_id)
    actions.append(MemberItem.member_code.set(code))
    # a code the friend chose binds, even the inviter's own code on a stale invitation
    if explicit_code and referrer is not None and (referrer.member_id != member.referrer_id or invitation_stale):
        gsi1pk, gsi1sk = children_keys(referrer.member_id, member)
        actions += [
            MemberItem.referrer_id.set(referrer.member_id),
            MemberItem.referrer_bound_at.set(now),
            MemberItem.bound_via.set("code"),
            MemberItem.gsi1pk.set(gsi1pk),
            MemberItem.gsi1sk.set(gsi1sk),
        ]
        check_referrer_live(uow, referrer)
        bound_to: str | None = referrer.member_id
    elif invitation_stale and member.referrer_id:
        actions += [
            MemberItem.referrer_id.remove(),
            MemberItem.referrer_bound_at.remove(),
            MemberItem.bound_via.remove(),
            MemberItem.gsi1pk.remove(),
            MemberItem.gsi1sk.remove(),
        ]
        bound_to = None
    else:
        bound_to = member.referrer_id
    uow.update(member, actions, condition=MemberItem.status == MemberStatus.PENDING.value, versioned=True)
    otp.consume(uow, code_item)
    member.member_code = code
    access, refresh = open_session(uow, c, member)
    _welcome(uow, member, now, referrer_id=bound_to, use_member_referrer=False)
    uow.commit()
    return MemberSession(member.member_id, access, refresh, code)


def _welcome(
    uow: UnitOfWork,
    member: MemberItem,
    now: datetime,
    *,
    referrer_id: str | None = None,
    use_member_referrer: bool = True,
) -> None:
    uow.emit(MemberRegistered(member.member_id, now))
    uow.emit(SessionStarted(member.member_id, now))
    referrer = member.referrer_id if use_member_referrer else referrer_id
    if referrer:
        uow.emit(ReferralEffective(referrer, member.member_id, now))


def prove_number(c: Container, index: str, purpose: OtpPurpose, code: str) -> OtpItem:
    """Spend a try of a sign-in code without telling how many are left: only a number
    with an account is sent a code (``otp.send_code``), so a count of tries left would
    answer "registered" to anyone who types a wrong code for a number."""
    try:
        return otp.spend_try(c, index, purpose, code)
    except InvalidCode:
        raise InvalidCode() from None


def login(c: Container, phone_raw: str, code: str) -> MemberSession:
    phone = identity.normalize_phone(phone_raw)
    index = otp.phone_index(c, phone)
    code_item = prove_number(c, index, OtpPurpose.LOGIN, code)

    def attempt() -> MemberSession:
        link = PhoneItem.get_or_none(f"PHONE#{index}", PhoneItem.SK)
        member = link and load_member(link.member_id)
        if member is None or member.status == MemberStatus.CLOSED:
            raise InvalidCode()
        if member.status == MemberStatus.PENDING:
            for _ in range(MEMBER_CODE_TRIES):
                try:
                    return _activate(c, member, code_item, None, None, explicit_code=False)
                except _MemberCodeTaken:
                    continue
            raise RuntimeError("could not draw a free member code")
        now = c.now()
        uow = c.uow()
        otp.consume(uow, code_item)
        access, refresh = open_session(uow, c, member)
        uow.emit(SessionStarted(member.member_id, now, can_earn=member.status == MemberStatus.ACTIVE))
        uow.commit()
        return MemberSession(member.member_id, access, refresh)

    return retrying(attempt)


def refresh(c: Container, token: str) -> tuple[str, str]:
    """Rotate a refresh token: ``(access, refresh)``; reuse of a spent one revokes the family."""
    family_id, secret = split_refresh_token(token)
    now = c.wall_clock.now()
    family = SessionItem.get_or_none(f"SESSION#{family_id}", SessionItem.SK)
    if family is None or family.revoked or family.expires_at <= now:
        raise InvalidToken()
    presented = hash_refresh_secret(secret)
    if not hmac.compare_digest(presented, family.secret_hash):
        family.update(actions=[SessionItem.revoked.set(True)])
        raise RefreshTokenReused()
    member = load_member(family.member_id)
    if member is None or member.status in (MemberStatus.CLOSED, MemberStatus.PENDING):
        raise InvalidToken()
    new_token = new_refresh_token(family_id)
    _, new_secret = split_refresh_token(new_token)
    expires = now + timedelta(seconds=c.rules.sessions.refresh_ttl_s)
    uow = c.uow()
    uow.update(
        family,
        actions=[
            SessionItem.secret_hash.set(hash_refresh_secret(new_secret)),
            SessionItem.generation.add(1),
            SessionItem.expires_at.set(expires),
            SessionItem.ttl.set(epoch(expires + timedelta(days=1))),
        ],
        condition=(SessionItem.secret_hash == presented) & (SessionItem.revoked == False),  # noqa: E712
        on_fail=RefreshTokenReused(),
    )
    try:
        uow.commit()
    except RefreshTokenReused:
        # two uses of one token raced: the loser is a reuse, so the family goes
        family.update(actions=[SessionItem.revoked.set(True)])
        raise
    access = c.tokens.issue(
        Principal(member.member_id, "member", member_roles(member), session=family_id),
        now,
        c.rules.sessions.access_ttl_s,
    )
    return access, new_token


# --- staff ------------------------------------------------------------------------------------------
def staff_login(c: Container, phone_raw: str, code: str, totp: str) -> StaffSession:
    phone = identity.normalize_phone(phone_raw)
    index = otp.phone_index(c, phone)
    code_item = prove_number(c, index, OtpPurpose.STAFF, code)
    staff = staff_by_phone(index)
    if staff is None or not staff.active:
        raise InvalidCode()
    now = c.wall_clock.now()
    step = _totp_step(c, staff, totp, now)
    uow = c.uow()
    otp.consume(uow, code_item)
    uow.update(
        staff,
        actions=[StaffItem.last_totp_step.set(step)],
        condition=StaffItem.last_totp_step < step,
        on_fail=InvalidTotp(),
    )
    uow.commit()
    roles = frozenset(staff.roles or ())
    access = c.tokens.issue(
        Principal(staff.staff_id, "staff", roles, epoch=staff.session_epoch),
        now,
        c.rules.sessions.staff_access_ttl_s,
    )
    return StaffSession(staff.staff_id, access, roles)


def staff_by_phone(index: str) -> StaffItem | None:
    link = StaffPhoneItem.get_or_none(f"STAFFPHONE#{index}", StaffPhoneItem.SK)
    return link and StaffItem.get_or_none(f"STAFF#{link.staff_id}", StaffItem.SK)


def _totp_step(c: Container, staff: StaffItem, presented: str, now: datetime) -> int:
    """The time step the presented TOTP belongs to (one step of drift), never one used before."""
    totp = pyotp.TOTP(c.cipher.decrypt(staff.totp_enc, field="totp"))
    presented = presented.strip()
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if step > staff.last_totp_step and hmac.compare_digest(totp.generate_otp(step), presented):
            return step
    raise InvalidTotp()


# --- the token on every request, and logout -----------------------------------------------------------
def current_principal(c: Container, presented: Principal) -> Principal:
    """The principal of a verified access token as the table says it is now, or
    ``InvalidToken``: one GetItem for staff (the account), two for members (the session
    family and the account). Roles come from the account, so they are never staler than
    the token says."""
    if presented.expires <= int(c.wall_clock.now().timestamp()):
        # API Gateway may serve a cached Allow for a token that has since expired
        raise InvalidToken("The access token has expired.")
    if presented.kind == "staff":
        staff = StaffItem.get_or_none(f"STAFF#{presented.subject}", StaffItem.SK)
        if staff is None or not staff.active or staff.session_epoch != presented.epoch:
            raise InvalidToken()
        return replace(presented, roles=frozenset(staff.roles or ()))
    family = SessionItem.get_or_none(f"SESSION#{presented.session}", SessionItem.SK)
    if family is None or family.revoked or family.member_id != presented.subject:
        raise InvalidToken()
    member = load_member(presented.subject)
    # a frozen member still signs in and reads (README "Frozen members"); closed is gone
    if member is None or member.status not in LIVE_STATUSES:
        raise InvalidToken()
    return replace(presented, roles=member_roles(member))


def member_logout(c: Container, principal: Principal) -> None:
    """Revoke the session family of this token: its refresh token and every access token
    issued from it are refused from now on. Other devices stay signed in."""
    uow = c.uow()
    uow.update(
        SessionItem(pk=f"SESSION#{principal.session}", sk=SessionItem.SK),
        [SessionItem.revoked.set(True)],
        condition=SessionItem.pk.exists(),
        on_fail=InvalidToken(),
    )
    uow.commit()


def staff_logout(c: Container, principal: Principal) -> None:
    """Raise the account's session epoch: every access token of this staff member, on
    every device, is refused from now on (staff have no refresh token to revoke)."""
    staff = StaffItem.get_or_none(f"STAFF#{principal.subject}", StaffItem.SK)
    if staff is None:
        raise InvalidToken()
    uow = c.uow()
    uow.update(staff, [StaffItem.session_epoch.add(1)])
    audit(uow, c, principal, "staff.logout", "staff", staff.staff_id, None, None, None)
    uow.commit()
