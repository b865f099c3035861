"""Embedded AWS for the local stage and the tests: moto in memory, resources created.

Two things make moto behave like the real services for this code base:
- moto's DynamoDB backend is not thread-safe, while DynamoDB serialises conflicting
  writes and transactions. ``serialise_moto_calls`` puts one lock around every call
  moto answers, so concurrent requests in the local server and in the concurrency
  tests see atomic conditional writes and transactions, as they would in AWS.
- the stage's resources are created from the same definitions production uses: the
  table from ``infra/template.yaml`` (see ``schema``), a KMS key under the stage's
  alias, the application secrets and the settlement snapshot bucket. SMS and ops alerts go to an in-memory outbox
  (``adapters.messaging.Outbox``) instead of SNS. The queues of ``infra/api.yaml`` are
  created and drained into the workers' handlers by ``queues.LocalQueues``.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import threading
from dataclasses import dataclass, replace
from typing import Any

import boto3
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from ..config import Settings
from . import queues as local_queues
from . import schema

_moto_lock = threading.RLock()
_patched = False
_sessions: dict[str, Any] = {}
_clients: dict[tuple[str, str], Any] = {}


def shared_session(region: str) -> Any:
    """One boto3 session per process: creating clients from it reuses the loaded service
    models (a fresh session re-reads them from disk, the slowest part of a test set-up).
    Its clients stay valid across ``mock_aws`` starts and stops."""
    if region not in _sessions:
        _sessions[region] = boto3.session.Session(region_name=region)
    return _sessions[region]


def serialise_moto_calls() -> None:
    global _patched
    if _patched:
        return
    original = BotocoreStubber.process_request

    def locked(self: BotocoreStubber, request: Any) -> Any:
        with _moto_lock:
            return original(self, request)

    BotocoreStubber.process_request = locked  # type: ignore[method-assign]
    _patched = True


class _KeepTables:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend: a Table is not
    copied (``fast_transactions`` backs up the touched items instead)."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def fast_transactions() -> None:
    """moto backs a transaction up by deep-copying the whole table once per item, which
    makes every write slower as the table grows. Back up only the items the transaction
    touches and restore them if it is cancelled: the same all-or-nothing outcome (under
    the lock of ``serialise_moto_calls``), at the cost of the transaction's own size."""
    from moto.dynamodb import models as ddb

    if getattr(ddb.DynamoDBBackend.transact_write_items, "_fast", False):
        return
    original = ddb.DynamoDBBackend.transact_write_items
    ddb.copy = _KeepTables  # type: ignore[attr-defined]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            name = op.get("TableName")
            if name not in self.tables:
                continue
            table = self.tables[name]
            if "Item" in op:
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op.get("Key", {})
            try:
                current = self.get_item(name, key)
            except Exception:  # moto validates the request itself below
                continue
            backups.append((name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
        try:
            return original(self, transact_items)
        except Exception:
            for name, key, before in reversed(backups):
                if before is None:
                    self.delete_item(name, key)
                else:
                    self.put_item(name, before)
            raise

    transact_write_items._fast = True  # type: ignore[attr-defined]
    ddb.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


_symmetric_rsa: Any = None


def reuse_rsa_material_of_symmetric_keys() -> None:
    """moto draws a 2048-bit RSA key pair for every KMS key, even a symmetric one, which
    never uses it; drawing it took about a third of a fresh stack's start. Symmetric keys
    now share one pair; asymmetric keys still get their own."""
    from moto.kms import models as kms_models

    if getattr(kms_models.generate_private_key, "shares_symmetric_material", False):
        return
    original = kms_models.generate_private_key

    def generate(key_spec: str) -> Any:
        global _symmetric_rsa
        if key_spec != "SYMMETRIC_DEFAULT":
            return original(key_spec)
        with _moto_lock:
            if _symmetric_rsa is None:
                _symmetric_rsa = original(key_spec)
            return _symmetric_rsa

    generate.shares_symmetric_material = True  # type: ignore[attr-defined]
    kms_models.generate_private_key = generate


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
    integration_keys: dict[str, dict[str, list[str]]] | None = None
    queues: local_queues.LocalQueues | None = None

    def start(self) -> EmbeddedAws:
        fake_credentials(self.settings.region)
        serialise_moto_calls()
        fast_transactions()
        reuse_rsa_material_of_symmetric_keys()
        self._mock = mock_aws()
        self._mock.start()
        self._create_resources()
        return self

    def stop(self) -> None:
        if self.queues is not None:
            self.queues.stop()
            local_queues.install(None)
            self.queues = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    @property
    def session(self) -> Any:
        return shared_session(self.settings.region)

    def client(self, service: str) -> Any:
        key = (self.settings.region, service)
        if key not in _clients:
            _clients[key] = self.session.client(service)
        return _clients[key]

    def _create_resources(self) -> None:
        kms = self.client("kms")
        key_id = kms.create_key(Description="local data key")["KeyMetadata"]["KeyId"]
        if self.settings.data_key_id.startswith("alias/"):
            kms.create_alias(AliasName=self.settings.data_key_id, TargetKeyId=key_id)
        schema.create_table(self.client("dynamodb"), self.settings.table_name, key_id)
        self.queues = local_queues.LocalQueues(self.client("sqs"), self.settings.stage, self.settings.region)
        variables = self.queues.create(key_id)
        # the template hands the functions their queues' URLs (SMS_QUEUE_URL -> sms_queue_url)
        self.settings = replace(self.settings, **{name.lower(): url for name, url in variables.items()})
        local_queues.install(self.queues)
        sm = self.client("secretsmanager")
        sm.create_secret(
            Name=self.settings.app_secret_id,
            SecretString=json.dumps({"key_version": "1", "master_key": secrets.token_urlsafe(48)}),
        )
        keys = {}
        if self.settings.local_integration_key_id:
            keys[self.settings.local_integration_key_id] = {
                "secrets": [self.settings.local_integration_secret],
                "scopes": ["events:*", "shop:*"],
            }
        if self.settings.local_game_key_id:
            keys[self.settings.local_game_key_id] = {
                "secrets": [self.settings.local_game_secret],
                "scopes": ["events:challenge.won"],
            }
        self.integration_keys = keys
        sm.create_secret(Name=self.settings.integration_keys_secret_id, SecretString=json.dumps(keys))
        self.client("s3").create_bucket(
            Bucket=self.settings.snapshot_bucket,
            CreateBucketConfiguration={"LocationConstraint": self.settings.region},
        )
