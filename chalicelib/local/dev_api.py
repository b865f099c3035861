"""The local stage's own routes (API.md "Local stage"): the SMS outbox and the business
clock. They live in the local package, so they are declared only where the local runner
or the tests import it: no deployed function has them, whatever its configuration."""

from __future__ import annotations

from chalice import Blueprint, Chalice

from ..adapters.messaging import Outbox
from ..bootstrap import ShiftedClock
from ..domain import identity
from ..domain.errors import NotFound
from ..entrypoints import schemas as s
from ..entrypoints.access import LOCAL_ONLY
from ..entrypoints.http import Call, endpoint

dev_api = Blueprint(__name__)


def register(app: Chalice) -> None:
    """Add the local routes to the app once (the tests start many local stages in one process)."""
    if "/v1/dev/sms" not in app.routes:
        app.register_blueprint(dev_api)


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
