"""Privacy routes (PIPL): the legal documents, a member's consents and their withdrawal
with erasure, the preview of what closing loses; admins publish document versions."""

from __future__ import annotations

import functools

from chalice import Blueprint

from ..domain import errors as e
from ..domain.consent import (
    Acceptance,
    Channel,
    ConfirmationStale,
    ConsentInUse,
    ConsentRequired,
    DocumentVersion,
    EffectiveInPast,
    LegalDoc,
    LegalDocumentsUnpublished,
    Purpose,
    SeparateConsentRequired,
    UnknownDocument,
    VersionNotNewer,
)
from ..service_layer import consent, legal, members
from ..service_layer.consent import ConsentView
from . import privacy_schemas as p
from .access import MEMBER, PUBLIC, staff
from .authorizer import bearer
from .http import Call, endpoint
from .member_api import consent_out

privacy_api = Blueprint(__name__)
route = functools.partial(endpoint, privacy_api, tag="privacy")
member_route = functools.partial(route, access=MEMBER, authorizer=bearer)


def _doc(name: str) -> LegalDoc:
    try:
        return LegalDoc(name)
    except ValueError:
        raise UnknownDocument() from None


def _purpose(name: str) -> Purpose:
    try:
        return Purpose(name)
    except ValueError:
        raise e.NotFound("No such consent.") from None


def _document_out(v: DocumentVersion) -> p.LegalDocumentOut:
    return p.LegalDocumentOut(
        doc=v.doc.value, version=v.version, title=v.title, body=v.body, effective_at=v.effective_at
    )


def _consents_out(v: ConsentView) -> p.Consents:
    return p.Consents(
        consent=consent_out(v.summary),
        history=[
            p.ConsentRecordOut(kind=r.kind.value, subject=r.subject, version=r.version, channel=r.channel, at=r.at)
            for r in v.history
        ],
    )


@route(
    "/v1/legal/{doc}",
    "GET",
    access=PUBLIC,
    summary="The version in force of the privacy policy (privacy) or the terms of service (terms)",
    response=p.LegalDocumentOut,
    errors=(UnknownDocument,),
)
def get_document(call: Call, doc: str) -> p.LegalDocumentOut:
    return _document_out(legal.current_document(call.c, _doc(doc)))


@route(
    "/v1/admin/legal/{doc}",
    "POST",
    access=staff("admin"),
    authorizer=bearer,
    status=201,
    summary="Publish a new version of a document, in force from effective_at (audited)",
    body=p.PublishRequest,
    response=p.LegalDocumentOut,
    errors=(UnknownDocument, VersionNotNewer, EffectiveInPast),
)
def publish(call: Call, doc: str) -> p.LegalDocumentOut:
    assert call.principal is not None
    b = call.body
    return _document_out(
        legal.publish(call.c, call.principal, _doc(doc), b.version, b.title, b.body, b.effective_at, b.reason)
    )


@member_route("/v1/me/consents", "GET", summary="What the member agreed to, with every record", response=p.Consents)
def get_consents(call: Call) -> p.Consents:
    return _consents_out(consent.view(call.c, call.member_id))


@member_route(
    "/v1/me/consents",
    "POST",
    summary="Accept the document versions in force (needed before the next spend after a new version)",
    body=p.AcceptRequest,
    response=p.Consents,
    errors=(ConsentRequired, LegalDocumentsUnpublished),
)
def accept(call: Call) -> p.Consents:
    offered = [Acceptance(LegalDoc(a.doc), a.version) for a in call.body.accepted]
    return _consents_out(consent.accept(call.c, call.member_id, offered, Channel(call.body.channel)))


@member_route(
    "/v1/me/consents/{purpose}",
    "POST",
    summary="Give a separate consent: id_number (real-name verification), babies (babies' birthdays), biometric",
    body=p.GrantRequest,
    response=p.Consents,
    errors=(e.NotFound,),
)
def grant(call: Call, purpose: str) -> p.Consents:
    return _consents_out(consent.grant(call.c, call.member_id, _purpose(purpose), Channel(call.body.channel)))


@member_route(
    "/v1/me/consents/{purpose}/withdrawal",
    "GET",
    summary="What withdrawing a separate consent would erase, and the confirmation to do it",
    response=p.ErasurePreviewOut,
    errors=(e.NotFound, SeparateConsentRequired),
)
def withdrawal_preview(call: Call, purpose: str) -> p.ErasurePreviewOut:
    preview = consent.withdrawal_preview(call.c, call.member_id, _purpose(purpose))
    return p.ErasurePreviewOut(
        purpose=preview.purpose.value,
        erases=list(preview.erases),
        consequences=list(preview.consequences),
        confirmation=preview.confirmation,
    )


@member_route(
    "/v1/me/consents/{purpose}/withdrawal",
    "POST",
    summary="Withdraw a separate consent and erase what it covered, with the preview's confirmation",
    body=p.WithdrawRequest,
    response=p.Consents,
    errors=(e.NotFound, SeparateConsentRequired, ConfirmationStale, ConsentInUse),
)
def withdraw(call: Call, purpose: str) -> p.Consents:
    b = call.body
    return _consents_out(
        consent.withdraw(call.c, call.member_id, _purpose(purpose), b.confirmation, Channel(b.channel))
    )


@member_route(
    "/v1/me/close",
    "GET",
    summary="Before closing: what would be lost (points, pending points, unreleased rewards) and the confirmation",
    response=p.ClosePreviewOut,
    errors=(e.AccountFrozen,),
)
def close_preview(call: Call) -> p.ClosePreviewOut:
    v = members.close_preview(call.c, call.member_id)
    return p.ClosePreviewOut(
        points_available=v.points_available,
        points_pending=v.points_pending,
        points_held=v.points_held,
        unreleased_rewards_fen=v.unreleased_rewards_fen,
        balance_fen=v.balance_fen,
        held_fen=v.held_fen,
        closable=v.closable,
        confirmation=v.confirmation,
    )
