"""Delivery markers of the SMS worker: a queued message becomes at most one SMS.

SQS delivers a message at least once, and twice now and then. Before sending, the worker
claims the message's marker for a while (``claim``); once the provider took the SMS, the
marker says so for a day (``mark_sent``), so a second delivery is dropped. A provider
failure gives the claim back (``release``) for the retry; a worker that died holding a
claim loses it when ``claimed_until`` has passed, and the redelivered message is sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from .base import BaseItem, epoch
from .uow import UnitOfWork

CLAIMED, SENT = "claimed", "sent"


class SmsDeliveryItem(BaseItem):
    """``SMSDELIVERY#<message id>`` / ``DELIVERY``: who is sending a queued SMS, or that it went out."""

    SK = "DELIVERY"
    status = UnicodeAttribute()
    claim = UnicodeAttribute()  # the delivery attempt holding the marker
    claimed_until = UTCDateTimeAttribute()


class AlreadySent(Exception):
    """An earlier delivery of this message sent it."""


class ClaimHeld(Exception):
    """Another delivery of this message is sending it right now (or took the claim over)."""


def _key(message_id: str) -> tuple[str, str]:
    return f"SMSDELIVERY#{message_id}", SmsDeliveryItem.SK


def claim(uow: UnitOfWork, message_id: str, claim_id: str, now: datetime, hold: timedelta) -> None:
    """Take the marker unless the message was sent or another live claim holds it."""
    current = SmsDeliveryItem.get_or_none(*_key(message_id))
    if current is not None and current.status == SENT:
        raise AlreadySent()
    if current is not None and current.claimed_until > now:
        raise ClaimHeld()
    pk, sk = _key(message_id)
    free = SmsDeliveryItem.pk.does_not_exist() | (
        (SmsDeliveryItem.status == CLAIMED) & (SmsDeliveryItem.claimed_until <= now)
    )
    uow.put(
        SmsDeliveryItem(
            pk=pk, sk=sk, status=CLAIMED, claim=claim_id, claimed_until=now + hold, ttl=epoch(now + timedelta(days=1))
        ),
        condition=free,
        on_fail=ClaimHeld,
    )


def mark_sent(uow: UnitOfWork, message_id: str, claim_id: str, now: datetime) -> None:
    pk, sk = _key(message_id)
    uow.update(
        SmsDeliveryItem(pk=pk, sk=sk),
        actions=[SmsDeliveryItem.status.set(SENT), SmsDeliveryItem.ttl.set(epoch(now + timedelta(days=1)))],
        condition=SmsDeliveryItem.claim == claim_id,
        on_fail=ClaimHeld,
    )


def release(uow: UnitOfWork, message_id: str, claim_id: str) -> None:
    pk, sk = _key(message_id)
    uow.delete(SmsDeliveryItem(pk=pk, sk=sk), condition=SmsDeliveryItem.claim == claim_id, on_fail=ClaimHeld)
