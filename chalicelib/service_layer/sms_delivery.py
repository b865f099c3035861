"""The SMS worker's use case: one queued message becomes at most one SMS, in time.

The code-request path queues every code, and a decoy for a number that may not use one
(``service_layer.otp``); here each message is decrypted and becomes what its disposition
says: a decoy is dropped, a code past its lifetime is dropped, a code is sent once
through the provider. A provider failure raises ``SendLater`` so that the queue delivers
the message again (after its visibility timeout; the dead-letter queue after three).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from ulid import ULID

from ..adapters.dynamodb import messaging as markers
from ..adapters.dynamodb.uow import UnitOfWork
from ..adapters.messaging import SmsNotSent
from ..adapters.observability import count, logger
from ..adapters.queues import DeliverAgain
from ..bootstrap import Container
from ..domain.sms import QUEUED_SMS_FIELD, Disposition, QueuedSms, templates_by_name

# how long one delivery may hold a message before a redelivery may take it over: more
# than a send takes (the provider answers or times out within 5 s), less than the queue's
# visibility timeout (infra/api.yaml SmsQueue), so the redelivery of a worker that died
# finds the claim expired
CLAIM_HOLD = timedelta(seconds=30)


class SendLater(DeliverAgain):
    """Not delivered now; the queue is to deliver the message again."""


def deliver(c: Container, body: str) -> None:
    queued = QueuedSms.from_json(c.cipher.decrypt(body, field=QUEUED_SMS_FIELD), templates_by_name(c.rules.otp))
    now = c.wall_clock.now()  # a code's lifetime is security time, as when it was issued
    disposition = queued.disposition(now)
    if disposition is Disposition.DECOY:
        return
    if disposition is Disposition.EXPIRED:
        logger.warning("sms expired before sending", extra={"message_id": queued.id})
        count("SmsExpired")
        return
    claim_id = str(ULID())
    uow = c.uow()
    try:
        markers.claim(uow, queued.id, claim_id, now, CLAIM_HOLD)
        uow.commit()
    except markers.AlreadySent:  # SQS delivered it twice: an earlier delivery sent it
        return
    except markers.ClaimHeld:
        raise SendLater("another delivery of this message holds it") from None
    try:
        c.sms.send(queued.sms, now)
    except SmsNotSent as failure:
        refused = {"provider_code": failure.provider_code, "template": queued.sms.template.name}
        logger.warning("sms not sent", extra={**refused, "message_id": queued.id})
        count("SmsFailed")
        _settle(c, lambda uow: markers.release(uow, queued.id, claim_id))
        raise SendLater(failure.provider_code) from None
    _settle(c, lambda uow: markers.mark_sent(uow, queued.id, claim_id, now))
    count("SmsSent")


def _settle(c: Container, write: Callable[[UnitOfWork], None]) -> None:
    """Release or close our claim. A delivery that took the claim over after it expired
    owns the marker now and settles it itself."""
    uow = c.uow()
    write(uow)
    try:
        uow.commit()
    except markers.ClaimHeld:
        logger.warning("sms claim taken over by a redelivery")
