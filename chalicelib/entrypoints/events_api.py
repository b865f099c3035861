"""``POST /v1/events``: signed events from trusted systems (API.md "Signed events")."""

from __future__ import annotations

from chalice import Blueprint

from ..domain import errors as e
from ..domain.signing import InvalidSignature, verify
from ..service_layer import earning, events
from . import schemas as s
from .access import SIGNED
from .http import Call, endpoint

events_api = Blueprint(__name__)


def check_signature(call: Call) -> None:
    verify(
        call.c.integration_keys(),
        call.header("x-integration-key"),
        call.header("x-timestamp"),
        call.header("x-signature"),
        call.request.raw_body or b"",
        call.c.wall_clock.now(),  # the peer signs with its real clock
    )


@endpoint(
    events_api,
    "/v1/events",
    "POST",
    tag="events",
    access=SIGNED,
    status=202,
    body=s.SignedEvent,
    response=s.EventAccepted,
    verify=check_signature,
    summary="Receive a signed event (HMAC-SHA256 over timestamp.body; idempotent by event_id)",
    errors=(
        InvalidSignature,
        events.EventIdReused,
        earning.UnknownMember,
        earning.OccurredAtOutOfRange,
        earning.OrderExists,
        earning.UnknownOrder,
        earning.RefundExceedsPaid,
        earning.NotANutritionist,
        e.RuleViolation,
    ),
)
def receive(call: Call) -> s.EventAccepted:
    event = call.body.root
    incoming = earning.IncomingEvent(
        event_id=event.event_id,
        type=event.type,
        member_id=event.member_id,
        occurred_at=event.occurred_at,
        data=event.data.model_dump(),
    )
    return s.EventAccepted(status=events.receive(call.c, incoming))
