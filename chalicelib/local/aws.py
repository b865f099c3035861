"""Embedded AWS for the local stage and the tests: moto in memory, resources created.

Two things make moto behave like the real services for this code base:
- moto's DynamoDB backend is not thread-safe, while DynamoDB serialises conflicting
  writes and transactions. ``serialise_moto_calls`` puts one lock around every call
  moto answers, so concurrent requests in the local server and in the concurrency
  tests see atomic conditional writes and transactions, as they would in AWS.
- the stage's resources are created from the same definitions production uses: the
  table from ``infra/template.yaml`` (see ``schema``), a KMS key under the stage's
  alias, the application secrets and the settlement snapshot bucket. SMS and ops alerts go to an in-memory outbox
  (``adapters.messaging.Outbox``) instead of SNS.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

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
    _back_up_each_table_once()
    _patched = True


def _back_up_each_table_once() -> None:
    """moto backs a transaction up by deep-copying the whole table once per item of the
    transaction, although the copies are all taken before any item is applied and so are
    identical; the cost grew with the table and dominated the tests. One copy per table
    and transaction is the same backup. (Calls are serialised, so swapping moto's ``copy``
    module for the duration of one call is safe.)"""
    import copy
    import types

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        copies: dict[int, Table] = {}

        def deepcopy(value: Any, memo: Any = None) -> Any:
            if isinstance(value, Table):
                if id(value) not in copies:
                    copies[id(value)] = copy.deepcopy(value, memo)
                return copies[id(value)]
            return copy.deepcopy(value, memo)

        models.copy = types.SimpleNamespace(deepcopy=deepcopy)  # type: ignore[attr-defined]
        try:
            return original(self, transact_items)
        finally:
            models.copy = copy  # type: ignore[attr-defined]

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


@functools.cache
def session(region: str) -> boto3.session.Session:
    """One boto3 session for every start of the stage in this process: a new session parses
    botocore's service and endpoint data again (most of the cost of starting the stage)."""
    return boto3.session.Session(region_name=region)


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
        return session(self.settings.region).client(service)

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
        self.client("s3").create_bucket(
            Bucket=self.settings.snapshot_bucket,
            CreateBucketConfiguration={"LocationConstraint": self.settings.region},
        )
