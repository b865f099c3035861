"""``POST /v1/events``: signed events from trusted systems (API.md "Signed events")."""

from __future__ import annotations

from chalice import Blueprint

from ..domain import errors as e
from ..domain.signing import InvalidSignature, MissingScope, event_scope
from ..service_layer import earning, events
from . import schemas as s
from .access import signed
from .http import Call, endpoint
from .signatures import check_signature

events_api = Blueprint(__name__)


@endpoint(
    events_api,
    "/v1/events",
    "POST",
    tag="events",
    access=signed(),
    status=202,
    body=s.SignedEvent,
    response=s.EventAccepted,
    verify=check_signature,
    summary="Receive a signed event (scope events:<type>; idempotent by event_id per key)",
    errors=(
        InvalidSignature,
        MissingScope,
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
    assert call.integration_key is not None
    call.integration_key.require(event_scope(event.type))
    incoming = earning.IncomingEvent(
        event_id=event.event_id,
        type=event.type,
        member_id=event.member_id,
        occurred_at=event.occurred_at,
        data=event.data.model_dump(),
    )
    return s.EventAccepted(status=events.receive(call.c, call.integration_key.key_id, incoming))
