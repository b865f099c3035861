"""The second staff member's step on an approval request (``/v1/admin/approvals``):
approve (the adjustment is applied in the same transaction as the request's change of
state), reject, or cancel by the requester; plus the queues staff read.

Guard twice: the domain refuses a request that is not pending, has lapsed, or is the
approver's own, and the write repeats all three as its condition, so two approvers
racing on one request apply it once and the other gets the precise 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..adapters.dynamodb.approvals import ApprovalItem, approval_key, queue_key
from ..adapters.dynamodb.base import iso
from ..adapters.dynamodb.pagination import Page, query_page
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain.approvals import ApprovalRequest, ApprovalStatus
from ..domain.errors import ConcurrentUpdate, NotFound
from .adjustments import AIBI, POINTS, apply_adjustment, require_role
from .common import audit, fingerprint, once_per_key, remember
from .duties import refuse_own_account
from .members import require_member

# Decision: points are corrected by ops, so finance may be the second pair of eyes on
# them too; aibi is money, and only finance (or an admin) approves it.
APPROVE_ROLES = {POINTS: frozenset({"ops", "finance", "admin"}), AIBI: frozenset({"finance", "admin"})}


class ApprovalNotFound(NotFound):
    """No approval request has this id."""

    code = "not_found"
    default_message = "No such approval request."


@dataclass(frozen=True)
class ApprovalView:
    approval_id: str
    kind: str
    member_id: str
    points: int | None
    amount_fen: int | None
    reason: str
    status: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    balance_after: int | None


def _request(item: ApprovalItem) -> ApprovalRequest:
    return ApprovalRequest(item.requested_by, ApprovalStatus(item.status), item.expires_at)


def _view(item: ApprovalItem, now: datetime) -> ApprovalView:
    amount = int(item.amount)
    outcome = item.outcome or {}
    return ApprovalView(
        approval_id=item.approval_id,
        kind=item.kind,
        member_id=item.member_id,
        points=amount if item.kind == POINTS else None,
        amount_fen=amount if item.kind == AIBI else None,
        reason=item.reason,
        status=_request(item).status_at(now).value,
        requested_by=item.requested_by,
        requested_at=item.requested_at,
        expires_at=item.expires_at,
        decided_by=item.decided_by,
        decided_at=item.decided_at,
        decision_reason=item.decision_reason,
        balance_after=outcome.get("balance_after"),
    )


def _jsonable(view: ApprovalView) -> dict[str, Any]:
    return {k: (iso(v) if isinstance(v, datetime) else v) for k, v in vars(view).items()}


def _load(approval_id: str) -> ApprovalItem:
    item = ApprovalItem.get_or_none(*approval_key(approval_id))
    if item is None:
        raise ApprovalNotFound()
    return item


def get(c: Container, approval_id: str) -> ApprovalView:
    return _view(_load(approval_id), c.now())


def queue(c: Container, status: str, limit: int, cursor: str | None) -> Page[ApprovalView]:
    """Requests in ``status``, newest first. A lapsed request is still written pending:
    live and lapsed ones are the two sides of ``now`` in the pending queue."""
    now = c.now()
    stored = ApprovalStatus.PENDING.value if status == ApprovalStatus.EXPIRED.value else status
    condition = None
    if stored == ApprovalStatus.PENDING.value:
        cutoff = f"{iso(now)}#~"  # after every id of a request lapsing exactly now (it has lapsed)
        live = status == ApprovalStatus.PENDING.value
        condition = ApprovalItem.gsi3sk > cutoff if live else ApprovalItem.gsi3sk < cutoff
    return query_page(
        ApprovalItem.queue,
        queue_key(stored),
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        range_key_condition=condition,
        newest_first=True,
        convert=lambda item: _view(item, now),
    )


def decide(
    c: Container, actor: Principal, approval_id: str, action: str, reason: str | None, key: str | None
) -> ApprovalView:
    """``approve``, ``reject`` or ``cancel`` a pending request, once; audited."""
    print_ = fingerprint({"action": action, "reason": reason})
    scope = f"approval-decision#{approval_id}"

    def attempt() -> dict[str, Any]:
        item = _load(approval_id)
        if action != "cancel":
            require_role(actor, item.kind, APPROVE_ROLES, "Deciding on")
        now = c.now()
        target: ApprovalStatus = getattr(_request(item), action)(actor.subject, now)
        uow = c.uow()
        outcome = None
        if target is ApprovalStatus.APPROVED:
            refuse_own_account(actor, require_member(item.member_id))
            outcome = apply_adjustment(
                uow, c, actor, item.kind, item.member_id, int(item.amount), approval_id, item.reason
            )
        still = (ApprovalItem.status == ApprovalStatus.PENDING.value) & (ApprovalItem.expires_at > now)
        if action == "cancel":
            still &= ApprovalItem.requested_by == actor.subject
        else:
            still &= ApprovalItem.requested_by != actor.subject
        actions = [
            ApprovalItem.status.set(target.value),
            ApprovalItem.decided_by.set(actor.subject),
            ApprovalItem.decided_at.set(now),
            ApprovalItem.gsi3pk.set(queue_key(target.value)),
        ]
        if reason:
            actions.append(ApprovalItem.decision_reason.set(reason))
        if outcome:
            actions.append(ApprovalItem.outcome.set(outcome))
        uow.update(
            item,
            actions,
            condition=still,
            # someone else decided first, or the request lapsed: the retry reads it and says which
            on_fail=ConcurrentUpdate(),
        )
        audit(
            uow,
            c,
            actor,
            f"approval.{action}",
            "approval",
            approval_id,
            reason,
            {"status": ApprovalStatus.PENDING.value},
            {
                "status": target.value,
                "kind": item.kind,
                "member_id": item.member_id,
                "amount": int(item.amount),
                "requested_by": item.requested_by,
                "balance_after": outcome["balance_after"] if outcome else None,
            },
        )
        item.status, item.decided_by, item.decided_at = target.value, actor.subject, now
        item.decision_reason, item.outcome = reason, outcome
        view = _jsonable(_view(item, now))
        if key:
            remember(uow, c, scope, key, print_, view)
        uow.commit()
        return view

    stored = once_per_key(scope, key, print_, attempt)
    return ApprovalView(
        **{
            **stored,
            "requested_at": datetime.fromisoformat(stored["requested_at"]),
            "expires_at": datetime.fromisoformat(stored["expires_at"]),
            "decided_at": datetime.fromisoformat(stored["decided_at"]) if stored["decided_at"] else None,
        }
    )
