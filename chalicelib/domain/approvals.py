"""Separation of duties: a second staff member's approval of a money-moving request.

An approval request is two-phase, like a hold, but it reserves nothing: the change it
asks for (a large adjustment of points or aibi) is applied, with every guard a direct
change has, only in the transaction that approves it. It is ``pending`` until it is
``approved`` (the change applied), ``rejected`` by another staff member, ``cancelled``
by its requester, or ``expired``: a request lapses at its ``expires_at`` and reads
expired from then on without anyone writing it (checked lazily). Each way a second
resolution can fail has its own error, and nobody approves or rejects their own
request (``four_eyes_required``).

Not ``holds.resolve``: a hold's states say where an amount went (posted, voided), an
approval's say who decided, and every transition here is taken by a named person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .errors import Conflict, Forbidden


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class FourEyesRequired(Forbidden):
    """The same person cannot take both steps (request and approve, approve and pay, start and approve)."""

    code = "four_eyes_required"
    default_message = "A second staff member must take this step."


class OwnAccount(Forbidden):
    """Staff cannot act on a member account registered with their own phone number."""

    code = "own_account"
    default_message = "You cannot act on an account registered with your own phone number."


class NotRequester(Forbidden):
    """Only the staff member who asked may cancel a request."""

    code = "not_requester"
    default_message = "Only the requester can cancel this request."


class ApprovalNotPending(Conflict):
    """The request is no longer pending."""

    code = "approval_not_pending"


class ApprovalAlreadyApproved(ApprovalNotPending):
    """The request was already approved and its change applied."""

    code = "already_approved"
    default_message = "This request was already approved."


class ApprovalAlreadyRejected(ApprovalNotPending):
    """The request was already rejected."""

    code = "already_rejected"
    default_message = "This request was already rejected."


class ApprovalAlreadyCancelled(ApprovalNotPending):
    """The requester already cancelled the request."""

    code = "already_cancelled"
    default_message = "This request was cancelled by its requester."


class ApprovalExpired(ApprovalNotPending):
    """Nobody approved the request in time; it changed nothing."""

    code = "approval_expired"
    default_message = "This request expired without approval; ask again."


_ERRORS: dict[ApprovalStatus, type[ApprovalNotPending]] = {
    ApprovalStatus.APPROVED: ApprovalAlreadyApproved,
    ApprovalStatus.REJECTED: ApprovalAlreadyRejected,
    ApprovalStatus.CANCELLED: ApprovalAlreadyCancelled,
    ApprovalStatus.EXPIRED: ApprovalExpired,
}


def require_second_person(first: str | None, by: str) -> None:
    """``by`` may take the second step only if someone else took the first."""
    if first is not None and first == by:
        raise FourEyesRequired()


@dataclass(frozen=True)
class ApprovalRequest:
    requested_by: str
    status: ApprovalStatus
    expires_at: datetime

    def status_at(self, now: datetime) -> ApprovalStatus:
        """The status as of ``now``: a pending request past its deadline has expired."""
        if self.status is ApprovalStatus.PENDING and now >= self.expires_at:
            return ApprovalStatus.EXPIRED
        return self.status

    def _pending(self, now: datetime) -> None:
        current = self.status_at(now)
        if current is not ApprovalStatus.PENDING:
            raise _ERRORS[current]()

    def approve(self, by: str, now: datetime) -> ApprovalStatus:
        self._pending(now)
        require_second_person(self.requested_by, by)
        return ApprovalStatus.APPROVED

    def reject(self, by: str, now: datetime) -> ApprovalStatus:
        # the requester withdraws their own request by cancelling it: a rejection is a
        # second person's decision, and the audit log tells the two apart
        self._pending(now)
        require_second_person(self.requested_by, by)
        return ApprovalStatus.REJECTED

    def cancel(self, by: str, now: datetime) -> ApprovalStatus:
        self._pending(now)
        if by != self.requested_by:
            raise NotRequester()
        return ApprovalStatus.CANCELLED


def needs_approval(amount: int, used_today: int, threshold: int) -> bool:
    """Whether a change of ``amount`` (points or fen, either sign) needs a second person:
    when it, with what the same staff member already changed alone today, passes the
    threshold. Splitting a large change into small ones therefore does not avoid it."""
    return used_today + abs(amount) > threshold
