"""A member's own account (API.md "Member"): profile, share code, referrals, reviews, closing."""

from __future__ import annotations

import functools
import io

import segno
from chalice import Blueprint, Response

from ..adapters.dynamodb.pagination import Page
from ..adapters.dynamodb.points import PointsEntryItem
from ..domain import errors as e
from ..domain.consent import ConfirmationStale, SeparateConsentRequired
from ..service_layer import members, reviews
from ..service_layer import points_ledger as points_ledger_service
from ..service_layer.legal import ConsentSummary
from ..service_layer.members import MemberView, ReferralView
from ..service_layer.reviews import ReviewKind, ReviewView
from . import schemas as s
from .access import MEMBER
from .authorizer import bearer
from .http import Call, endpoint

member_api = Blueprint(__name__)
route = functools.partial(endpoint, member_api, tag="member", access=MEMBER, authorizer=bearer)


def me_out(v: MemberView) -> s.Me:
    return s.Me(
        member_id=v.member_id,
        member_code=v.member_code,
        share_link=v.share_link,
        phone=v.phone,
        stars=v.stars,
        roles=v.roles,
        referrer_code=v.referrer_code,
        status=v.status,
        points=s.PointsSummary(
            available=v.points.available,
            pending=v.points.pending,
            held=v.points.held,
            lifetime=v.points.lifetime,
            debt=v.points.debt,
            expiring=[s.Expiring(on=day, points=points) for day, points in v.points.expiring],
            aibi_value_fen=v.points.aibi_value_fen,
            next_star=s.NextStar(**vars(v.points.next_star)) if v.points.next_star else None,
        ),
        wallet=s.WalletSummary(balance_fen=v.balance_fen, held_fen=v.held_fen),
        profile=s.ProfileOut(
            name=v.profile["name"],
            birthday=v.profile["birthday"],
            region=v.profile["region"],
            babies=[s.BabyOut(birthday=day) for day in v.profile["babies"]],
            complete=v.profile["complete"],
        ),
        consent=consent_out(v.consent),
    )


def consent_out(v: ConsentSummary) -> s.ConsentSummary:
    return s.ConsentSummary(
        accepted=[s.DocVersionOut(doc=doc, version=version) for doc, version in sorted(v.accepted.items())],
        outstanding=[s.DocVersionOut(doc=a.doc.value, version=a.version) for a in v.outstanding],
        separate=v.granted,
    )


def referral_out(r: ReferralView) -> s.Referral:
    return s.Referral(
        member_id=r.member_id, phone=r.phone, status=r.status, registered_at=r.registered_at, bound_via=r.bound_via
    )


def review_out(r: ReviewView) -> s.Review:
    return s.Review(
        member_id=r.member_id,
        kind=r.kind,
        version=r.version,
        status=r.status,
        submitted_at=r.submitted_at,
        decided_at=r.decided_at,
        reason=r.reason,
        summary=r.summary,
    )


@route("/v1/me", "GET", summary="The member's own account", response=s.Me, errors=(e.NotFound,))
def get_me(call: Call) -> s.Me:
    return me_out(members.view(call.c, call.member_id))


@route(
    "/v1/me",
    "PATCH",
    moves=("points",),
    summary="Update the profile",
    body=s.ProfilePatch,
    response=s.Me,
    errors=(e.ProfileInvalid, e.InvalidName, SeparateConsentRequired),
)
def patch_me(call: Call) -> s.Me:
    body = call.body
    babies = [baby.birthday for baby in body.babies] if body.babies is not None else None
    return me_out(
        members.update_profile(
            call.c, call.member_id, name=body.name, birthday=body.birthday, region=body.region, babies=babies
        )
    )


@route(
    "/v1/me/qr",
    "GET",
    summary="The share link as a QR code: SVG, or PNG with format=png and an Accept: image/png header",
    query=s.QrQuery,
    produces=("image/svg+xml", "image/png"),
)
def get_qr(call: Call) -> Response:
    view = members.view(call.c, call.member_id)
    if not view.share_link:
        raise e.NotFound("This account has no member code yet.")
    qr = segno.make(view.share_link, error="m")
    buffer = io.BytesIO()
    if call.query.format == "png":
        qr.save(buffer, kind="png", scale=8, border=2)
        return Response(body=buffer.getvalue(), status_code=200, headers={"Content-Type": "image/png"})
    qr.save(buffer, kind="svg", scale=8, border=2, xmldecl=False)
    return Response(body=buffer.getvalue().decode(), status_code=200, headers={"Content-Type": "image/svg+xml"})


