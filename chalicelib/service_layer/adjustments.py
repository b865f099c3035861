"""Staff corrections of a member's points or aibi (``POST /v1/admin/adjustments``).

A correction is a new ledger entry with its reason, never an edit; it is audited with
the balance before and after, and applied once per the caller's ``Idempotency-Key``
(required: a resubmitted correction without one would apply twice). What one staff member
may change alone is bounded (``ApprovalRules``): a correction that, with what the same
person already corrected alone that day, passes the threshold becomes an approval
request (``approvals``) and moves nothing until a second staff member approves it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ulid import ULID

from ..adapters.dynamodb.approvals import (
    ApprovalItem,
    StaffAllowanceItem,
    allowance_key,
    approval_key,
    queue_key,
    queue_sort_key,
)
from ..adapters.dynamodb.base import iso
from ..adapters.dynamodb.uow import UnitOfWork
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain.approvals import ApprovalStatus, needs_approval
from ..domain.calendar import local_date
from ..domain.errors import ConcurrentUpdate, Forbidden, InvalidRequest
from .common import audit, fingerprint, idempotent, remember
from .duties import refuse_own_account
from .members import require_member
from .points_ledger import MemberPoints
from .wallet import adjust_wallet

POINTS, AIBI = "points", "aibi"
REQUEST_ROLES = {POINTS: frozenset({"ops", "admin"}), AIBI: frozenset({"finance", "admin"})}


class AdjustmentNeedsKey(InvalidRequest):
    """A correction must carry an Idempotency-Key: a resubmitted one would apply twice."""

    code = "idempotency_key_required"
    default_message = "A correction needs an Idempotency-Key header (one per correction)."


def require_role(actor: Principal, kind: str, roles: dict[str, frozenset[str]], step: str) -> None:
    needed = roles[kind]
    if not needed & actor.roles:
        raise Forbidden(f"{step} {kind} needs one of: {', '.join(sorted(needed))}.")


def apply_adjustment(
    uow: UnitOfWork, c: Container, actor: Principal, kind: str, member_id: str, amount: int, ref: str, reason: str
) -> dict[str, Any]:
    """Write the correction into ``uow`` with its audit entry: the member's ledger entry
    (every guard of the ledger: balance not below zero, the account open) and the
    audited balance before and after. Shared by direct corrections and approvals."""
    if kind == POINTS:
        ledger = MemberPoints.of(uow, c, member_id)
        before = ledger.state.available
        ledger.adjust(amount, ref=ref, note=reason)
        after = ledger.state.available
    else:
        before, after = adjust_wallet(uow, c, member_id, amount, ref, reason)
    points, amount_fen = (amount, None) if kind == POINTS else (None, amount)
    audit(
        uow,
        c,
        actor,
        "adjustment",
        "member",
        member_id,
        reason,
        {"balance": before},
        {"balance": after, "points": points, "amount_fen": amount_fen, "ref": ref},
    )
    return {
        "adjustment_id": ref,
        "member_id": member_id,
        "points": points,
        "amount_fen": amount_fen,
        "balance_after": after,
    }


def threshold(c: Container, kind: str) -> int:
    rules = c.rules.approvals
    return rules.points_threshold if kind == POINTS else rules.aibi_threshold_fen


def take_allowance(uow: UnitOfWork, c: Container, actor: Principal, kind: str, amount: int) -> bool:
    """Count ``amount`` (either sign) against what ``actor`` may change alone today, in
    ``uow``; ``False`` (and nothing added) when it would pass the threshold."""
    limit = threshold(c, kind)
    key = allowance_key(actor.subject, kind, local_date(c.now()).isoformat())
    used_item = StaffAllowanceItem.get_or_none(*key)
    if needs_approval(amount, int(used_item.used) if used_item else 0, limit):
        return False
    # guard twice: a concurrent change by the same person cannot pass the allowance either
    uow.update(
        StaffAllowanceItem(pk=key[0], sk=key[1]),
        [StaffAllowanceItem.used.add(abs(amount))],
        condition=StaffAllowanceItem.used.does_not_exist() | (StaffAllowanceItem.used <= limit - abs(amount)),
        on_fail=ConcurrentUpdate(),
    )
    return True


def checked_change(actor: Principal, member_id: str, points: int | None, amount_fen: int | None) -> tuple[str, int]:
    """``(kind, amount)`` of a correction ``actor`` may ask for on ``member_id``."""
    if (points is None) == (amount_fen is None) or points == 0 or amount_fen == 0:
        raise InvalidRequest("Give exactly one of points or amount_fen, not zero.")
    kind = POINTS if points is not None else AIBI
    amount = points if points is not None else amount_fen
    assert amount is not None
    require_role(actor, kind, REQUEST_ROLES, "Adjusting")
    refuse_own_account(actor, require_member(member_id))
    return kind, amount


def write_adjustment(
    uow: UnitOfWork, c: Container, actor: Principal, kind: str, member_id: str, amount: int, reason: str
) -> dict[str, Any]:
    """Add a checked correction to ``uow``: applied within ``actor``'s allowance
    (``{"adjustment_id", ...}``), otherwise an approval request for a second staff member
    (``{"approval_id", "status": "pending"}``). Other use cases that correct a balance as
    part of their own change (a ticket resolved with an adjustment) write it here too."""
    if take_allowance(uow, c, actor, kind, amount):
        return apply_adjustment(uow, c, actor, kind, member_id, amount, str(ULID()), reason)
    # a change the account cannot take now (a debit beyond the balance) is refused
    # now, not after a second person's work: the same guards, in a unit of work never committed
    apply_adjustment(c.uow(), c, actor, kind, member_id, amount, "preflight", reason)
    return _request_approval(uow, c, actor, kind, member_id, amount, reason)


def adjust(
    c: Container,
    actor: Principal,
    member_id: str,
    *,
    points: int | None,
    amount_fen: int | None,
    reason: str,
    key: str | None,
) -> dict[str, Any]:
    """Apply a correction at once (``{"adjustment_id", ...}``) or, above what this staff
    member may change alone today, ask for a second person's approval
    (``{"approval_id", "status": "pending", ...}``); once per ``key`` either way."""
    kind, amount = checked_change(actor, member_id, points, amount_fen)
    if key is None:
        raise AdjustmentNeedsKey()
    print_ = fingerprint({"member_id": member_id, "points": points, "amount_fen": amount_fen, "reason": reason})

    def attempt() -> dict[str, Any]:
        uow = c.uow()
        outcome = write_adjustment(uow, c, actor, kind, member_id, amount, reason)
        remember(uow, c, f"adjustment#{actor.subject}", key, print_, outcome)
        uow.commit()
        return outcome

    return idempotent(f"adjustment#{actor.subject}", key, print_, attempt)[0]


def _request_approval(
    uow: UnitOfWork, c: Container, actor: Principal, kind: str, member_id: str, amount: int, reason: str
) -> dict[str, Any]:
    now = c.now()
    approval_id = str(ULID())
    expires_at = now + timedelta(seconds=c.rules.approvals.ttl_s)
    pk, sk = approval_key(approval_id)
    uow.put(
        ApprovalItem(
            pk=pk,
            sk=sk,
            approval_id=approval_id,
            kind=kind,
            member_id=member_id,
            amount=amount,
            reason=reason,
            status=ApprovalStatus.PENDING.value,
            requested_by=actor.subject,
            requested_at=now,
            expires_at=expires_at,
            gsi3pk=queue_key(ApprovalStatus.PENDING.value),
            gsi3sk=queue_sort_key(expires_at, approval_id),
        ),
        condition=ApprovalItem.pk.does_not_exist(),
    )
    audit(
        uow,
        c,
        actor,
        "approval.request",
        "approval",
        approval_id,
        reason,
        {"status": None},
        {"status": "pending", "kind": kind, "member_id": member_id, "amount": amount, "expires_at": iso(expires_at)},
    )
    return {"approval_id": approval_id, "status": ApprovalStatus.PENDING.value}
