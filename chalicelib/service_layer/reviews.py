"""Submissions that ops review: real-name verification (实名认证) and nutritionist
certificates (营养师认证). Details are stored encrypted; decisions are audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from pynamodb.expressions.condition import Condition

from ..adapters.dynamodb.base import iso
from ..adapters.dynamodb.consent import Consents
from ..adapters.dynamodb.identity import IdNumberItem, MemberItem, ReviewItem
from ..adapters.dynamodb.pagination import Page, query_page
from ..adapters.dynamodb.uow import UnitOfWork
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain import identity
from ..domain.consent import Purpose, SeparateConsentRequired, require_granted
from ..domain.errors import Conflict, InvalidState, KycRequired, NotFound
from ..domain.events import NutritionistCertified
from ..domain.identity import NUTRITIONIST_ROLE
from .common import audit, retrying
from .disclosure import record_reveal
from .duties import refuse_own_account
from .members import require_live_or_frozen, require_member


class ReviewKind(StrEnum):
    KYC = "kyc"
    NUTRITIONIST = "nutritionist"

    @property
    def sort_key(self) -> str:
        return "KYC" if self is ReviewKind.KYC else "CERT"


class IdNumberInUse(Conflict):
    """Another member is already verified with this ID number."""

    code = "id_number_in_use"
    default_message = "This ID number is already verified on another account."


@dataclass(frozen=True)
class ReviewView:
    member_id: str
    kind: str
    version: int
    status: str
    submitted_at: datetime
    decided_at: datetime | None
    reason: str | None
    summary: dict[str, str]


@dataclass(frozen=True)
class RevealedSubmission:
    """A pending submission in clear, for the reviewer who must check it."""

    member_id: str
    kind: str
    version: int
    submitted_at: datetime
    details: dict[str, str]


def _queue(kind: ReviewKind) -> str:
    return f"REVIEW#{kind.value}#pending"


def _version(item: ReviewItem) -> int:
    return 1 if item.version is None else int(item.version)


def _still_at(item: ReviewItem) -> Condition:
    """The stored submission is still the version that was read."""
    if item.version is None:
        return ReviewItem.version.does_not_exist()
    return ReviewItem.version == item.version


def _submit(
    c: Container,
    member_id: str,
    kind: ReviewKind,
    details: dict[str, str],
    id_index: str | None,
    *,
    needs: Purpose | None = None,
) -> None:
    member = require_member(member_id)
    require_live_or_frozen(member)
    details_enc = c.cipher.encrypt(json.dumps(details, ensure_ascii=False), field=f"review-{kind.value}")

    def attempt() -> None:
        previous = ReviewItem.get_or_none(member.pk, kind.sort_key)
        if previous is not None and previous.status == "approved":
            raise InvalidState("This has already been approved.")
        now = c.now()
        uow = c.uow()
        # no error of its own: a lost race (a decision, another resubmission) re-reads
        unchanged = (
            ReviewItem.pk.does_not_exist()
            if previous is None
            else _still_at(previous) & (ReviewItem.status != "approved")
        )
        uow.put(
            ReviewItem(
                pk=member.pk,
                sk=kind.sort_key,
                member_id=member_id,
                kind=kind.value,
                status="pending",
                details_enc=details_enc,
                version=1 if previous is None else _version(previous) + 1,
                id_index=id_index,
                submitted_at=now,
                gsi3pk=_queue(kind),
                gsi3sk=f"{iso(now)}#{member_id}",
            ),
            condition=unchanged,
        )
        if needs is not None:
            # a withdrawal of the consent committed meanwhile erased; this must not re-store
            uow.check(
                MemberItem,
                member.pk,
                MemberItem.SK,
                Consents.granted_condition(needs),
                on_fail=SeparateConsentRequired(purpose=needs.value),
            )
        uow.commit()

    retrying(attempt)


def submit_kyc(c: Container, member_id: str, real_name: str, id_number: str) -> None:
    # the ID number is not even read without its separate consent (PIPL art. 29)
    require_granted(Consents.state_of(require_member(member_id)).granted, Purpose.ID_NUMBER)
    real_name = identity.validate_person_name(real_name)
    compact = identity.validate_resident_id(id_number)
    id_index = c.keys.blind_index("resident-id", compact)
    holder = IdNumberItem.get_or_none(f"IDNUM#{id_index}", IdNumberItem.SK)
    if holder is not None and holder.member_id != member_id:
        raise IdNumberInUse()
    details = {"real_name": real_name, "id_number": compact}
    _submit(c, member_id, ReviewKind.KYC, details, id_index, needs=Purpose.ID_NUMBER)


def submit_certificate(c: Container, member_id: str, certificate_no: str, issuer: str, issued_on: date) -> None:
    details = {"certificate_no": certificate_no.strip(), "issuer": issuer.strip(), "issued_on": issued_on.isoformat()}
    _submit(c, member_id, ReviewKind.NUTRITIONIST, details, None)


def _details(c: Container, item: ReviewItem) -> dict[str, str]:
    return dict(json.loads(c.cipher.decrypt(item.details_enc, field=f"review-{item.kind}")))


def _summary(c: Container, item: ReviewItem) -> dict[str, str]:
    details = _details(c, item)
    if item.kind == ReviewKind.KYC:
        return {
            "real_name": identity.mask_name(details["real_name"]),
            "id_number": identity.mask_id_number(details["id_number"]),
        }
    return {
        "certificate_no": identity.mask_tail(details["certificate_no"]),
        "issuer": details["issuer"],
        "issued_on": details["issued_on"],
    }


def _to_view(c: Container, item: ReviewItem) -> ReviewView:
    return ReviewView(
        item.member_id,
        item.kind,
        _version(item),
        item.status,
        item.submitted_at,
        item.decided_at,
        item.reason,
        _summary(c, item),
    )


def get_review(c: Container, member_id: str, kind: ReviewKind) -> ReviewView | None:
    item = ReviewItem.get_or_none(f"MEMBER#{member_id}", kind.sort_key)
    return _to_view(c, item) if item else None


def verified_real_name(c: Container, member_id: str) -> str | None:
    """The real name of an approved verification, or ``None``."""
    item = ReviewItem.get_or_none(f"MEMBER#{member_id}", ReviewKind.KYC.sort_key)
    if item is None or item.status != "approved":
        return None
    return _details(c, item)["real_name"]


def kyc_approved_condition(uow: UnitOfWork, member_id: str) -> None:
    """Repeat the KYC guard inside the transaction that depends on it."""
    uow.check(
        ReviewItem,
        f"MEMBER#{member_id}",
        ReviewKind.KYC.sort_key,
        ReviewItem.status == "approved",
        on_fail=KycRequired(),
    )


def decide(
    c: Container, actor: Principal, kind: ReviewKind, member_id: str, version: int, approve: bool, reason: str
) -> ReviewView:
    """Approve or reject the submission ``version``, the one the reviewer read; never
    one's own (a verified name opens withdrawals, a certificate earns points)."""
    refuse_own_account(actor, require_member(member_id))

    def attempt() -> ReviewView:
        item = ReviewItem.get_or_none(f"MEMBER#{member_id}", kind.sort_key)
        if item is None:
            raise NotFound("Nothing was submitted.")
        identity.check_decision(item.status, _version(item), version)
        now = c.now()
        status = "approved" if approve else "rejected"
        uow = c.uow()
        # no error of its own: a resubmission or another decision since the read is
        # re-read and reported precisely (review_changed, invalid_state)
        uow.update(
            item,
            [
                ReviewItem.status.set(status),
                ReviewItem.decided_at.set(now),
                ReviewItem.decided_by.set(actor.subject),
                ReviewItem.reason.set(reason),
                ReviewItem.gsi3pk.remove(),
                ReviewItem.gsi3sk.remove(),
            ],
            condition=(ReviewItem.status == "pending") & _still_at(item),
        )
        if approve and kind is ReviewKind.KYC:
            uow.put(
                IdNumberItem(pk=f"IDNUM#{item.id_index}", sk=IdNumberItem.SK, member_id=member_id),
                condition=IdNumberItem.pk.does_not_exist() | (IdNumberItem.member_id == member_id),
                on_fail=IdNumberInUse(),
            )
        if approve and kind is ReviewKind.NUTRITIONIST:
            member = require_member(member_id)
            uow.update(
                member,
                [MemberItem.roles.add({NUTRITIONIST_ROLE})],
                condition=MemberItem.status.is_in("active", "frozen"),
                on_fail=InvalidState("The member account is not active."),
            )
            if NUTRITIONIST_ROLE not in (member.roles or ()):
                uow.emit(NutritionistCertified(member_id, now))
        audit(
            uow,
            c,
            actor,
            f"{kind.value}.{status}",
            "member",
            member_id,
            reason,
            {"status": "pending", "version": version},
            {"status": status, "version": version},
        )
        uow.commit()
        item.status, item.decided_at, item.reason = status, now, reason
        return _to_view(c, item)

    return retrying(attempt)


def reveal(c: Container, actor: Principal, kind: ReviewKind, member_id: str, reason: str) -> RevealedSubmission:
    """The pending submission in clear for its reviewer, once the audit entry (which
    version) has committed on the condition that this version is still the one stored."""

    def attempt() -> RevealedSubmission:
        item = ReviewItem.get_or_none(f"MEMBER#{member_id}", kind.sort_key)
        if item is None:
            raise NotFound("Nothing was submitted.")
        identity.require_pending(item.status)
        version = _version(item)
        record_reveal(
            c,
            actor,
            f"{kind.value}.revealed",
            "member",
            member_id,
            reason,
            lambda uow: uow.check(ReviewItem, item.pk, item.sk, (ReviewItem.status == "pending") & _still_at(item)),
            {"version": version},
        )
        return RevealedSubmission(member_id, item.kind, version, item.submitted_at, _details(c, item))

    return retrying(attempt)


def pending(c: Container, kind: ReviewKind, limit: int, cursor: str | None) -> Page[ReviewView]:
    return query_page(
        ReviewItem.queue,
        _queue(kind),
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        convert=lambda item: _to_view(c, item),
    )