@route(
    "/v1/me/referrer",
    "POST",
    moves=("points",),
    summary="Bind a referrer later (后补) by member code",
    body=s.ReferrerRequest,
    response=s.Me,
    errors=(e.ReferrerAlreadyBound, e.UnknownReferrer, e.SelfReferral, e.ReferralCycle, e.BindingClosed),
)
def bind_referrer(call: Call) -> s.Me:
    return me_out(members.bind_referrer(call.c, call.member_id, call.body.code))


@route(
    "/v1/me/referrals",
    "POST",
    summary="Register a friend on their behalf (pending until they prove the number)",
    status=201,
    body=s.FriendRequest,
    response=s.Invitation,
    errors=(e.InvalidPhone, e.RateLimited),
)
def register_friend(call: Call) -> s.Invitation:
    invited = members.register_friend(call.c, call.member_id, call.body.phone, call.client_ip)
    return s.Invitation(phone=invited.phone, invited_at=invited.invited_at)


@route(
    "/v1/me/referrals",
    "GET",
    summary="Direct referrals in registration order, phones masked",
    query=s.ListQuery,
    response=s.ReferralList,
)
def list_referrals(call: Call) -> s.ReferralList:
    page = members.list_referrals(call.c, call.member_id, call.query.limit, call.query.cursor)
    return s.ReferralList(referrals=[referral_out(r) for r in page.items], next_cursor=page.next_cursor)


@route(
    "/v1/me/kyc",
    "POST",
    summary="Submit real-name verification (实名认证)",
    status=202,
    body=s.KycRequest,
    response=s.Accepted,
    errors=(e.InvalidIdNumber, e.InvalidName, e.InvalidState, SeparateConsentRequired),
)
def submit_kyc(call: Call) -> s.Accepted:
    reviews.submit_kyc(call.c, call.member_id, call.body.real_name, call.body.id_number)
    return s.Accepted(status="pending")


@route("/v1/me/kyc", "GET", summary="The state of the real-name verification", response=s.Review, errors=(e.NotFound,))
def get_kyc(call: Call) -> s.Review:
    review = reviews.get_review(call.c, call.member_id, ReviewKind.KYC)
    if review is None:
        raise e.NotFound("Nothing was submitted.")
    return review_out(review)


@route(
    "/v1/me/nutritionist",
    "POST",
    summary="Submit a nutritionist certificate (营养师认证)",
    status=202,
    body=s.NutritionistRequest,
    response=s.Accepted,
    errors=(e.InvalidState,),
)
def submit_certificate(call: Call) -> s.Accepted:
    reviews.submit_certificate(call.c, call.member_id, call.body.certificate_no, call.body.issuer, call.body.issued_on)
    return s.Accepted(status="pending")


@route(
    "/v1/me/nutritionist",
    "GET",
    summary="The state of the nutritionist certification",
    response=s.Review,
    errors=(e.NotFound,),
)
def get_certificate(call: Call) -> s.Review:
    review = reviews.get_review(call.c, call.member_id, ReviewKind.NUTRITIONIST)
    if review is None:
        raise e.NotFound("Nothing was submitted.")
    return review_out(review)


@route(
    "/v1/me/close",
    "POST",
    summary="Close the account (退出) with the confirmation of GET /v1/me/close; personal data is erased",
    status=204,
    body=s.CloseRequest,
    errors=(e.AccountNotClosable, e.AccountFrozen, ConfirmationStale),
)
def close(call: Call) -> None:
    members.close_account(call.c, call.member_id, call.body.reason, call.body.confirmation)


@route(
    "/v1/me/points/ledger",
    "GET",
    summary="The points statement, newest first",
    query=s.ListQuery,
    response=s.PointsLedger,
)
def points_ledger(call: Call) -> s.PointsLedger:
    q = call.query
    return points_ledger_out(points_ledger_service.entries_page(call.c, call.member_id, q.limit, q.cursor))


def points_ledger_out(page: Page[PointsEntryItem]) -> s.PointsLedger:
    return s.PointsLedger(
        entries=[
            s.PointsEntry(
                id=item.entry_id,
                kind=item.kind,
                rule=item.rule,
                points=int(item.points),
                pending=int(item.pending_delta or 0),
                held=int(item.held_delta or 0),
                balance_after=int(item.balance_after),
                pending_after=int(item.pending_after),
                created_at=item.created_at,
                expires_on=item.expires_on,
                ref=item.ref,
            )
            for item in page.items
        ],
        next_cursor=page.next_cursor,
    )
