"""Receiving signed events: verified, deduplicated by ``event_id``, applied atomically.

The whole effect of an event (points, pending points, order, consumption, caps, the
event's idempotency record) is one transaction: a retry of the same event returns
``duplicate`` and writes nothing; the same ``event_id`` with another body is refused.
"""

from __future__ import annotations

from ..bootstrap import Container
from ..domain.errors import Conflict
from .common import LEDGER_ATTEMPTS, fingerprint, idempotent, remember
from .earning import IncomingEvent, apply_event, check_occurred_at


class EventIdReused(Conflict):
    """This event id was already used for a different event."""

    code = "event_id_reused"
    default_message = "This event_id was already used for a different event."


def receive(c: Container, event: IncomingEvent) -> str:
    """``"accepted"`` the first time, ``"duplicate"`` for a retry."""
    print_ = fingerprint(
        {
            "type": event.type,
            "member_id": event.member_id,
            "occurred_at": event.occurred_at.isoformat(),
            "data": event.data,
        }
    )

    def attempt() -> dict[str, str]:
        check_occurred_at(c, event.occurred_at)
        uow = c.uow()
        apply_event(uow, c, event)
        remember(uow, c, "event", event.event_id, print_, {"status": "accepted"})
        uow.commit()
        return {"status": "accepted"}

    outcome, replayed = idempotent(
        "event", event.event_id, print_, attempt, reused=EventIdReused, attempts=LEDGER_ATTEMPTS
    )
    return "duplicate" if replayed else outcome["status"]
