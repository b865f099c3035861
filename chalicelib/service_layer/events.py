"""Receiving signed events: verified, deduplicated by (key id, ``event_id``), applied atomically.

The whole effect of an event (points, pending points, order, consumption, caps, the
event's idempotency record) is one transaction: a retry of the same event returns
``duplicate`` and writes nothing; the same ``event_id`` with another body is refused.
Event ids are the integrator's own, so each key has its own namespace of them: the game
server's ``e-1`` is not the shop's ``e-1``.
"""

from __future__ import annotations

from datetime import UTC
from typing import Protocol

from ..adapters.dynamodb.identity import MemberItem
from ..adapters.dynamodb.uow import UnitOfWork
from ..adapters.observability import count
from ..bootstrap import Container
from ..domain.errors import Conflict
from ..domain.holds import HoldState
from . import mall
from .common import LEDGER_ATTEMPTS, fingerprint, idempotent, remember
from .earning import IncomingEvent, check_occurred_at, live_member


class EventIdReused(Conflict):
    """This event id was already used for a different event."""

    code = "event_id_reused"
    default_message = "This event_id was already used for a different event."


class SignedEventHandler(Protocol):
    """What one type of signed event does: its writes go to the caller's unit of work."""

    def __call__(self, uow: UnitOfWork, c: Container, member: MemberItem, event: IncomingEvent) -> None: ...


def capture_mall_payment(uow: UnitOfWork, c: Container, member: MemberItem, event: IncomingEvent) -> None:
    """``payment.succeeded``: the shop took the cash part of a mall checkout; its held points are spent."""
    mall.resolve_order(uow, c, str(event.data["order_id"]), member.member_id, HoldState.POSTED, c.now())


def release_mall_payment(uow: UnitOfWork, c: Container, member: MemberItem, event: IncomingEvent) -> None:
    """``payment.failed``: the checkout's held points and its stock are released."""
    mall.resolve_order(uow, c, str(event.data["order_id"]), member.member_id, HoldState.VOIDED, c.now())


def receive(c: Container, key_id: str, event: IncomingEvent, handler: SignedEventHandler) -> str:
    """``"accepted"`` the first time ``key_id`` sends this event, ``"duplicate"`` for a retry;
    ``handler`` is what the event's type does (``entrypoints.signed_events``)."""
    scope = f"event#{key_id}"  # key ids have no "#" (domain.signing), so this cannot collide
    print_ = fingerprint(
        {
            "type": event.type,
            "member_id": event.member_id,
            # the same instant written with another offset is the same event
            "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
            "data": event.data,
        }
    )

    def attempt() -> dict[str, str]:
        check_occurred_at(c, event.occurred_at)
        uow = c.uow()
        handler(uow, c, live_member(event.member_id), event)
        remember(uow, c, scope, event.event_id, print_, {"status": "accepted"})
        uow.commit()
        return {"status": "accepted"}

    outcome, replayed = idempotent(
        scope, event.event_id, print_, attempt, reused=EventIdReused, attempts=LEDGER_ATTEMPTS
    )
    count("EventsDuplicate" if replayed else "EventsAccepted")
    return "duplicate" if replayed else outcome["status"]
