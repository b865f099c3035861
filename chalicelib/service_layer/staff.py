"""Staff operations on members and on staff accounts, and reading the audit log.

Every action here is audited in the same transaction as the change (RULES.md 6.5).
A change of a staff account's roles or of its active state raises its session epoch,
which refuses every access token issued before from the next request on
(``sessions.current_principal``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyotp
from ulid import ULID

from ..adapters.dynamodb.base import iso
from ..adapters.dynamodb.common import AuditItem
from ..adapters.dynamodb.identity import MemberItem, StaffItem, StaffPhoneItem
from ..adapters.dynamodb.pagination import Page, query_page
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain import identity
from ..domain.calendar import local_date
from ..domain.errors import Conflict, Forbidden, InvalidState, NotFound
from ..domain.identity import MemberStatus, StaffRole
from . import otp
from .common import audit, retrying
from .members import require_member

SYSTEM = Principal("system", "staff", frozenset())


@dataclass(frozen=True)
class StaffCreated:
    staff_id: str
    roles: frozenset[str]
    totp_uri: str


class StaffPhoneTaken(Conflict):
    """A staff account with this phone exists."""

    code = "staff_exists"
    default_message = "A staff account with this number exists."


# --- freeze --------------------------------------------------------------------------------------
def set_frozen(c: Container, actor: Principal, member_id: str, frozen: bool, reason: str) -> str:
    source, target = (
        (MemberStatus.ACTIVE, MemberStatus.FROZEN) if frozen else (MemberStatus.FROZEN, MemberStatus.ACTIVE)
    )

    def attempt() -> str:
        member = require_member(member_id)
        if member.status != source:
            raise InvalidState(f"The member is {member.status}, not {source.value}.")
        uow = c.uow()
        uow.update(
            member, [MemberItem.status.set(target.value)], condition=MemberItem.status == source.value, versioned=True
        )
        audit(
            uow,
            c,
            actor,
            "member.freeze" if frozen else "member.unfreeze",
            "member",
            member_id,
            reason,
            {"status": source.value},
            {"status": target.value},
        )
        uow.commit()
        return target.value

    return retrying(attempt)


# --- staff accounts --------------------------------------------------------------------------------
def create_staff(
    c: Container,
    actor: Principal,
    phone_raw: str,
    roles: set[str],
    name: str | None,
    totp_secret: str | None = None,
) -> StaffCreated:
    roles = {StaffRole(role).value for role in roles}
    phone = identity.normalize_phone(phone_raw)
    name = identity.validate_person_name(name) if name and name.strip() else None
    index = otp.phone_index(c, phone)
    secret = totp_secret or pyotp.random_base32()
    staff_id = str(ULID())
    now = c.now()
    uow = c.uow()
    uow.put(
        StaffPhoneItem(pk=f"STAFFPHONE#{index}", sk=StaffPhoneItem.SK, staff_id=staff_id),
        condition=StaffPhoneItem.pk.does_not_exist(),
        on_fail=StaffPhoneTaken(),
    )
    uow.put(
        StaffItem(
            pk=f"STAFF#{staff_id}",
            sk=StaffItem.SK,
            staff_id=staff_id,
            phone_enc=c.cipher.encrypt(phone, field="phone"),
            phone_index=index,
            name_enc=c.cipher.encrypt(name, field="name") if name else None,
            roles=roles,
            totp_enc=c.cipher.encrypt(secret, field="totp"),
            last_totp_step=0,
            active=True,
            session_epoch=0,
            created_at=now,
            gsi3pk=StaffItem.LIST,
            gsi3sk=f"{iso(now)}#{staff_id}",
        )
    )
    audit(
        uow,
        c,
        actor,
        "staff.create",
        "staff",
        staff_id,
        None,
        None,
        {"roles": sorted(roles), "phone": identity.mask_phone(phone)},
    )
    uow.commit()
    uri = pyotp.TOTP(secret).provisioning_uri(name=identity.mask_phone(phone), issuer_name="member-points")
    return StaffCreated(staff_id, frozenset(roles), uri)


def set_staff_roles(c: Container, actor: Principal, staff_id: str, roles: set[str], reason: str) -> frozenset[str]:
    """Replace the roles (an empty set leaves a signed-in account that can do nothing);
    the account's current tokens are refused from the next request on."""
    roles = {StaffRole(role).value for role in roles}
    if staff_id == actor.subject:
        # separation of duties: a grant to oneself needs a second admin (removing one's own
        # admin role would also leave the programme without one by accident)
        raise Forbidden("An admin cannot change their own roles; another admin can.")

    def attempt() -> frozenset[str]:
        staff = require_staff(staff_id)
        before = sorted(staff.roles or ())
        # DynamoDB stores no empty set: no roles is no attribute
        change = StaffItem.roles.set(roles) if roles else StaffItem.roles.remove()
        uow = c.uow()
        uow.update(staff, [change, StaffItem.session_epoch.add(1)], versioned=True)
        audit(uow, c, actor, "staff.roles", "staff", staff_id, reason, {"roles": before}, {"roles": sorted(roles)})
        uow.commit()
        return frozenset(roles)

    return retrying(attempt)


