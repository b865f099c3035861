"""Identity entities: members, look-up items that make phone and codes unique, one-time
codes, rate counters, refresh-token families, staff and reviews (KYC, nutritionist).
Personal data is stored only as ``*_enc`` ciphertext plus ``*_index`` blind
indexes (see ``adapters.crypto``).
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)

from .base import BaseItem, gsi


class MemberItem(BaseItem):
    """``MEMBER#<id>`` / ``PROFILE``: one member, their place in the referral tree.

    gsi1: ``REFERRER#<referrer id>`` / ``<registered_at>#<id>`` lists direct referrals in
    registration order (the tie rule of RULES.md 5.1 reads this order).
    gsi2: ``MEMBERS#<shard>`` / ``P#<id>``: the population, read shard by shard in parallel.
    gsi3: ``CHURN#<YYYY-MM>`` / ``<closed_at>#<id>`` once closed, for churn statistics.
    """

    SK = "PROFILE"
    member_id = UnicodeAttribute()
    status = UnicodeAttribute()
    member_code = UnicodeAttribute(null=True)
    phone_enc = UnicodeAttribute(null=True)
    phone_index = UnicodeAttribute(null=True)
    registered_at = UTCDateTimeAttribute()
    activated_at = UTCDateTimeAttribute(null=True)
    referrer_id = UnicodeAttribute(null=True)
    referrer_bound_at = UTCDateTimeAttribute(null=True)
    bound_via = UnicodeAttribute(null=True)
    name_enc = UnicodeAttribute(null=True)
    birthday_enc = UnicodeAttribute(null=True)
    babies_enc = UnicodeAttribute(null=True)
    birth_months = ListAttribute(of=NumberAttribute, null=True)
    region = UnicodeAttribute(null=True)
    profile_completed_at = UTCDateTimeAttribute(null=True)
    roles = UnicodeSetAttribute(null=True)
    guide_tier = NumberAttribute(default=0)
    assessment = UnicodeAttribute(null=True)  # lecture assessment of a nutritionist
    first_paid_at = UTCDateTimeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    close_reason = UnicodeAttribute(null=True)
    # consent state (adapters.dynamodb.consent): document -> version accepted; purposes granted
    accepted_docs = JSONAttribute(null=True)
    consents = UnicodeSetAttribute(null=True)
    version = VersionAttribute()

    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    children = gsi(1)()
    population = gsi(2)()
    churn = gsi(3)()

    @staticmethod
    def pk_of(member_id: str) -> str:
        return f"MEMBER#{member_id}"


class PhoneItem(BaseItem):
    """``PHONE#<phone index>`` / ``PHONE``: makes a member's number unique, finds the member."""

    SK = "PHONE"
    member_id = UnicodeAttribute()


class MemberCodeItem(BaseItem):
    """``MCODE#<member code>`` / ``MCODE``: makes a member code unique, resolves it."""

    SK = "MCODE"
    member_id = UnicodeAttribute()


class OtpItem(BaseItem):
    """``OTP#<phone index>#<purpose>`` / ``OTP``: the last code sent (hashed), its tries."""

    SK = "OTP"
    code_hash = UnicodeAttribute()
    sent_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    attempts = NumberAttribute(default=0)


class CounterItem(BaseItem):
    """``RATE#<scope>#<subject>#<window>`` / ``RATE``: a fixed-window rate-limit counter."""

    SK = "RATE"
    count = NumberAttribute(default=0)


class SessionItem(BaseItem):
    """``SESSION#<family id>`` / ``SESSION``: one refresh-token family (one sign-in).

    The member's access tokens name their family (``sid``): once it is revoked (logout,
    reuse of a spent refresh token) they are refused from the next request on.
    ``stepped_up_at``: when this session last proved the phone (sign-in or step-up code;
    wall clock), removed when a payout-account change spends the proof (``domain.step_up``)."""

    SK = "SESSION"
    member_id = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    generation = NumberAttribute(default=0)
    revoked = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    stepped_up_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(family_id: str) -> tuple[str, str]:
        return f"SESSION#{family_id}", SessionItem.SK


class StaffItem(BaseItem):
    """``STAFF#<id>`` / ``STAFF``: a staff account with its roles and TOTP secret.

    ``session_epoch`` is carried by every access token of the account (``ver``); a role
    change, a deactivation, a reactivation or a logout raises it, so every token issued
    before is refused from the next request on. ``roles`` is absent when empty (DynamoDB
    stores no empty set).
    gsi3: ``STAFF`` / ``<created_at>#<id>``: every staff account, oldest first.
    """

    SK = "STAFF"
    LIST = "STAFF"
    staff_id = UnicodeAttribute()
    phone_enc = UnicodeAttribute()
    phone_index = UnicodeAttribute()
    name_enc = UnicodeAttribute(null=True)
    roles = UnicodeSetAttribute(null=True)
    totp_enc = UnicodeAttribute()
    last_totp_step = NumberAttribute(default=0)
    active = BooleanAttribute(default=True)
    session_epoch = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    listing = gsi(3)()


def staff_key(staff_id: str) -> tuple[str, str]:
    return f"STAFF#{staff_id}", StaffItem.SK


class StaffPhoneItem(BaseItem):
    """``STAFFPHONE#<phone index>`` / ``STAFFPHONE``: finds a staff account by number."""

    SK = "STAFFPHONE"
    staff_id = UnicodeAttribute()


class ReviewItem(BaseItem):
    """``MEMBER#<id>`` / ``KYC`` or ``CERT``: a submission that ops approve or reject.

    gsi3: ``REVIEW#<kind>#pending`` / ``<submitted_at>#<id>`` while it waits for ops.
    """

    member_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # "kyc" | "nutritionist"
    status = UnicodeAttribute()  # pending | approved | rejected
    details_enc = UnicodeAttribute()  # the submission as encrypted JSON
    # 1, 2, ... one more on every (re)submission; a decision is conditioned on it.
    # Absent on submissions stored before versions existed: those read as version 1.
    version = NumberAttribute(null=True)
    id_index = UnicodeAttribute(null=True)  # KYC: blind index of the ID number
    submitted_at = UTCDateTimeAttribute()
    decided_at = UTCDateTimeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    queue = gsi(3)()


class IdNumberItem(BaseItem):
    """``IDNUM#<id number index>`` / ``IDNUM``: one verified identity, one member."""

    SK = "IDNUM"
    member_id = UnicodeAttribute()
