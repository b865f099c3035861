"""A member's consents: accepting new document versions, granting separate consents, and
withdrawing one with the erasure of what it covered (after a preview).

The rules are in ``domain.consent``; the keys in ``adapters.dynamodb.consent``; the
documents themselves in ``legal``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.expressions.update import Action
from ulid import ULID

from ..adapters.dynamodb.consent import ConsentRecord, Consents, SensitiveData
from ..adapters.dynamodb.identity import MemberItem
from ..bootstrap import Container
from ..domain import consent as rules
from ..domain.consent import Acceptance, Channel, ErasurePreview, Purpose
from .common import retrying
from .legal import ConsentSummary, in_force, new_record_ids, summary
from .members import decrypt_profile, require_live_or_frozen, require_member


# --- a member's consents ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsentView:
    summary: ConsentSummary
    history: list[ConsentRecord]


def view(c: Container, member_id: str) -> ConsentView:
    member = require_member(member_id)
    return ConsentView(summary(c, member), Consents.history(member_id))


def accept(c: Container, member_id: str, offered: list[Acceptance], channel: Channel) -> ConsentView:
    """Accept the versions in force (a new version before the next spend)."""

    def attempt() -> None:
        member = require_member(member_id)
        require_live_or_frozen(member)
        accepted = rules.check_acceptance(offered, in_force(c))
        fresh = [a for a in accepted if Consents.state_of(member).accepted.get(a.doc.value) != a.version]
        if not fresh:
            return
        uow = c.uow()
        Consents.accept(uow, member, new_record_ids(len(fresh)), fresh, channel, c.now())
        uow.commit()

    retrying(attempt)
    return view(c, member_id)


def grant(c: Container, member_id: str, purpose: Purpose, channel: Channel) -> ConsentView:
    def attempt() -> None:
        member = require_member(member_id)
        require_live_or_frozen(member)
        if purpose.value in Consents.state_of(member).granted:
            return
        uow = c.uow()
        Consents.grant(uow, member, str(ULID()), purpose, channel, c.now())
        uow.commit()

    retrying(attempt)
    return view(c, member_id)


def _preview(c: Container, member: MemberItem, purpose: Purpose) -> ErasurePreview:
    kyc = SensitiveData.kyc_of(member.member_id)
    babies = len(decrypt_profile(c, member).babies) if purpose is Purpose.BABIES else 0
    return rules.erasure_preview(
        purpose,
        kyc_status=kyc.status if kyc else None,
        kyc_version=kyc.version if kyc else 0,
        babies=babies,
    )


def withdrawal_preview(c: Container, member_id: str, purpose: Purpose) -> ErasurePreview:
    member = require_member(member_id)
    rules.require_granted(Consents.state_of(member).granted, purpose)
    return _preview(c, member, purpose)


def withdraw(c: Container, member_id: str, purpose: Purpose, confirmation: str, channel: Channel) -> ConsentView:
    """Withdraw a separate consent and erase what it covered, in one transaction; only
    with the confirmation of the preview of the state it acts on."""

    def attempt() -> None:
        member = require_member(member_id)
        require_live_or_frozen(member)
        rules.require_granted(Consents.state_of(member).granted, purpose)
        preview = _preview(c, member, purpose)
        rules.require_confirmation(preview.confirmation, confirmation)
        uow = c.uow()
        erase: list[Action] = []
        if purpose is Purpose.ID_NUMBER:
            SensitiveData.erase_kyc(uow, member, SensitiveData.kyc_of(member_id))
        elif purpose is Purpose.BABIES:
            erase = SensitiveData.babies_erasure(decrypt_profile(c, member).birthday)
        Consents.withdraw(uow, member, str(ULID()), purpose, channel, c.now(), erase)
        uow.commit()

    retrying(attempt)
    return view(c, member_id)
