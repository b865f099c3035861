"""Staff routes for identity: reviews, freeze, staff accounts, the audit log; adjustments and
their approval requests (separation of duties)."""

from __future__ import annotations

import functools

from chalice import Blueprint

from ..domain import errors as e
from ..domain.approvals import (
    ApprovalAlreadyApproved,
    ApprovalAlreadyCancelled,
    ApprovalAlreadyRejected,
    ApprovalExpired,
    FourEyesRequired,
    NotRequester,
    OwnAccount,
)
from ..service_layer import adjustments, approvals, guides, red_packets, referral_corrections, reviews, staff
from ..service_layer.reviews import ReviewKind
from . import schemas as s
from .access import staff as staff_access
from .authorizer import bearer
from .http import Answer, Call, endpoint
from .member_api import review_out

admin_api = Blueprint(__name__)
route = functools.partial(endpoint, admin_api, tag="staff", authorizer=bearer)

OPS = staff_access("ops", "admin")
ADMIN = staff_access("admin")
AUDIT_READERS = staff_access("admin", "auditor")
# the service checks the role each kind of change needs (ops points, finance aibi)
STAFF = staff_access("ops", "finance", "admin")
_KINDS = {"kyc": ReviewKind.KYC, "nutritionists": ReviewKind.NUTRITIONIST}
_REVEALED: dict[ReviewKind, type[s.KycRevealed] | type[s.CertificateRevealed]] = {
    ReviewKind.KYC: s.KycRevealed,
    ReviewKind.NUTRITIONIST: s.CertificateRevealed,
}


def _decide(call: Call, kind: ReviewKind, member_id: str, approve: bool) -> s.Review:
    assert call.principal is not None
    body = call.body
    return review_out(reviews.decide(call.c, call.principal, kind, member_id, body.version, approve, body.reason))


for _plural, _kind in _KINDS.items():

    def _make(kind: ReviewKind, plural: str) -> None:
        @route(
            f"/v1/admin/{plural}/{{member_id}}/approve",
            "POST",
            # a certified nutritionist earns the certificate's points
            moves=("points",) if kind is ReviewKind.NUTRITIONIST else (),
            access=OPS,
            body=s.ReviewDecisionRequest,
            response=s.Review,
            summary=f"Approve the {kind.value} submission of the version read",
            errors=(e.NotFound, e.InvalidState, e.ReviewChanged, OwnAccount),
        )
        def approve(call: Call, member_id: str) -> s.Review:
            return _decide(call, kind, member_id, True)

        @route(
            f"/v1/admin/{plural}/{{member_id}}/reject",
            "POST",
            access=OPS,
            body=s.ReviewDecisionRequest,
            response=s.Review,
            summary=f"Reject the {kind.value} submission of the version read, with a reason",
            errors=(e.NotFound, e.InvalidState, e.ReviewChanged, OwnAccount),
        )
        def reject(call: Call, member_id: str) -> s.Review:
            return _decide(call, kind, member_id, False)

        @route(
            f"/v1/admin/{plural}/{{member_id}}",
            "GET",
            access=OPS,
            response=s.Review,
            summary=f"A member's {kind.value} submission, masked, with the version a decision must name",
            errors=(e.NotFound,),
        )
        def review(call: Call, member_id: str) -> s.Review:
            found = reviews.get_review(call.c, member_id, kind)
            if found is None:
                raise e.NotFound("Nothing was submitted.")
            return review_out(found)

        @route(
            f"/v1/admin/{plural}/{{member_id}}/reveal",
            "POST",
            access=OPS,
            body=s.ReasonRequest,
            response=_REVEALED[kind],
            summary=f"The pending {kind.value} submission unmasked, for checking it; audited with the reason",
            errors=(e.NotFound, e.InvalidState),
        )
        def reveal(call: Call, member_id: str) -> s.KycRevealed | s.CertificateRevealed:
            assert call.principal is not None
            r = reviews.reveal(call.c, call.principal, kind, member_id, call.body.reason)
            return _REVEALED[kind](member_id=r.member_id, version=r.version, submitted_at=r.submitted_at, **r.details)

        @route(
            f"/v1/admin/{plural}",
            "GET",
            access=OPS,
            query=s.ListQuery,
            response=s.ReviewList,
            summary=f"Pending {kind.value} submissions, oldest first, with the version each decision must name",
        )
        def pending(call: Call) -> s.ReviewList:
            page = reviews.pending(call.c, kind, call.query.limit, call.query.cursor)
            return s.ReviewList(reviews=[review_out(r) for r in page.items], next_cursor=page.next_cursor)

    _make(_kind, _plural)


