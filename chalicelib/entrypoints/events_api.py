"""``POST /v1/events``: signed events from trusted systems (API.md "Signed events"); the
types, their bodies, handlers, scopes and errors are declared in ``signed_events``."""

from __future__ import annotations

from chalice import Blueprint

from ..domain.signing import InvalidSignature, MissingScope
from ..service_layer import earning, events
from . import schemas as s
from .access import signed
from .http import Call, endpoint
from .signatures import check_signature
from .signed_events import BY_TYPE, ERRORS, SignedEvent

events_api = Blueprint(__name__)


@endpoint(
    events_api,
    "/v1/events",
    "POST",
    moves=("points", "stock"),
    tag="events",
    access=signed(),
    status=202,
    body=SignedEvent,
    response=s.EventAccepted,
    verify=check_signature,
    summary="Receive a signed event (scope events:<type>; idempotent by event_id per key)",
    errors=(InvalidSignature, MissingScope, events.EventIdReused, *ERRORS),
)
def receive(call: Call) -> s.EventAccepted:
    event = call.body.root
    declared = BY_TYPE[event.type]
    assert call.integration_key is not None
    call.integration_key.require(declared.scope)
    incoming = earning.IncomingEvent(
        event_id=event.event_id,
        type=event.type,
        member_id=event.member_id,
        occurred_at=event.occurred_at,
        data=event.data.model_dump(),
    )
    return s.EventAccepted(status=events.receive(call.c, call.integration_key.key_id, incoming, declared.handler))
