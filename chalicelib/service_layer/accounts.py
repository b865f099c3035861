"""What the points account and the aibi wallet share: read once per unit of work, change
many times in memory, write once as a version-guarded balance item plus one immutable
ledger entry per change (sort key ``<prefix><version>#<n>``, so a ledger reads in exactly
the order its balance changed).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pynamodb.models import Model

from ..adapters.dynamodb.uow import UnitOfWork
from ..domain.errors import ConcurrentUpdate


class VersionedAccount[Entry](ABC):
    balance_model: type[Model]

    def __init__(self, member_id: str, item: Any | None) -> None:
        self.member_id = member_id
        self._exists = item is not None
        self._version = int(item.version) if item is not None else 0
        self._entries: list[Entry] = []

    @property
    def changed(self) -> bool:
        return bool(self._entries)

    @abstractmethod
    def _balance_item(self, version: int) -> Model:
        """The whole balance item as it is after this unit of work's changes."""

    @abstractmethod
    def _entry_item(self, version: int, number: int, entry: Entry) -> Model:
        """The ledger entry for one change."""

    def flush(self, uow: UnitOfWork) -> None:
        if not self._entries:
            return
        version = self._version + 1
        model = self.balance_model
        guard = (model.version == self._version) if self._exists else model.pk.does_not_exist()
        uow.put(self._balance_item(version), condition=guard, on_fail=ConcurrentUpdate())
        for number, entry in enumerate(self._entries):
            uow.put(self._entry_item(version, number, entry))
        self._entries = []
        self._exists, self._version = True, version