def set_staff_active(c: Container, actor: Principal, staff_id: str, active: bool, reason: str) -> StaffView:
    """Deactivate (no sign-in, every current token refused at once) or reactivate (the
    staff member signs in again; roles are kept)."""
    if staff_id == actor.subject:
        raise Forbidden("An admin cannot deactivate or reactivate their own account.")

    def attempt() -> StaffView:
        staff = require_staff(staff_id)
        if staff.active == active:
            raise InvalidState(f"The staff account is already {'active' if active else 'inactive'}.")
        uow = c.uow()
        uow.update(staff, [StaffItem.active.set(active), StaffItem.session_epoch.add(1)], versioned=True)
        audit(
            uow,
            c,
            actor,
            "staff.reactivate" if active else "staff.deactivate",
            "staff",
            staff_id,
            reason,
            {"active": not active},
            {"active": active},
        )
        uow.commit()
        staff.active = active
        return _staff_view(c, staff)

    return retrying(attempt)


def require_staff(staff_id: str) -> StaffItem:
    staff = StaffItem.get_or_none(f"STAFF#{staff_id}", StaffItem.SK)
    if staff is None:
        raise NotFound("No such staff account.")
    return staff


@dataclass(frozen=True)
class StaffView:
    staff_id: str
    phone: str  # masked
    name: str | None
    roles: frozenset[str]
    active: bool
    created_at: datetime


def _staff_view(c: Container, staff: StaffItem) -> StaffView:
    return StaffView(
        staff.staff_id,
        identity.mask_phone(c.cipher.decrypt(staff.phone_enc, field="phone")),
        c.cipher.decrypt(staff.name_enc, field="name") if staff.name_enc else None,
        frozenset(staff.roles or ()),
        staff.active,
        staff.created_at,
    )


def list_staff(c: Container, limit: int, cursor: str | None) -> Page[StaffView]:
    """Every staff account, active or not, oldest first."""
    return query_page(
        StaffItem.listing,
        StaffItem.LIST,
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        convert=lambda item: _staff_view(c, item),
    )


def ensure_local_admin(c: Container) -> None:
    """Local stage only: the admin of API.md "Local stage", created once."""
    if not c.settings.is_local or not c.settings.local_admin_phone:
        return
    with contextlib.suppress(StaffPhoneTaken):
        create_staff(
            c,
            SYSTEM,
            c.settings.local_admin_phone,
            {StaffRole.ADMIN.value},
            "local admin",
            totp_secret=c.settings.local_admin_totp_secret,
        )


# --- audit log -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditView:
    audit_id: str
    at: datetime
    actor_id: str
    actor_roles: list[str]
    action: str
    target_type: str
    target_id: str
    reason: str | None
    before: Any
    after: Any


def _audit_view(item: AuditItem) -> AuditView:
    return AuditView(
        item.audit_id,
        item.at,
        item.actor_id,
        sorted(item.actor_roles or ()),
        item.action,
        item.target_type,
        item.target_id,
        item.reason,
        item.before,
        item.after,
    )


def read_audit(
    c: Container, *, day: date | None, target_id: str | None, limit: int, cursor: str | None
) -> Page[AuditView]:
    """Newest first: one calendar day (Asia/Shanghai) of the log, or one target's history."""
    if target_id:
        return query_page(
            AuditItem.by_target,
            f"AUDITOF#{target_id}",
            cursors=c.cursors,
            limit=limit,
            cursor=cursor,
            newest_first=True,
            convert=_audit_view,
        )
    day = day or local_date(c.now())
    return query_page(
        AuditItem,
        f"AUDIT#{day.isoformat()}",
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        newest_first=True,
        convert=_audit_view,
    )
