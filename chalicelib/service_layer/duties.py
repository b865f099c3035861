"""Separation-of-duty checks the staff use cases share (README "Separation of duties")."""

from __future__ import annotations

from ..adapters.dynamodb.identity import MemberItem, StaffItem, staff_key
from ..adapters.tokens import Principal
from ..domain.approvals import OwnAccount


def refuse_own_account(actor: Principal, member: MemberItem) -> None:
    """Staff sign in with their phone; a member account with the same phone is theirs
    (both carry the same keyed blind index of the number), and nobody moves money or
    points into their own account or approves their own withdrawal."""
    staff = StaffItem.get_or_none(*staff_key(actor.subject))
    if staff is not None and member.phone_index is not None and staff.phone_index == member.phone_index:
        raise OwnAccount()
