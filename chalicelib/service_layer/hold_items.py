"""Recording a two-phase hold's resolution on its item (mall orders, shop aibi payments):
the new state, when, and out of the expiry queue, only if it was still pending."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..adapters.dynamodb.uow import UnitOfWork
from ..domain.errors import ConcurrentUpdate
from ..domain.holds import HoldState


def close_hold(uow: UnitOfWork, item: Any, target: HoldState, now: datetime) -> None:
    model = type(item)
    uow.update(
        item,
        [model.state.set(target.value), model.resolved_at.set(now), model.gsi3pk.remove(), model.gsi3sk.remove()],
        condition=model.state == HoldState.PENDING.value,
        on_fail=ConcurrentUpdate(),
    )
