"""Consent under the Personal Information Protection Law (PIPL): the legal documents a
member accepts, the separate consents sensitive data needs, and what withdrawing one erases.

Documents (privacy policy, terms of service) have numbered versions that take effect at
a stated time; the version in force is the highest one whose ``effective_at`` has come.
A member must have accepted every version in force to register, and again before the
next spend or withdrawal once a new version takes effect. Acceptance only moves forward:
accepting never makes a member less able to spend, which is why the spend check needs no
condition of its own inside the spend's transaction (README "Privacy and consent").

Separate consents (PIPL art. 29, 31) cover one purpose each: the resident ID number for
real-name verification, babies' birthdays (data of minors under 14), biometric data.
Withdrawing one erases the data it covered; the member sees what first and confirms
with the preview's ``confirmation``, so a preview that went stale does not confirm.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .errors import Conflict, Forbidden, NotFound, RuleViolation


class LegalDoc(StrEnum):
    PRIVACY = "privacy"
    TERMS = "terms"


class Purpose(StrEnum):
    """What a separate consent covers."""

    ID_NUMBER = "id_number"  # real name and resident ID number, for real-name verification
    BABIES = "babies"  # babies' birthdays
    BIOMETRIC = "biometric"  # nothing is collected yet; the consent exists so a later feature asks first


class Channel(StrEnum):
    WEB = "web"
    APP = "app"
    MINI_PROGRAM = "mini_program"
    OTHER = "other"


class RecordKind(StrEnum):
    ACCEPTED = "accepted"  # a document version
    GRANTED = "granted"  # a separate consent
    WITHDRAWN = "withdrawn"


# --- errors -------------------------------------------------------------------------------------
class ConsentRequired(RuleViolation):
    """Registration (or an acceptance) must name every document version in force."""

    code = "consent_required"
    default_message = "Accept the current privacy policy and terms of service."


class ConsentOutdated(Forbidden):
    """A new version of a document took effect; the member accepts it before spending."""

    code = "consent_outdated"
    default_message = "A new version of our documents took effect: accept it to continue."


class SeparateConsentRequired(Forbidden):
    """Sensitive data is collected only under its own consent, given beforehand."""

    code = "separate_consent_required"
    default_message = "This needs your separate consent first."


class ConsentInUse(Conflict):
    """The data cannot be erased while something open depends on it (an open withdrawal)."""

    code = "consent_in_use"
    default_message = "Wait until your open withdrawal is paid or rejected."


class ConfirmationStale(Conflict):
    """The confirmation is not the one of the current preview: read the preview again."""

    code = "confirmation_stale"
    default_message = "What this would change has changed: look at it again and confirm."


class LegalDocumentsUnpublished(Conflict):
    """Registration opens once both documents have a version in force."""

    code = "legal_documents_unpublished"
    default_message = "Registration is not open yet."


class UnknownDocument(NotFound):
    """No such document, or no version of it in force."""

    code = "not_found"
    default_message = "No such document."


class VersionNotNewer(Conflict):
    """A version must be higher than every published one of its document."""

    code = "version_not_newer"
    default_message = "This version is not newer than the published ones."


class EffectiveInPast(RuleViolation):
    """A version cannot take effect before it is published (acceptances already given
    and spends already made would change meaning)."""

    code = "effective_in_past"
    default_message = "A new version cannot take effect in the past."


# --- documents ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DocumentVersion:
    doc: LegalDoc
    version: int
    title: str
    body: str
    effective_at: datetime
    published_at: datetime
    published_by: str


@dataclass(frozen=True)
class Acceptance:
    doc: LegalDoc
    version: int


def in_force(versions: Iterable[DocumentVersion], now: datetime) -> dict[LegalDoc, DocumentVersion]:
    """The version of each document in force at ``now``: the highest that took effect."""
    current: dict[LegalDoc, DocumentVersion] = {}
    for v in versions:
        if v.effective_at <= now and (v.doc not in current or v.version > current[v.doc].version):
            current[v.doc] = v
    return current


def outstanding(accepted: Mapping[str, int], current: Mapping[LegalDoc, DocumentVersion]) -> list[Acceptance]:
    """The versions in force this member has not accepted, in document order."""
    return [Acceptance(doc, v.version) for doc, v in sorted(current.items()) if accepted.get(doc.value, 0) < v.version]


def _required(current: Mapping[LegalDoc, DocumentVersion]) -> list[dict[str, object]]:
    return [{"doc": doc.value, "version": v.version} for doc, v in sorted(current.items())]


def check_acceptance(offered: Iterable[Acceptance], current: Mapping[LegalDoc, DocumentVersion]) -> list[Acceptance]:
    """What a registration or an acceptance records: exactly the versions in force.

    Every document must be in force (else registration is not open) and named with its
    version in force; an older or unknown version is refused with the ones required."""
    if set(current) != set(LegalDoc):
        raise LegalDocumentsUnpublished()
    named = {a.doc: a.version for a in offered}
    if any(named.get(doc) != v.version for doc, v in current.items()):
        raise ConsentRequired(required=_required(current))
    return [Acceptance(doc, v.version) for doc, v in sorted(current.items())]


def require_current(accepted: Mapping[str, int], current: Mapping[LegalDoc, DocumentVersion]) -> None:
    """Before a spend or a withdrawal: every version in force has been accepted."""
    if outstanding(accepted, current):
        raise ConsentOutdated(required=_required(current))


def check_new_version(existing: Iterable[DocumentVersion], version: int, effective_at: datetime, now: datetime) -> None:
    if any(v.version >= version for v in existing):
        raise VersionNotNewer()
    if effective_at < now:
        raise EffectiveInPast()


# --- separate consents --------------------------------------------------------------------------
def require_granted(granted: Iterable[str], purpose: Purpose) -> None:
    if purpose.value not in set(granted):
        raise SeparateConsentRequired(purpose=purpose.value)


@dataclass(frozen=True)
class ErasurePreview:
    """What withdrawing ``purpose`` erases, and the token that confirms exactly this."""

    purpose: Purpose
    erases: tuple[str, ...]
    consequences: tuple[str, ...]
    confirmation: str


def confirmation_of(subject: str, figures: Mapping[str, object]) -> str:
    """A short digest of what a preview showed: confirming with it proves the member saw
    the state that the change will act on (a change in between gives another digest)."""
    canonical = json.dumps({"subject": subject, **figures}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def erasure_preview(purpose: Purpose, *, kyc_status: str | None, kyc_version: int, babies: int) -> ErasurePreview:
    """Decision: withdrawing the ID-number consent erases the real-name verification
    whatever its state (pending, approved or rejected): an approved one too, since the
    verified name is the ID data itself. Withdrawals then need a new verification; one
    that is open refuses the withdrawal of consent (``ConsentInUse``) until it is paid
    or rejected, because finance checks it against the verified name."""
    if purpose is Purpose.ID_NUMBER:
        erases: tuple[str, ...] = ("real_name", "id_number") if kyc_status else ()
        consequences: tuple[str, ...] = (
            ("real-name verification removed; withdrawals need a new verification",) if kyc_status else ()
        )
        figures: dict[str, object] = {"kyc_status": kyc_status, "kyc_version": kyc_version}
    elif purpose is Purpose.BABIES:
        erases = ("babies",) if babies else ()
        consequences = ("babies' birth months no longer double purchase points",) if babies else ()
        figures = {"babies": babies}
    else:
        erases, consequences, figures = (), (), {}
    return ErasurePreview(purpose, erases, consequences, confirmation_of(purpose.value, figures))


def require_confirmation(expected: str, given: str) -> None:
    if given != expected:
        raise ConfirmationStale()


# --- closing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClosePreview:
    """What closing forfeits (points and rewards not yet paid out), and whether the
    account can close now: aibi must be withdrawn first (balance and holds at zero)."""

    points_available: int
    points_pending: int
    points_held: int
    unreleased_rewards_fen: int
    balance_fen: int
    held_fen: int
    confirmation: str

    @property
    def closable(self) -> bool:
        return self.balance_fen == 0 and self.held_fen == 0


def close_preview(
    member_id: str,
    *,
    points_available: int,
    points_pending: int,
    points_held: int,
    unreleased_rewards_fen: int,
    balance_fen: int,
    held_fen: int,
) -> ClosePreview:
    figures = {
        "points_available": points_available,
        "points_pending": points_pending,
        "points_held": points_held,
        "unreleased_rewards_fen": unreleased_rewards_fen,
        "balance_fen": balance_fen,
        "held_fen": held_fen,
    }
    return ClosePreview(**figures, confirmation=confirmation_of(f"close#{member_id}", figures))
