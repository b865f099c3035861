"""Staff corrections of a member's points or aibi (``POST /v1/admin/adjustments``).

A correction is a new ledger entry with its reason, never an edit; it is audited with
the balance before and after, and idempotent by the caller's key.
"""

from __future__ import annotations

from typing import Any

from ulid import ULID

from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain.errors import Forbidden, InvalidRequest
from .common import audit, fingerprint, once_per_key, remember
from .members import require_member
from .points_ledger import MemberPoints
from .wallet import adjust_wallet

POINTS_ROLES = frozenset({"ops", "admin"})
MONEY_ROLES = frozenset({"finance", "admin"})


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
    if (points is None) == (amount_fen is None) or points == 0 or amount_fen == 0:
        raise InvalidRequest("Give exactly one of points or amount_fen, not zero.")
    needed = POINTS_ROLES if points is not None else MONEY_ROLES
    if not needed & actor.roles:
        raise Forbidden(
            f"Adjusting {'points' if points is not None else 'aibi'} needs one of: {', '.join(sorted(needed))}."
        )
    require_member(member_id)
    adjustment_id = str(ULID())
    print_ = fingerprint({"member_id": member_id, "points": points, "amount_fen": amount_fen, "reason": reason})

    def attempt() -> dict[str, Any]:
        uow = c.uow()
        if points is not None:
            ledger = MemberPoints.of(uow, c, member_id)
            before = ledger.state.available
            ledger.adjust(points, ref=adjustment_id, note=reason)
            after = ledger.state.available
        else:
            before, after = adjust_wallet(uow, c, member_id, amount_fen or 0, adjustment_id, reason)
        outcome = {
            "adjustment_id": adjustment_id,
            "member_id": member_id,
            "points": points,
            "amount_fen": amount_fen,
            "balance_after": after,
        }
        audit(
            uow,
            c,
            actor,
            "adjustment",
            "member",
            member_id,
            reason,
            {"balance": before},
            {"balance": after, "points": points, "amount_fen": amount_fen},
        )
        if key:
            remember(uow, c, f"adjustment#{actor.subject}", key, print_, outcome)
        uow.commit()
        return outcome

    return once_per_key(f"adjustment#{actor.subject}", key, print_, attempt)
