"""Admin corrections of a referral binding (RULES.md 2): with a reason, audited, cycle
safe. A correction changes the tree from now on; a settled period keeps the tree it was
settled with (its input snapshot), so a correction never reaches back into it.
"""

from __future__ import annotations

from ..adapters.dynamodb.identity import MemberItem
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain.errors import ReferralCycle, SelfReferral
from .common import audit, retrying
from .members import ancestors, require_member
from .sessions import check_referrer_live, children_keys, resolve_referrer


def correct_referrer(c: Container, actor: Principal, member_id: str, code: str | None, reason: str) -> str | None:
    """Bind ``member_id`` to the member with ``code`` (or to nobody); the new referrer id."""

    def attempt() -> str | None:
        member = require_member(member_id)
        before = member.referrer_id
        uow = c.uow()
        if code is None:
            actions = [
                MemberItem.referrer_id.remove(),
                MemberItem.referrer_bound_at.remove(),
                MemberItem.bound_via.remove(),
                MemberItem.gsi1pk.remove(),
                MemberItem.gsi1sk.remove(),
            ]
            after = None
        else:
            referrer = resolve_referrer(code)
            if referrer.member_id == member_id:
                raise SelfReferral()
            chain = [referrer, *ancestors(referrer.member_id)]
            if any(node.member_id == member_id for node in chain):
                raise ReferralCycle()
            gsi1pk, gsi1sk = children_keys(referrer.member_id, member)
            actions = [
                MemberItem.referrer_id.set(referrer.member_id),
                MemberItem.referrer_bound_at.set(c.now()),
                MemberItem.bound_via.set("admin"),
                MemberItem.gsi1pk.set(gsi1pk),
                MemberItem.gsi1sk.set(gsi1sk),
            ]
            # the root of the new chain must still be a root: otherwise re-check for a cycle
            root = chain[-1]
            uow.check(MemberItem, root.pk, MemberItem.SK, MemberItem.referrer_id.does_not_exist())
            if root.member_id != referrer.member_id:
                check_referrer_live(uow, referrer)
            after = referrer.member_id
        guard = MemberItem.referrer_id.does_not_exist() if before is None else MemberItem.referrer_id == before
        uow.update(member, actions, condition=guard, versioned=True)
        audit(
            uow,
            c,
            actor,
            "member.referrer",
            "member",
            member_id,
            reason,
            {"referrer_id": before},
            {"referrer_id": after},
        )
        uow.commit()
        return after

    return retrying(attempt)
