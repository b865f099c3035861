"""The legal documents (privacy policy, terms of service): publishing versions, the
versions in force, and the check that a member accepted them (registration, spends).

The rules are in ``domain.consent``; the keys in ``adapters.dynamodb.consent``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ulid import ULID

from ..adapters.dynamodb.consent import Consents, LegalDocuments
from ..adapters.dynamodb.identity import MemberItem
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain import consent as rules
from ..domain.consent import Acceptance, DocumentVersion, LegalDoc
from .common import audit

documents = LegalDocuments()

# Local stage only: the first versions, in force since long before any test clock
_LOCAL_SINCE = datetime(2000, 1, 1, tzinfo=UTC)
_LOCAL_DOCUMENTS = {
    LegalDoc.PRIVACY: ("隐私政策 Privacy policy (local stage)", "What we collect, why, for how long, and your rights."),
    LegalDoc.TERMS: ("用户协议 Terms of service (local stage)", "The programme's terms: points, aibi, rewards."),
}


def in_force(c: Container) -> dict[LegalDoc, DocumentVersion]:
    return rules.in_force(documents.all_versions(), c.now())


def current_document(c: Container, doc: LegalDoc) -> DocumentVersion:
    version = rules.in_force(documents.versions(doc), c.now()).get(doc)
    if version is None:
        raise rules.UnknownDocument()
    return version


def publish(
    c: Container,
    actor: Principal,
    doc: LegalDoc,
    version: int,
    title: str,
    body: str,
    effective_at: datetime,
    reason: str,
) -> DocumentVersion:
    """A new version of ``doc``, in force from ``effective_at`` (now or later); audited."""
    now = c.now()
    rules.check_new_version(documents.versions(doc), version, effective_at, now)
    published = DocumentVersion(doc, version, title, body, effective_at, now, actor.subject)
    uow = c.uow()
    documents.add(uow, published)
    after = {"version": version, "effective_at": effective_at.isoformat(), "title": title}
    audit(uow, c, actor, "legal.published", "legal_document", doc.value, reason, None, after)
    uow.commit()
    return published


def ensure_local_documents(c: Container) -> None:
    """Local stage only: version 1 of both documents, so registration works at once."""
    if not c.settings.is_local:
        return
    existing = {v.doc for v in documents.all_versions()}
    for doc, (title, body) in _LOCAL_DOCUMENTS.items():
        if doc in existing:
            continue
        uow = c.uow()
        documents.add(uow, DocumentVersion(doc, 1, title, body, _LOCAL_SINCE, c.now(), "system"))
        uow.commit()


def for_registration(c: Container, offered: Iterable[Acceptance]) -> list[Acceptance]:
    """The acceptances a registration records; refuses a missing or stale one."""
    return rules.check_acceptance(offered, in_force(c))


def new_record_ids(n: int) -> list[str]:
    return [str(ULID()) for _ in range(n)]


def require_current(c: Container, member: MemberItem) -> None:
    """The one consent check of spends and withdrawals: every version in force accepted."""
    rules.require_current(Consents.state_of(member).accepted, in_force(c))




@dataclass(frozen=True)
class ConsentSummary:
    """What a member agreed to, and the versions in force they have yet to accept."""

    accepted: dict[str, int]
    outstanding: list[Acceptance]
    granted: list[str]


def summary(c: Container, member: MemberItem) -> ConsentSummary:
    state = Consents.state_of(member)
    return ConsentSummary(state.accepted, rules.outstanding(state.accepted, in_force(c)), sorted(state.granted))
