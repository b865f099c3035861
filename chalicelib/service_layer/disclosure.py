"""Audited reveals: personal data shown in clear to the staff member who must check it
(a review's submission, the payout account a withdrawal is paid to).

The audit entry (who, when, whose, why; never the values) commits before anything is
decrypted, in one transaction with a check that what is about to be shown is still
stored as it was read, so no reveal goes unrecorded and none records something else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..adapters.dynamodb.uow import UnitOfWork
from ..adapters.tokens import Principal
from ..bootstrap import Container
from .common import audit


def record_reveal(
    c: Container,
    actor: Principal,
    action: str,
    target_type: str,
    target_id: str,
    reason: str,
    still_stored: Callable[[UnitOfWork], None],
    facts: dict[str, Any],
) -> None:
    """Commit the audit entry of a reveal; ``still_stored`` adds the check of the item read
    (a failed check without its own error is a race that the caller's retry re-reads).
    ``facts`` go to the entry's ``after``: states and ids, never the revealed values."""
    uow = c.uow()
    still_stored(uow)
    audit(uow, c, actor, action, target_type, target_id, reason, None, facts)
    uow.commit()
