"""Pydantic models at the HTTP edge: request bodies (strict, no unknown fields, bounded
strings), query strings and responses. The OpenAPI document is generated from them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Union

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel


class Body(BaseModel):
    """A request body: JSON types only, no coercion, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True, str_max_length=500, frozen=True)


class Query(BaseModel):
    """A query string: values arrive as text and are converted; unknown names refused."""

    model_config = ConfigDict(extra="forbid", str_max_length=2048, frozen=True)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


Phone = Annotated[str, Field(min_length=3, max_length=32, description="Mobile number; CN by default, E.164 accepted")]
Code = Annotated[str, Field(min_length=1, max_length=16, description="The 6-digit SMS code")]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
Cursor = Annotated[str | None, Field(default=None, max_length=2048)]


class ListQuery(Query):
    limit: int = Field(50, ge=1, le=200)
    cursor: Cursor = None


class Accepted(Out):
    status: str


class Health(Out):
    status: Literal["ok"]


# --- identity -------------------------------------------------------------------------------
class OtpRequest(Body):
    phone: Phone
    purpose: Literal["register", "login", "staff"]


class OtpSent(Out):
    expires_in: int
    resend_after: int


class RegisterRequest(Body):
    phone: Phone
    code: Code
    referrer_code: Annotated[str | None, Field(max_length=32)] = None


class Registered(Out):
    member_id: str
    member_code: str
    access_token: str
    refresh_token: str


class LoginRequest(Body):
    phone: Phone
    code: Code


class LoggedIn(Out):
    member_id: str
    access_token: str
    refresh_token: str


class RefreshRequest(Body):
    refresh_token: Annotated[str, Field(min_length=1, max_length=256)]


class Refreshed(Out):
    access_token: str
    refresh_token: str


class StaffLoginRequest(Body):
    phone: Phone
    code: Code
    totp: Annotated[str, Field(min_length=1, max_length=16)]


class StaffLoggedIn(Out):
    access_token: str
    roles: list[str]


# --- member --------------------------------------------------------------------------------
class Expiring(Out):
    on: date
    points: int


class PointsSummary(Out):
    available: int = Field(description="Spendable points; negative while in points debt")
    pending: int
    lifetime: int
    debt: int
    expiring: list[Expiring]


class WalletSummary(Out):
    balance_fen: int
    held_fen: int


class Baby(Body):
    birthday: date


class BabyOut(Out):
    birthday: date


class ProfileOut(Out):
    name: str | None = Field(description="masked")
    birthday: date | None
    region: str | None
    babies: list[BabyOut]
    complete: bool


class Me(Out):
    member_id: str
    member_code: str | None
    share_link: str | None
    phone: str = Field(description="masked")
    stars: int
    roles: list[str]
    referrer_code: str | None
    status: str
    points: PointsSummary
    wallet: WalletSummary
    profile: ProfileOut


class ProfilePatch(Body):
    name: Annotated[str | None, Field(max_length=50)] = None
    birthday: date | None = None
    region: Annotated[str | None, Field(max_length=64)] = None
    babies: Annotated[list[Baby] | None, Field(max_length=10)] = None


class QrQuery(Query):
    format: Literal["svg", "png"] = "svg"


class ReferrerRequest(Body):
    code: Annotated[str, Field(min_length=1, max_length=32)]


class FriendRequest(Body):
    phone: Phone


class Referral(Out):
    member_id: str
    phone: str = Field(description="masked")
    status: str
    registered_at: datetime
    bound_via: str | None


class ReferralList(Out):
    referrals: list[Referral]
    next_cursor: str | None


class KycRequest(Body):
    real_name: Annotated[str, Field(min_length=1, max_length=50)]
    id_number: Annotated[str, Field(min_length=1, max_length=32)]


class NutritionistRequest(Body):
    certificate_no: Annotated[str, Field(min_length=1, max_length=64)]
    issuer: Annotated[str, Field(min_length=1, max_length=100)]
    issued_on: date


class Review(Out):
    member_id: str
    kind: str
    status: str
    submitted_at: datetime
    decided_at: datetime | None
    reason: str | None
    summary: dict[str, str] = Field(description="masked details")


class ReviewList(Out):
    reviews: list[Review]
    next_cursor: str | None


class CloseRequest(Body):
    reason: Reason


# --- staff ------------------------------------------------------------------------------------
StaffRoleName = Literal["ops", "finance", "auditor", "admin"]


class ReasonRequest(Body):
    reason: Reason


class MemberStatusOut(Out):
    member_id: str
    status: str


class StaffCreateRequest(Body):
    phone: Phone
    roles: Annotated[list[StaffRoleName], Field(min_length=1, max_length=4)]
    name: Annotated[str | None, Field(max_length=50)] = None


