"""Pydantic models at the HTTP edge: request bodies (strict, no unknown fields, bounded
strings), query strings and responses. The OpenAPI document is generated from them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from ..domain import calendar


class Body(BaseModel):
    """A request body: JSON types only, no coercion, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True, str_max_length=500, frozen=True)


class Query(BaseModel):
    """A query string: values arrive as text and are converted; unknown names refused."""

    model_config = ConfigDict(extra="forbid", str_max_length=2048, frozen=True)


class Out(BaseModel):
    """An answer: every field is always written, so the document marks them all required."""

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


Phone = Annotated[str, Field(min_length=3, max_length=32, description="Mobile number; CN by default, E.164 accepted")]
Code = Annotated[str, Field(min_length=1, max_length=16, description="The 6-digit SMS code")]
# a reason made of blanks is no reason (RULES.md 1: freezing, reviews and closing need one)
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Cursor = Annotated[str | None, Field(default=None, max_length=2048)]


def _instant_in_calendar(instant: datetime) -> datetime:
    # Year 1 at +14:00 has no UTC representation and year 9999 has no room for a month
    # end or a year of expiry: refused here as a 400, not failing deep in a service.
    if not calendar.instant_in_calendar(instant):
        raise ValueError(f"the time must fall in the years {calendar.FIRST_DAY.year}..{calendar.LAST_DAY.year} (UTC)")
    return instant.astimezone(UTC)


def _day_in_calendar(day: date) -> date:
    if not calendar.in_calendar(day):
        raise ValueError(
            f"the date must fall between {calendar.FIRST_DAY.isoformat()} and {calendar.LAST_DAY.isoformat()}"
        )
    return day


# Every time and date a request carries is one of these two types.
Instant = Annotated[
    AwareDatetime,
    AfterValidator(_instant_in_calendar),
    Field(description=f"with an offset; years {calendar.FIRST_DAY.year}..{calendar.LAST_DAY.year} (UTC)"),
]
Day = Annotated[
    date,
    AfterValidator(_day_in_calendar),
    Field(description=f"{calendar.FIRST_DAY.isoformat()}..{calendar.LAST_DAY.isoformat()}"),
]


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


class StepUpRequest(Body):
    code: Code


class SteppedUp(Out):
    valid_until: datetime = Field(description="until then this session may change the payout account or withdraw")


class DocAcceptance(Body):
    doc: Literal["privacy", "terms"]
    version: int = Field(ge=1, le=999_999)


ConsentChannel = Literal["web", "app", "mini_program", "other"]


class RegisterRequest(Body):
    phone: Phone
    code: Code
    referrer_code: Annotated[str | None, Field(max_length=32)] = None
    accepted: Annotated[
        list[DocAcceptance],
        Field(
            max_length=4,
            description="the versions in force of the privacy policy and the terms (GET /v1/legal/{doc}); "
            "missing or stale: 422 consent_required naming them",
        ),
    ] = []
    channel: ConsentChannel = Field("other", description="where the member accepted, stored with the consent")


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


class NextStar(Out):
    stars: int
    lifetime_needed: int = Field(description="lifetime points the level needs")
    points_needed: int = Field(description="points still to earn (spending never lowers lifetime)")


class PointsSummary(Out):
    available: int = Field(description="Spendable points; negative while in points debt")
    pending: int
    held: int = Field(description="Points held by mall checkouts awaiting their cash payment")
    lifetime: int
    debt: int
    expiring: list[Expiring]
    aibi_value_fen: int = Field(description="the aibi (fen) the available points bring if exchanged now")
    next_star: NextStar | None = Field(description="null at the top level")


class WalletSummary(Out):
    balance_fen: int
    held_fen: int


class Baby(Body):
    birthday: Day


class BabyOut(Out):
    birthday: date


class ProfileOut(Out):
    name: str | None = Field(description="masked")
    birthday: date | None
    region: str | None
    babies: list[BabyOut]
    complete: bool


class DocVersionOut(Out):
    doc: str
    version: int


class ConsentSummary(Out):
    accepted: list[DocVersionOut] = Field(description="the latest version of each document the member accepted")
    outstanding: list[DocVersionOut] = Field(
        description="versions in force not yet accepted: spends and withdrawals answer 403 consent_outdated "
        "until POST /v1/me/consents accepts them"
    )
    separate: list[str] = Field(description="separate consents given: id_number, babies, biometric")


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
    consent: ConsentSummary


