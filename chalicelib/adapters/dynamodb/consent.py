"""Legal documents and consent records, and the repositories that own their keys.

``LEGAL#<doc>`` / ``V#<version>``: one published version of a document (few per document,
read whole). ``MEMBER#<id>`` / ``CONSENT#<at>#<id>``: one consent record (a document
version accepted, a separate consent granted or withdrawn, with time and channel),
written once and never changed. The member item carries the current state the checks
read in the same GetItem as the member: ``accepted_docs`` (document -> version) and
``consents`` (the purposes granted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from ...domain.consent import (
    Acceptance,
    Channel,
    ConsentInUse,
    DocumentVersion,
    LegalDoc,
    Purpose,
    RecordKind,
    VersionNotNewer,
)
from ...domain.errors import ConcurrentUpdate
from .base import BaseItem, iso
from .identity import IdNumberItem, MemberItem, ReviewItem
from .uow import UnitOfWork
from .wallet import WalletItem


class LegalDocumentItem(BaseItem):
    """``LEGAL#<doc>`` / ``V#<version, 6 digits>``: one published version of a document."""

    doc = UnicodeAttribute()
    version = NumberAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute()
    effective_at = UTCDateTimeAttribute()
    published_at = UTCDateTimeAttribute()
    published_by = UnicodeAttribute()


class ConsentRecordItem(BaseItem):
    """``MEMBER#<id>`` / ``CONSENT#<at>#<record id>``: one consent record, append-only."""

    member_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # RecordKind
    subject = UnicodeAttribute()  # a document or a purpose
    version = NumberAttribute(null=True)  # for a document
    channel = UnicodeAttribute()
    at = UTCDateTimeAttribute()


@dataclass(frozen=True)
class ConsentRecord:
    kind: RecordKind
    subject: str
    version: int | None
    channel: str
    at: datetime


@dataclass(frozen=True)
class ConsentState:
    """What a member has agreed to now, as the member item holds it."""

    accepted: dict[str, int]
    granted: frozenset[str]


def _doc_pk(doc: LegalDoc) -> str:
    return f"LEGAL#{doc.value}"


def _version(item: LegalDocumentItem) -> DocumentVersion:
    return DocumentVersion(
        doc=LegalDoc(item.doc),
        version=int(item.version),
        title=item.title,
        body=item.body,
        effective_at=item.effective_at,
        published_at=item.published_at,
        published_by=item.published_by,
    )


class LegalDocuments:
    """The published versions of the privacy policy and the terms of service."""

    def versions(self, doc: LegalDoc) -> list[DocumentVersion]:
        return [_version(item) for item in LegalDocumentItem.query(_doc_pk(doc))]

    def all_versions(self) -> list[DocumentVersion]:
        return [v for doc in LegalDoc for v in self.versions(doc)]

    def add(self, uow: UnitOfWork, v: DocumentVersion) -> None:
        uow.put(
            LegalDocumentItem(
                pk=_doc_pk(v.doc),
                sk=f"V#{v.version:06d}",
                doc=v.doc.value,
                version=v.version,
                title=v.title,
                body=v.body,
                effective_at=v.effective_at,
                published_at=v.published_at,
                published_by=v.published_by,
            ),
            condition=LegalDocumentItem.pk.does_not_exist(),
            on_fail=VersionNotNewer(),
        )


