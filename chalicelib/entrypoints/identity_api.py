"""Sign-up and sign-in routes (API.md "Identity")."""

from __future__ import annotations

import functools

from chalice import Blueprint

from ..domain import errors as e
from ..domain.consent import Acceptance, Channel, ConsentRequired, LegalDoc, LegalDocumentsUnpublished
from ..domain.identity import OtpPurpose
from ..service_layer import otp, sessions, step_up
from . import schemas as s
from .access import MEMBER, PUBLIC, staff
from .authorizer import bearer
from .http import Call, endpoint

identity_api = Blueprint(__name__)
route = functools.partial(endpoint, identity_api, tag="identity", access=PUBLIC)


@route(
    "/v1/auth/otp",
    "POST",
    summary="Send a one-time code by SMS",
    status=202,
    body=s.OtpRequest,
    response=s.OtpSent,
    errors=(e.InvalidPhone, e.RateLimited, e.SmsBudgetExhausted),
)
def send_code(call: Call) -> s.OtpSent:
    sent = otp.send_code(call.c, call.body.phone, OtpPurpose(call.body.purpose), call.client_ip)
    return s.OtpSent(expires_in=sent.expires_in, resend_after=sent.resend_after)


@route(
    "/v1/auth/register",
    "POST",
    moves=("points",),
    summary="Register (or activate a pending account) with an SMS code",
    status=201,
    body=s.RegisterRequest,
    response=s.Registered,
    errors=(
        e.InvalidPhone,
        e.InvalidCode,
        e.PhoneAlreadyRegistered,
        e.UnknownReferrer,
        ConsentRequired,
        LegalDocumentsUnpublished,
    ),
)
def register(call: Call) -> s.Registered:
    body = call.body
    accepted = [Acceptance(LegalDoc(a.doc), a.version) for a in body.accepted]
    result = sessions.register(call.c, body.phone, body.code, body.referrer_code, accepted, Channel(body.channel))
    assert result.member_code is not None
    return s.Registered(
        member_id=result.member_id,
        member_code=result.member_code,
        access_token=result.access_token,
        refresh_token=result.refresh_token,
    )


@route(
    "/v1/auth/login",
    "POST",
    moves=("points",),
    summary="Sign in with an SMS code",
    body=s.LoginRequest,
    response=s.LoggedIn,
    errors=(e.InvalidPhone, e.InvalidCode),
)
def login(call: Call) -> s.LoggedIn:
    result = sessions.login(call.c, call.body.phone, call.body.code)
    return s.LoggedIn(member_id=result.member_id, access_token=result.access_token, refresh_token=result.refresh_token)


@route(
    "/v1/auth/refresh",
    "POST",
    moves=("points",),
    summary="Rotate a refresh token",
    body=s.RefreshRequest,
    response=s.Refreshed,
    errors=(e.InvalidToken, e.RefreshTokenReused),
)
def refresh(call: Call) -> s.Refreshed:
    access, refresh_token = sessions.refresh(call.c, call.body.refresh_token)
    return s.Refreshed(access_token=access, refresh_token=refresh_token)


@route(
    "/v1/staff/login",
    "POST",
    summary="Staff sign-in: SMS code plus TOTP",
    body=s.StaffLoginRequest,
    response=s.StaffLoggedIn,
    errors=(e.InvalidPhone, e.InvalidCode),
)
def staff_login(call: Call) -> s.StaffLoggedIn:
    result = sessions.staff_login(call.c, call.body.phone, call.body.code, call.body.totp)
    return s.StaffLoggedIn(access_token=result.access_token, roles=sorted(result.roles))


@route(
    "/v1/me/step-up/code",
    "POST",
    access=MEMBER,
    authorizer=bearer,
    status=202,
    summary="Send a step-up code to the member's own registered number (the limits of every code apply)",
    response=s.OtpSent,
    errors=(e.RateLimited, e.SmsBudgetExhausted),
)
def send_step_up_code(call: Call) -> s.OtpSent:
    sent = step_up.send_code(call.c, call.member_id, call.client_ip)
    return s.OtpSent(expires_in=sent.expires_in, resend_after=sent.resend_after)


@route(
    "/v1/me/step-up",
    "POST",
    access=MEMBER,
    authorizer=bearer,
    summary="Prove the phone again with the step-up code: this session may then change the payout account "
    "(which spends the proof) or withdraw until valid_until",
    body=s.StepUpRequest,
    response=s.SteppedUp,
    errors=(e.InvalidCode,),
)
def prove_step_up(call: Call) -> s.SteppedUp:
    assert call.principal is not None and call.principal.session is not None
    valid_until = step_up.prove(call.c, call.member_id, call.principal.session, call.body.code)
    return s.SteppedUp(valid_until=valid_until)


@route(
    "/v1/auth/logout",
    "POST",
    access=MEMBER,
    authorizer=bearer,
    status=204,
    summary="Sign out this device: its refresh token and access tokens are refused from now on",
    errors=(e.InvalidToken,),
)
def logout(call: Call) -> None:
    assert call.principal is not None
    sessions.member_logout(call.c, call.principal)


@route(
    "/v1/staff/logout",
    "POST",
    access=staff(),
    authorizer=bearer,
    status=204,
    summary="Staff sign-out: every access token of this account is refused from now on (audited)",
    errors=(e.InvalidToken,),
)
def staff_logout(call: Call) -> None:
    assert call.principal is not None
    sessions.staff_logout(call.c, call.principal)