@route(
    "/v1/admin/members/{member_id}/freeze",
    "POST",
    access=OPS,
    body=s.ReasonRequest,
    response=s.MemberStatusOut,
    summary="Freeze a member: no earning, spending, exchange or withdrawal",
    errors=(e.NotFound, e.InvalidState),
)
def freeze(call: Call, member_id: str) -> s.MemberStatusOut:
    assert call.principal is not None
    status = staff.set_frozen(call.c, call.principal, member_id, True, call.body.reason)
    return s.MemberStatusOut(member_id=member_id, status=status)


@route(
    "/v1/admin/members/{member_id}/unfreeze",
    "POST",
    access=OPS,
    body=s.ReasonRequest,
    response=s.MemberStatusOut,
    summary="Unfreeze a member",
    errors=(e.NotFound, e.InvalidState),
)
def unfreeze(call: Call, member_id: str) -> s.MemberStatusOut:
    assert call.principal is not None
    status = staff.set_frozen(call.c, call.principal, member_id, False, call.body.reason)
    return s.MemberStatusOut(member_id=member_id, status=status)


@route(
    "/v1/admin/staff",
    "POST",
    access=ADMIN,
    status=201,
    body=s.StaffCreateRequest,
    response=s.StaffCreated,
    summary="Create a staff account (admin grants roles); returns the TOTP enrolment URI once",
    errors=(e.InvalidPhone, e.InvalidName, e.Conflict),
)
def create_staff(call: Call) -> s.StaffCreated:
    assert call.principal is not None
    created = staff.create_staff(call.c, call.principal, call.body.phone, set(call.body.roles), call.body.name)
    return s.StaffCreated(staff_id=created.staff_id, roles=sorted(created.roles), totp_uri=created.totp_uri)


@route(
    "/v1/admin/staff/{staff_id}/roles",
    "PUT",
    access=ADMIN,
    body=s.StaffRolesRequest,
    response=s.StaffRolesOut,
    summary="Replace a staff account's roles (may be empty); their current tokens are refused at once",
    errors=(e.NotFound, e.Forbidden),
)
def set_roles(call: Call, staff_id: str) -> s.StaffRolesOut:
    assert call.principal is not None
    roles = staff.set_staff_roles(call.c, call.principal, staff_id, set(call.body.roles), call.body.reason)
    return s.StaffRolesOut(staff_id=staff_id, roles=sorted(roles))


@route(
    "/v1/admin/staff",
    "GET",
    access=ADMIN,
    query=s.ListQuery,
    response=s.StaffList,
    summary="Every staff account, active or not, oldest first; phones masked",
)
def list_staff(call: Call) -> s.StaffList:
    page = staff.list_staff(call.c, call.query.limit, call.query.cursor)
    return s.StaffList(staff=[_staff_out(view) for view in page.items], next_cursor=page.next_cursor)


def _staff_out(view: staff.StaffView) -> s.StaffOut:
    return s.StaffOut(
        staff_id=view.staff_id,
        phone=view.phone,
        name=view.name,
        roles=sorted(view.roles),
        active=view.active,
        created_at=view.created_at,
    )


def _set_active(call: Call, staff_id: str, active: bool) -> s.StaffOut:
    assert call.principal is not None
    return _staff_out(staff.set_staff_active(call.c, call.principal, staff_id, active, call.body.reason))


