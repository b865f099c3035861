"""Health, the OpenAPI document, and the local stage's SMS outbox."""

from __future__ import annotations

import functools

from chalice import Blueprint

from ..adapters.messaging import Outbox
from ..bootstrap import ShiftedClock
from ..domain import identity
from ..domain.errors import NotFound
from . import schemas as s
from .http import LOCAL_ONLY, PUBLIC, Call, endpoint
from .openapi import openapi_document

meta_api = Blueprint(__name__)
dev_api = Blueprint(__name__)
route = functools.partial(endpoint, meta_api, tag="meta", access=PUBLIC)


@route("/v1/health", "GET", summary="Liveness", response=s.Health)
def health(call: Call) -> s.Health:
    return s.Health(status="ok")


@route("/v1/openapi.json", "GET", summary="This API's OpenAPI 3 document")
def openapi(call: Call) -> dict[str, object]:
    return openapi_document(call.c.settings.public_base_url)


@endpoint(
    dev_api,
    "/v1/dev/sms",
    "GET",
    tag="local stage",
    access=LOCAL_ONLY,
    query=s.DevSmsQuery,
    response=s.DevSmsList,
    summary="Local stage only: SMS the system would have sent, oldest first",
)
def dev_sms(call: Call) -> s.DevSmsList:
    outbox = call.c.outbox
    if not call.c.settings.is_local or not isinstance(outbox, Outbox):
        raise NotFound()
    phone = identity.normalize_phone(call.query.phone)
    return s.DevSmsList(messages=[s.DevSms(to=m.to, text=m.text, sent_at=m.sent_at) for m in outbox.messages_to(phone)])


def _shifted(call: Call) -> ShiftedClock:
    if not call.c.settings.is_local or not isinstance(call.c.clock, ShiftedClock):
        raise NotFound()
    return call.c.clock


@endpoint(
    dev_api,
    "/v1/dev/clock",
    "GET",
    tag="local stage",
    access=LOCAL_ONLY,
    response=s.DevClock,
    summary="Local stage only: the business clock and the real one",
)
def dev_clock(call: Call) -> s.DevClock:
    clock = _shifted(call)
    return s.DevClock(now=clock.now(), wall_now=call.c.wall_clock.now())


@endpoint(
    dev_api,
    "/v1/dev/clock",
    "POST",
    tag="local stage",
    access=LOCAL_ONLY,
    body=s.DevClockRequest,
    response=s.DevClock,
    summary="Local stage only: move business time (a month end, a settlement day)",
)
def move_dev_clock(call: Call) -> s.DevClock:
    clock = _shifted(call)
    return s.DevClock(now=clock.move_to(call.body.now), wall_now=call.c.wall_clock.now())