class StaffCreated(Out):
    staff_id: str
    roles: list[str]
    totp_uri: str = Field(description="otpauth:// URI to enrol the authenticator; shown once")


class StaffRolesRequest(Body):
    roles: Annotated[list[StaffRoleName], Field(min_length=1, max_length=4)]
    reason: Reason


class StaffRolesOut(Out):
    staff_id: str
    roles: list[str]


class AuditQuery(ListQuery):
    day: date | None = None
    target_id: Annotated[str | None, Field(max_length=64)] = None


class AuditEntry(Out):
    audit_id: str
    at: datetime
    actor_id: str
    actor_roles: list[str]
    action: str
    target_type: str
    target_id: str
    reason: str | None
    before: dict[str, object] | None
    after: dict[str, object] | None


class AuditList(Out):
    entries: list[AuditEntry]
    next_cursor: str | None


# --- local stage -----------------------------------------------------------------------------
class DevSmsQuery(Query):
    phone: Phone


class DevSms(Out):
    to: str
    text: str
    sent_at: datetime


class DevSmsList(Out):
    messages: list[DevSms]


# --- signed events ----------------------------------------------------------------------------
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Fen = Annotated[int, Field(ge=0, le=10**12)]


class OrderPaidData(Body):
    order_id: Id
    gross_fen: Fen
    paid_fen: Fen


class OrderRefundedData(Body):
    order_id: Id
    refund_fen: Annotated[int, Field(gt=0, le=10**12)]


class EmptyData(Body):
    pass


class ContentPostedData(Body):
    kind: Literal["review", "post", "reply"]


class SurveyCompletedData(Body):
    survey_id: Id


class EventCheckedInData(Body):
    event_id: Id


class LectureGivenData(Body):
    lecture_id: Id


class GuidanceCommittedData(Body):
    client_member_id: Id


class _Event(Body):
    event_id: Id
    member_id: Id
    occurred_at: AwareDatetime


class OrderPaid(_Event):
    type: Literal["order.paid"]
    data: OrderPaidData


class OrderRefunded(_Event):
    type: Literal["order.refunded"]
    data: OrderRefundedData


class ChallengeWon(_Event):
    type: Literal["challenge.won"]
    data: EmptyData


class ContentPosted(_Event):
    type: Literal["content.posted"]
    data: ContentPostedData


class SurveyCompleted(_Event):
    type: Literal["survey.completed"]
    data: SurveyCompletedData


class EventCheckedIn(_Event):
    type: Literal["event.checked_in"]
    data: EventCheckedInData


class LectureGiven(_Event):
    type: Literal["lecture.given"]
    data: LectureGivenData


class GuidanceCommitted(_Event):
    type: Literal["guidance.committed"]
    data: GuidanceCommittedData


EVENT_TYPES = (
    OrderPaid,
    OrderRefunded,
    ChallengeWon,
    ContentPosted,
    SurveyCompleted,
    EventCheckedIn,
    LectureGiven,
    GuidanceCommitted,
)


class SignedEvent(RootModel[Annotated[Union[EVENT_TYPES], Field(discriminator="type")]]):  # noqa: UP007
    """One event from a trusted system; ``type`` selects the shape of ``data``."""

    model_config = ConfigDict(strict=True)


class EventAccepted(Out):
    status: Literal["accepted", "duplicate"]


# --- jobs and adjustments -----------------------------------------------------------------------
class JobBody(Body):
    period: Annotated[str | None, Field(max_length=16, description="YYYY-MM or YYYY-Qn")] = None
    # checked by ``jobs.parse_request`` like the console's JSON: a bad date is 422 invalid_job_request
    as_of: Annotated[str | None, Field(max_length=32, description="YYYY-MM-DD")] = None
    dry_run: bool = False


class JobReport(Out):
    model_config = ConfigDict(extra="allow")
    job: str
    duration_ms: float


class AdjustmentRequest(Body):
    member_id: Id
    points: Annotated[int | None, Field(ge=-(10**9), le=10**9)] = None
    amount_fen: Annotated[int | None, Field(ge=-(10**12), le=10**12)] = None
    reason: Reason


class Adjusted(Out):
    adjustment_id: str
    member_id: str
    points: int | None
    amount_fen: int | None
    balance_after: int


class PointsEntry(Out):
    id: str
    kind: str
    rule: str | None
    points: int = Field(description="change of the available balance")
    pending: int = Field(description="change of pending points")
    held: int = Field(description="change of held points")
    balance_after: int
    pending_after: int
    created_at: datetime
    expires_on: date | None
    ref: str | None


class PointsLedger(Out):
    entries: list[PointsEntry]
    next_cursor: str | None
