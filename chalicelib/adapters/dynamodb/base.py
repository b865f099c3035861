"""The single table as PynamoDB sees it: the base item class, the three GSIs, key helpers.

Every entity is a ``BaseItem`` subclass over the same table (``pk``/``sk`` plus the
overloaded ``gsi1``..``gsi3`` keys and the ``ttl`` attribute); the physical table itself
is defined once, in ``infra/template.yaml``. Key prefixes are listed in the README's
access-pattern table.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from typing import Any, ClassVar

import botocore.loaders
import botocore.session
import pynamodb.connection.base
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

SHARDS = 16
# one DynamoDB call; PynamoDB and botocore retry it 3 times within these
CONNECT_TIMEOUT_S = 1
READ_TIMEOUT_S = 3

_LOADER = botocore.loaders.create_loader()


def _session_with_shared_loader() -> botocore.session.Session:
    """PynamoDB opens one botocore session per model class and per thread, and each new
    session parses the service and endpoint JSON again (about 0.2 s each: seconds of cold
    start over this table's ~30 models). Sessions stay separate, as PynamoDB wants for
    thread safety; only the read-only, cached data loader is shared."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _LOADER)
    return session


pynamodb.connection.base.get_session = _session_with_shared_loader


def table_name() -> str:
    return os.environ.get("TABLE_NAME", "member-points-local")


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "cn-north-1"


def shard_of(member_id: str) -> int:
    """A stable shard 0..15 for spreading one population over several GSI partitions."""
    return int(hashlib.sha1(member_id.encode()).hexdigest()[:4], 16) % SHARDS


def iso(instant: datetime) -> str:
    """Sortable UTC text for sort keys (microsecond precision, always the same width)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch(instant: datetime) -> int:
    return int(instant.timestamp())


class _Gsi(GlobalSecondaryIndex):
    """Base for the three overloaded GSIs; subclasses only name the index and its keys."""


def gsi(number: int) -> type[_Gsi]:
    """A fresh index class per model (PynamoDB binds an index class to one model)."""
    hash_name, range_name = f"gsi{number}pk", f"gsi{number}sk"
    meta = type("Meta", (), {"index_name": f"gsi{number}", "projection": AllProjection()})
    attrs: dict[str, Any] = {
        "Meta": meta,
        hash_name: UnicodeAttribute(hash_key=True),
        range_name: UnicodeAttribute(range_key=True),
    }
    return type(f"Gsi{number}", (_Gsi,), attrs)


class BaseItem(Model):
    class Meta:
        table_name = table_name()
        region = region()
        max_retry_attempts = 3
        base_backoff_ms = 25
        # PynamoDB's defaults (15 s, 30 s) outlast the API function's 28 s: a hung call
        # must fail in time to be retried, re-sent or answered 503 (README "Faults")
        connect_timeout_seconds = CONNECT_TIMEOUT_S
        read_timeout_seconds = READ_TIMEOUT_S

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    ttl = NumberAttribute(null=True)

    SK: ClassVar[str] = ""

    @classmethod
    def get_or_none(cls, pk: str, sk: str | None = None, *, consistent: bool = True) -> Any:
        """The item, or ``None``; strongly consistent unless asked otherwise."""
        try:
            return cls.get(pk, sk if sk is not None else cls.SK, consistent_read=consistent)
        except cls.DoesNotExist:
            return None
