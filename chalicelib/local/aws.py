"""Embedded AWS for the local stage and the tests: moto in memory, resources created.

Three things make moto behave like the real services for this code base:
- moto's DynamoDB backend is not thread-safe, while DynamoDB serialises conflicting
  writes and transactions. ``serialise_moto_calls`` puts one lock around every call
  moto answers, so concurrent requests in the local server and in the concurrency
  tests see atomic conditional writes and transactions, as they would in AWS.
- moto backs up every table a ``TransactWriteItems`` names, by deep copy, before it
  applies the transaction: each transaction costs time in proportion to the whole
  table, and the local stage got slower with every write (350 ms an event after 100
  events, 670 ms after 200). ``item_level_transaction_backup`` backs up only the items
  the transaction touches, with the same rollback.
- the stage's resources are created from the same definitions production uses: the
  table from ``infra/template.yaml`` (see ``schema``), a KMS key under the stage's
  alias and the application secrets. SMS and ops alerts go to an in-memory outbox
  (``adapters.messaging.Outbox``) instead of SNS.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

from ..config import Settings
from . import schema

_moto_lock = threading.RLock()
_patched = False


def serialise_moto_calls() -> None:
    global _patched
    if _patched:
        return
    original = BotocoreStubber.process_request

    def locked(self: BotocoreStubber, request: Any) -> Any:
        with _moto_lock:
            return original(self, request)

    BotocoreStubber.process_request = locked  # type: ignore[method-assign]
    item_level_transaction_backup()
    _patched = True


class _CopyKeepingTables:
    """``copy`` as moto's DynamoDB backend module sees it: a deep copy of a whole table
    (only its transaction backup makes one) hands back the table itself."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _touched_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """``(table, hash, range, deep copy of the item or None)`` for every item a transaction names."""
    touched = []
    for entry in transact_items:
        try:
            _, operation = next(iter(entry.items()))
            table = backend.get_table(operation["TableName"])
            key = operation["Item"] if "Item" in operation else operation["Key"]
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        except Exception:  # a malformed operation: moto refuses it before writing anything for it
            continue
        touched.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
    return touched


def item_level_transaction_backup() -> None:
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        touched = _touched_items(self, transact_items)
        try:
            return original(self, transact_items)
        except Exception:
            # moto's own rollback put back the very table it had written to; undo the writes
            for table, hash_value, range_value, item in reversed(touched):
                if item is None:
                    table.delete_item(hash_value, range_value)
                elif range_value is not None:
                    table.items[hash_value][range_value] = item
                else:
                    table.items[hash_value] = item
            raise

    dynamodb_models.copy = _CopyKeepingTables()  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def fake_credentials(region: str) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }.items():
        os.environ[name] = value


@dataclass
class EmbeddedAws:
    """A started moto with the stage's resources; ``stop()`` forgets everything."""

    settings: Settings
    _mock: Any = None
    integration_keys: dict[str, str] | None = None

    def start(self) -> EmbeddedAws:
        fake_credentials(self.settings.region)
        serialise_moto_calls()
        self._mock = mock_aws()
        self._mock.start()
        self._create_resources()
        return self

    def stop(self) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.settings.region)

    def _create_resources(self) -> None:
        kms = self.client("kms")
        key_id = kms.create_key(Description="local data key")["KeyMetadata"]["KeyId"]
        if self.settings.data_key_id.startswith("alias/"):
            kms.create_alias(AliasName=self.settings.data_key_id, TargetKeyId=key_id)
        schema.create_table(self.client("dynamodb"), self.settings.table_name, key_id)
        sm = self.client("secretsmanager")
        sm.create_secret(
            Name=self.settings.app_secret_id,
            SecretString=json.dumps({"key_version": "1", "master_key": secrets.token_urlsafe(48)}),
        )
        keys = {}
        if self.settings.local_integration_key_id:
            keys[self.settings.local_integration_key_id] = self.settings.local_integration_secret
        self.integration_keys = keys
        sm.create_secret(Name=self.settings.integration_keys_secret_id, SecretString=json.dumps(keys))
