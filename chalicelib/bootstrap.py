"""Composition root: builds the adapters once per process and hands them to services.

Entry points call ``container()``; tests and the local stage build their own with
``bootstrap(...)`` (injecting a clock, an outbox, other rules or rules versions) and install it with
``install()``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import boto3

from .adapters.crypto import FieldCipher, KeyRing
from .adapters.messaging import LazySmsSender, OpsNotifier, Outbox, SmsSender, SnsOpsNotifier, SnsSmsSender
from .adapters.queues import MessageQueue, SqsQueue
from .adapters.secrets import SecretsManagerSource, SecretSource
from .adapters.snapshots import SnapshotStore
from .adapters.tokens import AccessTokens
from .config import Settings
from .domain.calendar import utc_now
from .domain.rules import REGISTRY, Rules, RulesRegistry
from .domain.signing import IntegrationKey, parse_keys

if TYPE_CHECKING:
    # PynamoDB is loaded by the first unit of work, not here: the authorizer's function
    # builds this container but never touches the table
    from .adapters.dynamodb.pagination import Cursors
    from .adapters.dynamodb.uow import EventHandler, UnitOfWork


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return utc_now()


class ShiftedClock(SystemClock):
    """The local stage's business clock: the wall clock moved by an offset that
    ``POST /v1/dev/clock`` sets, so a person can rehearse a month end or a settlement
    over HTTP. Never used outside the local stage."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return utc_now() + self._offset

    def move_to(self, instant: datetime) -> datetime:
        with self._lock:
            self._offset = instant - utc_now()
        return self.now()


@dataclass
class Container:
    settings: Settings
    rules_registry: RulesRegistry  # every version; ``rules`` is the one in effect now
    clock: Clock  # business time: days, months, expiry, token lifetimes
    wall_clock: Clock  # real time, for what a device or a peer measures: TOTP steps, signature windows
    keys: KeyRing
    cipher: FieldCipher
    tokens: AccessTokens
    sms: SmsSender  # the SMS worker's: the code-request path only queues (``sms_queue``)
    sms_queue: MessageQueue
    jobs_queue: MessageQueue  # runs' plans and units, for the job worker (``service_layer.job_runs``)
    ops: OpsNotifier
    secrets: SecretSource
    snapshots: SnapshotStore | None = None
    randbelow: Callable[[int], int] = secrets.randbelow
    outbox: Outbox | None = None
    handlers: dict[type, list[EventHandler]] = field(default_factory=dict)

    @property
    def cursors(self) -> Cursors:
        from .adapters.dynamodb.pagination import Cursors

        return Cursors(self.keys.cursor_key)

    def uow(self) -> UnitOfWork:
        from .adapters.dynamodb.uow import UnitOfWork

        return UnitOfWork(self.handlers)

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def rules(self) -> Rules:
        """The rules version in effect now (business time). What belongs to an earlier
        period takes that period's version from ``rules_registry`` instead."""
        return self.rules_registry.at(self.now())

    def integration_keys(self) -> dict[str, IntegrationKey]:
        return parse_keys(self.secrets.get_json(self.settings.integration_keys_secret_id))

    def subscribe(self, event_type: type, handler: EventHandler) -> None:
        self.handlers.setdefault(event_type, []).append(handler)


def subscribe_handlers(container: Container) -> None:
    """Which area reacts to which domain event, in the same transaction (see ``UnitOfWork``)."""
    from .service_layer import earning

    for event_type, handler in earning.identity_handlers(container):
        container.subscribe(event_type, handler)


def sms_sender(settings: Settings, session: Any, source: SecretSource, outbox: Outbox | None) -> SmsSender:
    """The sender ``SMS_PROVIDER`` names (``Settings`` has refused any other value)."""
    if settings.sms_provider == "aliyun":

        def connect() -> SmsSender:
            from .adapters.aliyun_sms import AliyunSmsSender  # the SDK is loaded only where it is used

            return AliyunSmsSender.connect(
                source.get_json(settings.aliyun_sms_secret_id),
                settings.aliyun_sms_endpoint,
                settings.aliyun_sms_sign_name,
                dict(settings.aliyun_sms_templates),
                protocol=settings.aliyun_sms_protocol,
            )

        return LazySmsSender(connect)
    if settings.sms_provider == "sns":
        return SnsSmsSender(session.client("sns"))
    assert outbox is not None, "the outbox is the local stage's"
    return outbox


def bootstrap(
    settings: Settings | None = None,
    *,
    rules: Rules | RulesRegistry | None = None,
    clock: Clock | None = None,
    wall_clock: Clock | None = None,
    outbox: Outbox | None = None,
    session: Any = None,
) -> Container:
    settings = (settings or Settings.from_env()).checked()
    session = session or boto3.session.Session(region_name=settings.region)
    source = SecretsManagerSource(session.client("secretsmanager"))
    app_secret = source.get_json(settings.app_secret_id)
    keys = KeyRing.from_master(str(app_secret["master_key"]), str(app_secret.get("key_version", "1")))
    ops: OpsNotifier
    if settings.is_local:
        outbox = outbox or Outbox()
        ops = outbox
    else:
        ops = SnsOpsNotifier(session.client("sns"), settings.ops_topic_arn)
    sms = sms_sender(settings, session, source, outbox)
    container = Container(
        settings=settings,
        rules_registry=RulesRegistry((rules,)) if isinstance(rules, Rules) else rules or REGISTRY,
        clock=clock or SystemClock(),
        wall_clock=wall_clock or clock or SystemClock(),
        keys=keys,
        cipher=FieldCipher(session.client("kms"), settings.data_key_id),
        tokens=AccessTokens(keys.token_key, keys.key_version),
        sms=sms,
        sms_queue=SqsQueue(lambda: session.client("sqs"), settings.sms_queue_url),
        jobs_queue=SqsQueue(lambda: session.client("sqs"), settings.jobs_queue_url),
        ops=ops,
        secrets=source,
        outbox=outbox,
        snapshots=SnapshotStore(session.client("s3"), settings.snapshot_bucket),
    )
    subscribe_handlers(container)
    return container


_installed: Container | None = None
_lock = threading.Lock()


def install(built: Container | None) -> None:
    global _installed
    with _lock:
        _installed = built


def container() -> Container:
    global _installed
    with _lock:
        if _installed is None:
            _installed = bootstrap()
        return _installed
