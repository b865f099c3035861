"""The embedded DynamoDB's transactions: all or nothing, as in AWS, with the local stage's
item-level backup instead of moto's whole-table copy (``chalicelib.local.aws``)."""

from __future__ import annotations

import time

import pytest

from chalicelib.adapters.dynamodb.points import CapItem, OnceItem
from chalicelib.domain.errors import Conflict


class Refused(Conflict):
    """The test's own failing condition."""


def test_a_cancelled_transaction_leaves_every_item_as_it_was(stack):
    CapItem(pk="T#1", sk="CAP#a", used=5).save()
    CapItem(pk="T#1", sk="CAP#b", used=7).save()
    uow = stack.uow()
    uow.put(OnceItem(pk="T#1", sk="ONCE#new", rule="r", created_at=stack.now()))
    uow.update(CapItem(pk="T#1", sk="CAP#a"), [CapItem.used.add(1)])
    uow.delete(CapItem(pk="T#1", sk="CAP#b"))
    uow.update(CapItem(pk="T#1", sk="CAP#c"), [CapItem.used.add(1)])  # would create an item
    uow.check(CapItem, "T#1", "CAP#missing", CapItem.pk.exists(), on_fail=Refused())

    with pytest.raises(Refused):
        uow.commit()

    assert OnceItem.get_or_none("T#1", "ONCE#new") is None
    assert int(CapItem.get("T#1", "CAP#a").used) == 5
    assert int(CapItem.get("T#1", "CAP#b").used) == 7
    assert CapItem.get_or_none("T#1", "CAP#c") is None


def test_a_transaction_that_passes_writes_everything(stack):
    CapItem(pk="T#2", sk="CAP#a", used=5).save()
    uow = stack.uow()
    uow.put(OnceItem(pk="T#2", sk="ONCE#new", rule="r", created_at=stack.now()))
    uow.update(CapItem(pk="T#2", sk="CAP#a"), [CapItem.used.add(1)], condition=CapItem.used == 5)
    uow.commit()
    assert OnceItem.get_or_none("T#2", "ONCE#new") is not None
    assert int(CapItem.get("T#2", "CAP#a").used) == 6


def test_a_transaction_costs_the_same_in_a_big_table(stack):
    def one_transaction(number: int) -> float:
        started = time.perf_counter()
        uow = stack.uow()
        uow.update(CapItem(pk="T#3", sk=f"CAP#{number}"), [CapItem.used.add(1)])
        uow.put(OnceItem(pk="T#3", sk=f"ONCE#{number}", rule="r", created_at=stack.now()))
        uow.commit()
        return time.perf_counter() - started

    small = min(one_transaction(n) for n in range(5))
    with CapItem.batch_write() as batch:
        for number in range(3_000):
            batch.save(CapItem(pk=f"T#fill{number % 50}", sk=f"CAP#{number}", used=number))
    big = min(one_transaction(n) for n in range(5, 10))
    # a copy of 3,000 items took ~1 s a transaction; an item-level backup stays in milliseconds
    assert big < small * 5 + 0.05, (small, big)