@route(
    "/v1/admin/staff/{staff_id}/deactivate",
    "POST",
    access=ADMIN,
    body=s.ReasonRequest,
    response=s.StaffOut,
    summary="Deactivate a staff account with a reason: no sign-in, current tokens refused at once",
    errors=(e.NotFound, e.Forbidden, e.InvalidState),
)
def deactivate_staff(call: Call, staff_id: str) -> s.StaffOut:
    return _set_active(call, staff_id, False)


@route(
    "/v1/admin/staff/{staff_id}/reactivate",
    "POST",
    access=ADMIN,
    body=s.ReasonRequest,
    response=s.StaffOut,
    summary="Reactivate a staff account with a reason (roles kept; the staff member signs in again)",
    errors=(e.NotFound, e.Forbidden, e.InvalidState),
)
def reactivate_staff(call: Call, staff_id: str) -> s.StaffOut:
    return _set_active(call, staff_id, True)


@route(
    "/v1/admin/audit",
    "GET",
    access=AUDIT_READERS,
    query=s.AuditQuery,
    response=s.AuditList,
    summary="The audit log, newest first: one day (Asia/Shanghai) or one target's history",
)
def read_audit(call: Call) -> s.AuditList:
    q = call.query
    page = staff.read_audit(call.c, day=q.day, target_id=q.target_id, limit=q.limit, cursor=q.cursor)
    return s.AuditList(entries=[s.AuditEntry(**vars(entry)) for entry in page.items], next_cursor=page.next_cursor)


@route(
    "/v1/admin/adjustments",
    "POST",
    moves=("points", "aibi"),
    access=STAFF,
    status=201,
    also=((202, s.AdjustmentPending),),
    body=s.AdjustmentRequest,
    response=s.Adjusted,
    idempotent=True,
    key_required=True,
    summary="Correct a member's points (ops) or aibi (finance) with a reason; a new ledger entry, audited, "
    "once per Idempotency-Key (required). "
    "Above what one person may change alone a day: 202, an approval request for a second staff member",
    errors=(e.NotFound, e.Forbidden, OwnAccount, e.RuleViolation, adjustments.AdjustmentNeedsKey),
)
def adjust(call: Call) -> s.Adjusted | Answer:
    assert call.principal is not None
    body = call.body
    outcome = adjustments.adjust(
        call.c,
        call.principal,
        body.member_id,
        points=body.points,
        amount_fen=body.amount_fen,
        reason=body.reason,
        key=call.idempotency_key(),
    )
    if "approval_id" in outcome:
        return Answer(202, s.AdjustmentPending(**outcome))
    return s.Adjusted(**outcome)


def _approval_out(view: approvals.ApprovalView) -> s.Approval:
    return s.Approval(**vars(view))


@route(
    "/v1/admin/approvals",
    "GET",
    access=STAFF,
    query=s.ApprovalQuery,
    response=s.ApprovalList,
    summary="Approval requests in one status (default pending), newest first",
)
def list_approvals(call: Call) -> s.ApprovalList:
    q = call.query
    page = approvals.queue(call.c, q.status, q.limit, q.cursor)
    return s.ApprovalList(approvals=[_approval_out(v) for v in page.items], next_cursor=page.next_cursor)


@route(
    "/v1/admin/approvals/{approval_id}",
    "GET",
    access=STAFF,
    response=s.Approval,
    summary="One approval request and where it stands",
    errors=(approvals.ApprovalNotFound,),
)
def get_approval(call: Call, approval_id: str) -> s.Approval:
    return _approval_out(approvals.get(call.c, approval_id))


_DECISION_ERRORS = (
    approvals.ApprovalNotFound,
    e.Forbidden,
    FourEyesRequired,
    OwnAccount,
    NotRequester,
    ApprovalAlreadyApproved,
    ApprovalAlreadyRejected,
    ApprovalAlreadyCancelled,
    ApprovalExpired,
)


def _decide_approval(call: Call, approval_id: str, action: str) -> s.Approval:
    assert call.principal is not None
    reason = call.body.reason
    view = approvals.decide(call.c, call.principal, approval_id, action, reason, call.idempotency_key())
    return _approval_out(view)


