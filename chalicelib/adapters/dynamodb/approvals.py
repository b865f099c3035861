"""Approval requests (separation of duties) and what one staff member changed alone today."""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from .base import BaseItem, gsi, iso


class ApprovalItem(BaseItem):
    """``APPROVAL#<id>`` / ``APPROVAL``: a change that waits for a second staff member.

    status: pending -> approved | rejected | cancelled (a lapsed pending request stays
    written as pending and reads expired). gsi3: ``APPROVALQ#<status>`` /
    ``<expires_at>#<id>``: the queues, newest first; live and lapsed pending requests
    are the two sides of ``now`` in the pending queue.
    """

    SK = "APPROVAL"
    approval_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # points | aibi
    member_id = UnicodeAttribute()
    amount = NumberAttribute()  # points or fen, signed
    reason = UnicodeAttribute()
    status = UnicodeAttribute()
    requested_by = UnicodeAttribute()
    requested_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    decided_by = UnicodeAttribute(null=True)
    decided_at = UTCDateTimeAttribute(null=True)
    decision_reason = UnicodeAttribute(null=True)
    outcome = JSONAttribute(null=True)  # what the approval applied
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    queue = gsi(3)()


def approval_key(approval_id: str) -> tuple[str, str]:
    return f"APPROVAL#{approval_id}", ApprovalItem.SK


def queue_key(status: str) -> str:
    return f"APPROVALQ#{status}"


def queue_sort_key(expires_at: datetime, approval_id: str) -> str:
    return f"{iso(expires_at)}#{approval_id}"


class StaffAllowanceItem(BaseItem):
    """``STAFF#<id>`` / ``ALLOWANCE#<kind>#<day>``: how much (points or fen, absolute) a
    staff member adjusted alone that day, against the four-eyes threshold."""

    used = NumberAttribute(default=0)


def allowance_key(staff_id: str, kind: str, day: str) -> tuple[str, str]:
    return f"STAFF#{staff_id}", f"ALLOWANCE#{kind}#{day}"