class Consents:
    """A member's consent state (on the member item) and their append-only records."""

    @staticmethod
    def state_of(member: MemberItem) -> ConsentState:
        return ConsentState(
            accepted={doc: int(version) for doc, version in (member.accepted_docs or {}).items()},
            granted=frozenset(member.consents or ()),
        )

    @staticmethod
    def history(member_id: str) -> list[ConsentRecord]:
        items = ConsentRecordItem.query(MemberItem.pk_of(member_id), ConsentRecordItem.sk.startswith("CONSENT#"))
        return [
            ConsentRecord(
                RecordKind(i.kind), i.subject, int(i.version) if i.version is not None else None, i.channel, i.at
            )
            for i in items
        ]

    @staticmethod
    def _record(
        uow: UnitOfWork,
        member_id: str,
        record_id: str,
        kind: RecordKind,
        subject: str,
        version: int | None,
        channel: Channel,
        at: datetime,
    ) -> None:
        uow.put(
            ConsentRecordItem(
                pk=MemberItem.pk_of(member_id),
                sk=f"CONSENT#{iso(at)}#{record_id}",
                member_id=member_id,
                kind=kind.value,
                subject=subject,
                version=version,
                channel=channel.value,
                at=at,
            ),
            condition=ConsentRecordItem.pk.does_not_exist(),
        )

    @classmethod
    def record_acceptances(
        cls,
        uow: UnitOfWork,
        member_id: str,
        record_ids: Iterable[str],
        accepted: list[Acceptance],
        channel: Channel,
        at: datetime,
    ) -> dict[str, int]:
        """The records of ``accepted``; returns the member's new ``accepted_docs``."""
        for record_id, a in zip(record_ids, accepted, strict=True):
            cls._record(uow, member_id, record_id, RecordKind.ACCEPTED, a.doc.value, a.version, channel, at)
        return {a.doc.value: a.version for a in accepted}

    @classmethod
    def accept(
        cls,
        uow: UnitOfWork,
        member: MemberItem,
        record_ids: Iterable[str],
        accepted: list[Acceptance],
        channel: Channel,
        at: datetime,
    ) -> None:
        docs = {
            **cls.state_of(member).accepted,
            **cls.record_acceptances(uow, member.member_id, record_ids, accepted, channel, at),
        }
        uow.update(member, [MemberItem.accepted_docs.set(docs)], versioned=True)

    @classmethod
    def grant(
        cls, uow: UnitOfWork, member: MemberItem, record_id: str, purpose: Purpose, channel: Channel, at: datetime
    ) -> None:
        cls._record(uow, member.member_id, record_id, RecordKind.GRANTED, purpose.value, None, channel, at)
        uow.update(member, [MemberItem.consents.add({purpose.value})], versioned=True)

    @classmethod
    def withdraw(
        cls,
        uow: UnitOfWork,
        member: MemberItem,
        record_id: str,
        purpose: Purpose,
        channel: Channel,
        at: datetime,
        erase: list[Action],
    ) -> None:
        """Withdraw ``purpose`` with the member item's own erasures (``erase``: more update
        actions), in one update: the consent and the data it covered go together."""
        cls._record(uow, member.member_id, record_id, RecordKind.WITHDRAWN, purpose.value, None, channel, at)
        uow.update(member, [MemberItem.consents.delete({purpose.value}), *erase], versioned=True)

    @staticmethod
    def granted_condition(purpose: Purpose) -> Condition:
        """Inside a transaction: the consent still stands (a withdrawal in between loses)."""
        return MemberItem.consents.contains(purpose.value)


@dataclass(frozen=True)
class KycRecord:
    """The real-name verification as the erasure needs it (never the data itself)."""

    status: str
    version: int
    id_index: str | None


class SensitiveData:
    """The data a separate consent covers, as its withdrawal erases it."""

    _KYC = "KYC"

    @classmethod
    def kyc_of(cls, member_id: str) -> KycRecord | None:
        item = ReviewItem.get_or_none(MemberItem.pk_of(member_id), cls._KYC)
        if item is None:
            return None
        return KycRecord(item.status, 1 if item.version is None else int(item.version), item.id_index)

    @classmethod
    def erase_kyc(cls, uow: UnitOfWork, member: MemberItem, kyc: KycRecord | None) -> None:
        """The submission (pending, approved or rejected) and the verified ID number's
        uniqueness item; refused while a withdrawal is open (``domain.consent``)."""
        uow.check(
            WalletItem,
            member.pk,
            WalletItem.SK,
            WalletItem.pk.does_not_exist() | (WalletItem.open_withdrawals == 0),
            on_fail=ConsentInUse(),
        )
        if kyc is None:
            # nor one submitted since the preview found none
            uow.check(ReviewItem, member.pk, cls._KYC, ReviewItem.pk.does_not_exist(), on_fail=ConcurrentUpdate())
            return
        # the submission read, not a resubmission since (that one was not previewed)
        unchanged = ReviewItem.version == kyc.version
        if kyc.version == 1:  # stored before versions existed, or the first submission
            unchanged = ReviewItem.version.does_not_exist() | unchanged
        uow.delete(ReviewItem(pk=member.pk, sk=cls._KYC), condition=unchanged, on_fail=ConcurrentUpdate())
        if kyc.status == "approved" and kyc.id_index:
            uow.delete(IdNumberItem(pk=f"IDNUM#{kyc.id_index}", sk=IdNumberItem.SK))

    @staticmethod
    def babies_erasure(birthday: date | None) -> list[Action]:
        """Update actions on the member item: the babies' birthdays go, and with them
        their birth months (the member's own stays)."""
        return [
            MemberItem.babies_enc.remove(),
            MemberItem.birth_months.set([birthday.month]) if birthday else MemberItem.birth_months.remove(),
        ]