@route(
    "/v1/admin/approvals/{approval_id}/approve",
    "POST",
    moves=("points", "aibi"),
    access=STAFF,
    body=s.DecisionRequest,
    response=s.Approval,
    idempotent=True,
    summary="Approve another staff member's request: its change is applied in the same write, with every guard",
    errors=(*_DECISION_ERRORS, e.RuleViolation),
)
def approve_request(call: Call, approval_id: str) -> s.Approval:
    return _decide_approval(call, approval_id, "approve")


@route(
    "/v1/admin/approvals/{approval_id}/reject",
    "POST",
    access=STAFF,
    body=s.ReasonRequest,
    response=s.Approval,
    idempotent=True,
    summary="Reject another staff member's request with a reason; nothing moves",
    errors=_DECISION_ERRORS,
)
def reject_request(call: Call, approval_id: str) -> s.Approval:
    return _decide_approval(call, approval_id, "reject")


@route(
    "/v1/admin/approvals/{approval_id}/cancel",
    "POST",
    access=STAFF,
    body=s.DecisionRequest,
    response=s.Approval,
    idempotent=True,
    summary="Cancel one's own pending request; nothing moves",
    errors=_DECISION_ERRORS,
)
def cancel_request(call: Call, approval_id: str) -> s.Approval:
    return _decide_approval(call, approval_id, "cancel")


@route(
    "/v1/admin/nutritionists/{member_id}/assessment",
    "POST",
    access=OPS,
    body=s.AssessmentRequest,
    response=s.GuideOut,
    summary="Record a nutritionist's lecture assessment (passed, excellent, outstanding)",
    errors=(e.NotFound, e.InvalidState),
)
def record_assessment(call: Call, member_id: str) -> s.GuideOut:
    assert call.principal is not None
    result = guides.record_assessment(call.c, call.principal, member_id, call.body.result, call.body.reason)
    return s.GuideOut(member_id=member_id, assessment=result)


@route(
    "/v1/admin/nutritionists/{member_id}/tier",
    "POST",
    access=OPS,
    body=s.TierRequest,
    response=s.GuideOut,
    summary="Lower a guide tier with a reason (evaluation raises tiers; only ops lower them)",
    errors=(e.NotFound, e.InvalidState),
)
def lower_tier(call: Call, member_id: str) -> s.GuideOut:
    assert call.principal is not None
    tier = guides.lower_tier(call.c, call.principal, member_id, call.body.tier, call.body.reason)
    return s.GuideOut(member_id=member_id, guide_tier=tier)


@route(
    "/v1/admin/members/{member_id}/referrer",
    "POST",
    access=ADMIN,
    body=s.ReferrerCorrection,
    response=s.ReferrerCorrected,
    summary="Correct a member's referral binding (admin only, with a reason)",
    errors=(e.NotFound, e.UnknownReferrer, e.SelfReferral, e.ReferralCycle, e.ConcurrentUpdate),
)
def correct_referrer(call: Call, member_id: str) -> s.ReferrerCorrected:
    assert call.principal is not None
    after = referral_corrections.correct_referrer(call.c, call.principal, member_id, call.body.code, call.body.reason)
    return s.ReferrerCorrected(member_id=member_id, referrer_id=after)


@route(
    "/v1/admin/red-packets",
    "POST",
    moves=("points",),
    access=OPS,
    body=s.RedPacketRequest,
    response=s.RedPacketReport,
    summary="Grant a red packet of points to all members, a birth-month audience or a list (once per member)",
    errors=(red_packets.InvalidAudience, e.RuleViolation, FourEyesRequired),
)
def grant_red_packet(call: Call) -> s.RedPacketReport:
    assert call.principal is not None
    b = call.body
    audience = red_packets.Audience(b.audience.kind, b.audience.month, tuple(b.audience.member_ids or ()))
    return s.RedPacketReport(
        **red_packets.grant(call.c, call.principal, b.campaign_id, b.points, audience, b.reason, b.dry_run)
    )