def _some_of(*names: str) -> dict[str, object]:
    """JSON Schema: at least one of ``names`` is given and not null."""
    return {"anyOf": [{"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in names]}


def _one_of(*names: str) -> dict[str, object]:
    """JSON Schema: exactly one of ``names`` is given, a non-zero integer; the others absent or null."""
    return {
        "oneOf": [
            {
                "required": [name],
                "properties": {
                    name: {"type": "integer", "not": {"const": 0}},
                    **{other: {"type": "null"} for other in names if other != name},
                },
            }
            for name in names
        ]
    }


class ProfilePatch(Body):
    """What to change; a field left out or null stays as it is, so a patch that changes
    nothing is refused like an empty body elsewhere."""

    model_config = ConfigDict(json_schema_extra=_some_of("name", "birthday", "region", "babies"))
    name: Annotated[str | None, Field(max_length=50)] = None
    birthday: Day | None = None
    region: Annotated[str | None, Field(max_length=64)] = None
    babies: Annotated[list[Baby] | None, Field(max_length=10)] = None

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("give at least one of name, birthday, region, babies")
        return self


class QrQuery(Query):
    format: Literal["svg", "png"] = "svg"


class ReferrerRequest(Body):
    code: Annotated[str, Field(min_length=1, max_length=32)]


class FriendRequest(Body):
    phone: Phone


class Invitation(Out):
    """The same for every number, registered or not: the friend shows among the
    referrals once they prove the number."""

    phone: str = Field(description="masked")
    invited_at: datetime


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
    issued_on: Day


class Review(Out):
    member_id: str
    kind: str
    version: int = Field(description="1, 2, ... one more on every (re)submission; a decision names the one it read")
    status: str
    submitted_at: datetime
    decided_at: datetime | None
    reason: str | None
    summary: dict[str, str] = Field(description="masked details")


class ReviewList(Out):
    reviews: list[Review]
    next_cursor: str | None


class ReviewDecisionRequest(Body):
    reason: Reason
    version: int = Field(
        ge=1, le=10**9, description="The version the reviewer read; a newer submission answers 409 review_changed"
    )


class KycRevealed(Out):
    member_id: str
    version: int
    submitted_at: datetime
    real_name: str
    id_number: str


class CertificateRevealed(Out):
    member_id: str
    version: int
    submitted_at: datetime
    certificate_no: str
    issuer: str
    issued_on: date


class CloseRequest(Body):
    reason: Reason
    confirmation: Annotated[
        str, Field(min_length=1, max_length=64, description="the confirmation of GET /v1/me/close (what is lost)")
    ]


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
    roles: Annotated[
        list[StaffRoleName], Field(max_length=4, description="may be empty: signed in, allowed nothing")
    ]
    reason: Reason


class StaffOut(Out):
    staff_id: str
    phone: str = Field(description="masked")
    name: str | None
    roles: list[str]
    active: bool
    created_at: datetime


class StaffList(Out):
    staff: list[StaffOut]
    next_cursor: str | None


class StaffRolesOut(Out):
    staff_id: str
    roles: list[str]


class AuditQuery(ListQuery):
    day: Day | None = None
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


class PaymentResultData(Body):
    order_id: Id


class EventEnvelope(Body):
    """What every signed event carries; ``type`` and ``data`` come from its declaration
    (``entrypoints.signed_events``)."""

    event_id: Id
    member_id: Id
    occurred_at: Instant


class EventAccepted(Out):
    status: Literal["accepted", "duplicate"]


# --- jobs and adjustments -----------------------------------------------------------------------
class JobBody(Body):
    # both checked by ``jobs.parse_request`` like the console's JSON, within the same calendar
    # as ``Day``: a bad one is 422 invalid_job_request
    period: Annotated[
        str | None,
        Field(
            max_length=16,
            description=f"YYYY-MM or YYYY-Qn, years {calendar.FIRST_DAY.year}..{calendar.LAST_DAY.year}",
        ),
    ] = None
    as_of: Annotated[
        str | None,
        Field(
            max_length=32,
            description=f"YYYY-MM-DD, {calendar.FIRST_DAY.isoformat()}..{calendar.LAST_DAY.isoformat()}",
        ),
    ] = None
    dry_run: bool = False
    reason: Annotated[str | None, Field(max_length=500, description="why it is run by hand (audited)")] = None


class JobReport(Out):
    model_config = ConfigDict(extra="allow")
    job: str
    duration_ms: float = Field(description="from the run's start to its end (queueing included)")


class JobRequestOut(Out):
    period: str | None
    as_of: str | None = Field(description="a run without one works as of the day it was started")
    dry_run: bool


class JobProgress(Out):
    done: int = Field(description="units done (a unit is a batch of members, or the whole job)")
    total: int
    planned: bool = Field(description="every unit is known: total is final")


class JobFailure(Out):
    step: str
    error: str = Field(description="an error code or name; never data")
    at: str


class FailingUnit(Out):
    unit: int
    attempts_failed: int
    error: str | None


class JobFailures(Out):
    attempts: int = Field(description="failed attempts so far; a failed unit is delivered again")
    last: JobFailure | None
    units: list[FailingUnit] = Field(description="units not done whose last attempt failed (first 20)")


class JobRun(Out):
    run_id: str
    job: str
    status: Literal["running", "succeeded", "failed"]
    request: JobRequestOut
    started_by: str = Field(description="a staff id, or schedule (the schedule or the console)")
    started_at: datetime
    finished_at: datetime | None
    progress: JobProgress
    failures: JobFailures
    report: JobReport | None = Field(description="once finished; a failed run's holds its error")


class JobStarted(Out):
    run_id: str
    status: Literal["running", "succeeded", "failed"]
    job: str


class JobRunQuery(ListQuery):
    job: Annotated[str, Field(min_length=1, max_length=64)]


class JobRunList(Out):
    runs: list[JobRun]
    next_cursor: str | None


class ResumeBody(Body):
    reason: Reason


class AdjustmentRequest(Body):
    """A correction of points (ops) or of aibi (finance): exactly one of the two amounts."""

    model_config = ConfigDict(json_schema_extra=_one_of("points", "amount_fen"))
    member_id: Id
    points: Annotated[int | None, Field(ge=-(10**9), le=10**9)] = None
    amount_fen: Annotated[int | None, Field(ge=-(10**12), le=10**12)] = None
    reason: Reason

    @model_validator(mode="after")
    def _exactly_one_amount(self) -> Self:
        amounts = [amount for amount in (self.points, self.amount_fen) if amount is not None]
        if len(amounts) != 1 or amounts[0] == 0:
            raise ValueError("give exactly one of points or amount_fen, not zero")
        return self


class Adjusted(Out):
    adjustment_id: str
    member_id: str
    points: int | None
    amount_fen: int | None
    balance_after: int


class AdjustmentPending(Out):
    """The correction passes what one staff member may change alone: it waits for a second one."""

    approval_id: str
    status: Literal["pending"]


class ApprovalQuery(ListQuery):
    status: Literal["pending", "approved", "rejected", "cancelled", "expired"] = "pending"


class DecisionRequest(Body):
    reason: Reason | None = None


class Approval(Out):
    approval_id: str
    kind: Literal["points", "aibi"]
    member_id: str
    points: int | None
    amount_fen: int | None
    reason: str
    status: Literal["pending", "approved", "rejected", "cancelled", "expired"]
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    balance_after: int | None = Field(description="the member's balance after the approved change")


class ApprovalList(Out):
    approvals: list[Approval]
    next_cursor: str | None


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


# --- wallet ------------------------------------------------------------------------------------------
PositiveFen = Annotated[int, Field(gt=0, le=10**12)]


class WalletEntry(Out):
    id: str
    kind: str
    amount_fen: int = Field(description="change of the spendable balance")
    held_fen: int = Field(description="change of the held amount")
    balance_after_fen: int
    held_after_fen: int
    created_at: datetime
    ref: str | None


class WalletLedger(Out):
    entries: list[WalletEntry]
    next_cursor: str | None


class ExchangeRequest(Body):
    points: Annotated[int, Field(gt=0, le=10**9)]


class Exchanged(Out):
    points_debited: int
    aibi_credited_fen: int
    exchange_id: str


class ExchangeWindowRequest(Body):
    starts_at: Instant
    ends_at: Instant
    max_points_per_member: Annotated[int | None, Field(gt=0, le=10**9)] = None


class ExchangeWindowOut(Out):
    window_id: str
    starts_at: datetime
    ends_at: datetime
    max_points_per_member: int | None


class PayoutAccountRequest(Body):
    kind: Literal["bank", "alipay"]
    account: Annotated[str, Field(min_length=3, max_length=64)]
    holder: Annotated[str, Field(min_length=1, max_length=50)]


class PayoutAccountOut(Out):
    kind: str
    account: str = Field(description="masked")
    holder: str = Field(description="masked")


class WithdrawalRequest(Body):
    amount_fen: PositiveFen


class WithdrawalCreated(Out):
    withdrawal_id: str
    status: str
    amount_fen: int
    fee_fen: int
    payout_fen: int


class Withdrawal(Out):
    withdrawal_id: str
    member_id: str
    status: str
    amount_fen: int
    fee_fen: int
    payout_fen: int
    payout_kind: str
    payout_account: str = Field(description="masked; the account as it was at the request")
    payout_holder: str | None = Field(description="masked; null once the member closed the account")
    requested_at: datetime
    decided_at: datetime | None
    reason: str | None
    reference: str | None


class WithdrawalList(Out):
    withdrawals: list[Withdrawal]
    next_cursor: str | None


class PayoutAccountRevealed(Out):
    withdrawal_id: str
    member_id: str
    status: str
    kind: str
    account: str = Field(description="in clear: the account to pay, as it was at the request")
    holder: str = Field(description="in clear")


class WithdrawalQueueQuery(ListQuery):
    status: Literal["pending", "approved"] = "pending"


class PaidRequest(Body):
    reference: Annotated[str, Field(min_length=1, max_length=128)]


# --- points mall ----------------------------------------------------------------------------------
class PriceOptionIn(Body):
    points: Annotated[int, Field(gt=0, le=10**9)]
    cash_fen: Annotated[int, Field(ge=0, le=10**10)] = 0


class PriceOptionOut(Out):
    option_id: str
    points: int
    cash_fen: int


class MallItemRequest(Body):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str | None, Field(max_length=1000)] = None
    options: Annotated[list[PriceOptionIn], Field(min_length=1, max_length=10)]
    stock: Annotated[int, Field(ge=0, le=10**7)]


class MallItemPatch(Body):
    name: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    description: Annotated[str | None, Field(max_length=1000)] = None
    options: Annotated[list[PriceOptionIn] | None, Field(min_length=1, max_length=10)] = None
    active: bool | None = None
    add_stock: Annotated[int | None, Field(ge=-(10**7), le=10**7)] = None
    reason: Reason


class MallItemOut(Out):
    item_id: str
    name: str
    description: str | None
    stock: int
    active: bool
    options: list[PriceOptionOut]


class MallItemList(Out):
    items: list[MallItemOut]
    next_cursor: str | None


class CheckoutRequest(Body):
    item_id: Id
    option_id: Annotated[str, Field(min_length=1, max_length=16)]
    quantity: Annotated[int, Field(ge=1, le=100)] = 1


class MallOrder(Out):
    order_id: str
    item_id: str
    option_id: str
    quantity: int
    points: int
    cash_fen: int
    state: str = Field(description="pending (awaiting the cash payment) | posted | voided | expired")
    created_at: datetime
    expires_at: datetime | None


class MallOrderList(Out):
    orders: list[MallOrder]
    next_cursor: str | None


# --- lucky draw and charity -------------------------------------------------------------------------
class PrizeIn(Body):
    prize_id: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    kind: Literal["goods", "points", "aibi", "ticket", "topup"]
    value: Annotated[int, Field(ge=0, le=10**9)] = 0
    probability_bp: Annotated[int, Field(ge=0, le=10_000)]
    stock: Annotated[int, Field(ge=0, le=10**7)]


class PrizeOut(Out):
    prize_id: str
    name: str
    kind: str
    value: int
    probability_bp: int
    stock: int


class DrawCampaignRequest(Body):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    points_per_draw: Annotated[int, Field(gt=0, le=10**7)]
    daily_limit: Annotated[int, Field(gt=0, le=1000)]
    starts_at: Instant
    ends_at: Instant
    prizes: Annotated[list[PrizeIn], Field(min_length=1, max_length=50)]


class DrawCampaign(Out):
    campaign_id: str
    name: str
    points_per_draw: int
    daily_limit: int
    starts_at: datetime
    ends_at: datetime
    prizes: list[PrizeOut]


class WonPrize(Out):
    prize_id: str
    name: str
    kind: str
    value: int
    redemption_code: str | None


class DrawResult(Out):
    draw_id: str
    points_spent: int
    prize: WonPrize | None


class DrawLogEntry(Out):
    draw_id: str
    member_id: str
    roll: int
    points_spent: int
    prize_id: str | None
    prize_kind: str | None
    at: datetime


class DrawLog(Out):
    draws: list[DrawLogEntry]
    next_cursor: str | None


class CharityRequest(Body):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str | None, Field(max_length=1000)] = None
    seats: Annotated[int, Field(gt=0, le=100_000)]
    points_per_seat: Annotated[int, Field(gt=0, le=10**7)]


class CharityProject(Out):
    project_id: str
    name: str
    description: str | None
    seats: int
    seats_taken: int
    points_per_seat: int
    full: bool


class CharityList(Out):
    projects: list[CharityProject]
    next_cursor: str | None


class PledgeRequest(Body):
    seats: Annotated[int, Field(ge=1, le=100)] = 1


class Pledged(Out):
    pledge_id: str
    project_id: str
    seats: int
    points: int
    seats_left: int


# --- aibi at the shop --------------------------------------------------------------------------------
class AibiHoldRequest(Body):
    order_id: Id
    member_id: Id
    amount_fen: PositiveFen


class AibiRefundRequest(Body):
    refund_id: Id
    amount_fen: PositiveFen


class AibiPayment(Out):
    order_id: str
    member_id: str
    amount_fen: int
    refunded_fen: int
    state: str = Field(description="pending | posted | voided | expired")
    expires_at: datetime


# --- settlements --------------------------------------------------------------------------------
class RewardLine(Out):
    settlement_id: str
    kind: str
    period: str
    component: str
    amount_fen: int
    basis: dict[str, object]
    status: str = Field(description="draft | approved | released")
    released_at: datetime | None


class RewardList(Out):
    rewards: list[RewardLine]
    next_cursor: str | None


class Settlement(Out):
    settlement_id: str
    kind: str
    period: str
    status: str
    lines: int
    release_on: str | None
    started_by: list[str] = Field(description='who started the run: staff ids, or "schedule"')
    approved_by: str | None
    approved_at: datetime | None
    released_at: datetime | None
    report: dict[str, object]


class AssessmentRequest(Body):
    result: Literal["passed", "excellent", "outstanding"]
    reason: Reason


class TierRequest(Body):
    tier: Annotated[int, Field(ge=0, le=5)]
    reason: Reason


class GuideOut(Out):
    member_id: str
    assessment: str | None = None
    guide_tier: int | None = None


class ReferrerCorrection(Body):
    code: Annotated[str | None, Field(max_length=32, description="the new referrer's member code; null unbinds")]
    reason: Reason


class ReferrerCorrected(Out):
    member_id: str
    referrer_id: str | None


class RedPacketAudience(Body):
    kind: Literal["all", "birth_month", "list"]
    month: Annotated[int | None, Field(ge=1, le=12)] = None
    member_ids: Annotated[list[Id] | None, Field(max_length=10_000)] = None


class RedPacketRequest(Body):
    campaign_id: Id
    points: Annotated[int, Field(gt=0, le=1_000_000)]
    audience: RedPacketAudience
    reason: Reason
    dry_run: bool = False


class RedPacketReport(Out):
    campaign_id: str
    points: int
    audience: str
    dry_run: bool
    candidates: int
    granted: int
    already_granted: int
    skipped_not_active: int


class DevClockRequest(Body):
    now: Instant = Field(description="the business time the local stage should show from now on")


class DevClock(Out):
    now: datetime = Field(description="business time: days, months, expiry, token lifetimes")
    wall_now: datetime = Field(description="real time: TOTP steps and signature windows")
