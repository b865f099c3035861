"""SMS one-time codes: sending under the rate limits, spending tries, consuming a code.

RULES.md 1: 6 digits, valid 5 minutes, at most 5 tries, a new code no sooner than 60 s
after the last, at most 10 codes a number a day and 30 a client IP an hour. Codes are
stored as keyed hashes only. On top, a daily SMS budget for all numbers and one per
country (``SmsBudgetRules``) bounds what SMS pumping can cost.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError
from ulid import ULID

from ..adapters.dynamodb.base import epoch
from ..adapters.dynamodb.identity import (
    CounterItem,
    MemberItem,
    OtpItem,
    PhoneItem,
    StaffItem,
    StaffPhoneItem,
)
from ..adapters.dynamodb.uow import UnitOfWork
from ..adapters.observability import count, logger
from ..adapters.queues import QueueNotReached
from ..bootstrap import Container
from ..domain import identity
from ..domain.calendar import local_date, seconds_until_next_local_day
from ..domain.errors import ConcurrentUpdate, InvalidCode, RateLimited, SmsBudgetExhausted
from ..domain.identity import MemberStatus, OtpChallenge, OtpPurpose
from ..domain.sms import QUEUED_SMS_FIELD, QueuedSms, otp_code_sms
from .common import retrying


@dataclass(frozen=True)
class CodeSent:
    expires_in: int
    resend_after: int


def phone_index(c: Container, e164: str) -> str:
    return c.keys.blind_index("phone", e164)


def _otp_key(index: str, purpose: OtpPurpose) -> tuple[str, str]:
    return f"OTP#{index}#{purpose.value}", OtpItem.SK


def count_in_window(
    uow: UnitOfWork,
    key: str,
    limit: int,
    retry_after_s: int,
    expires: datetime,
    refusal: RateLimited | None = None,
) -> None:
    """One more use of a fixed-window limit, refused atomically once ``limit`` is reached."""
    counter = CounterItem(pk=f"RATE#{key}", sk=CounterItem.SK)
    uow.update(
        counter,
        actions=[CounterItem.count.add(1), CounterItem.ttl.set(epoch(expires))],
        condition=CounterItem.count.does_not_exist() | (CounterItem.count < limit),
        on_fail=refusal or RateLimited(retry_after_s),
    )


# an id no account has: an unknown number's second read asks for it, so that it reads
# what a known number reads
_NOBODY = "-"


def _should_send(index: str, purpose: OtpPurpose) -> bool:
    """Send only where a code can be used. Every number takes the same two reads (the
    look-up, then the account it names or one that does not exist): no enumeration."""
    if purpose is OtpPurpose.STAFF:
        link = StaffPhoneItem.get_or_none(f"STAFFPHONE#{index}", StaffPhoneItem.SK)
        staff = StaffItem.get_or_none(f"STAFF#{link.staff_id if link else _NOBODY}", StaffItem.SK)
        return bool(link and staff and staff.active)
    if purpose is OtpPurpose.LOGIN:
        link = PhoneItem.get_or_none(f"PHONE#{index}", PhoneItem.SK)
        member = MemberItem.get_or_none(f"MEMBER#{link.member_id if link else _NOBODY}", MemberItem.SK)
        return bool(link and member and member.status != MemberStatus.CLOSED)
    return True


def _count_sms_budget(uow: UnitOfWork, c: Container, phone: str, now: datetime) -> None:
    """The global and the country's daily SMS budgets (RULES.md 1 has none: a decision)."""
    budget = c.rules.sms_budget
    day = local_date(now).isoformat()
    country = identity.phone_country(phone)
    retry_after = seconds_until_next_local_day(now)
    for name, limit in (("all numbers", budget.per_day), (country, budget.for_country(country))):
        count_in_window(
            uow,
            f"sms-budget#{name}#{day}",
            limit,
            retry_after,
            now + timedelta(days=2),
            refusal=SmsBudgetExhausted(retry_after, name),
        )


def _alert_budget_spent(c: Container, refused: SmsBudgetExhausted, now: datetime) -> None:
    """Tell ops once per budget and day: the first refused request wins a limit of one."""
    day = local_date(now).isoformat()
    uow = c.uow()
    count_in_window(uow, f"sms-budget-alert#{refused.budget}#{day}", 1, 1, now + timedelta(days=2))
    try:
        uow.commit()
    except (RateLimited, ConcurrentUpdate):  # another refused request is telling ops
        return
    logger.warning("sms budget spent", extra={"budget": refused.budget, "day": day})
    count("SmsBudgetExhausted")
    c.ops.notify(
        f"SMS budget spent: {refused.budget}",
        f"The daily SMS budget for {refused.budget} is spent for {day} (Asia/Shanghai): code requests "
        "are refused with 429 sms_budget_exhausted until midnight. Check for SMS pumping before "
        "raising SmsBudgetRules.",
        now,
    )


def _queue(c: Container, queued: QueuedSms) -> None:
    """Hand the message to the SMS worker, encrypted: the queue never holds a code or a
    number in clear. A failure changes nothing in the answer (the member asks again after
    the resend wait); it is logged by error code and counted as a failed SMS."""
    try:
        c.sms_queue.send(c.cipher.encrypt(queued.to_json(), field=QUEUED_SMS_FIELD))
    except QueueNotReached as failure:
        logger.warning("sms not queued", extra={"error_code": failure.code, "template": queued.sms.template.name})
        count("SmsFailed")


def send_code(c: Container, phone_raw: str, purpose: OtpPurpose, client_ip: str) -> CodeSent:
    """Store a new challenge under the limits and the SMS budget, then queue the code.

    Every number is read, counted, written and queued the same way, whether or not it
    may use the code (an unregistered number asking a login code, say): the stored
    challenge then holds the hash of a value no code can equal, and the queued message is
    a decoy of the same size that the worker drops. So the resend wait, the daily cap,
    the budget and the time the request takes are alike for members and strangers.
    """
    rules = c.rules.otp
    phone = identity.normalize_phone(phone_raw)
    index = phone_index(c, phone)
    now = c.wall_clock.now()  # codes and their limits are security time
    pk, sk = _otp_key(index, purpose)
    # "a new code no sooner than 60 s after the last" is per number, whatever the purpose
    sent = [item for other in OtpPurpose if (item := OtpItem.get_or_none(*_otp_key(index, other)))]
    previous = max(sent, key=lambda item: item.sent_at, default=None)
    identity.check_resend(
        previous and OtpChallenge(previous.code_hash, previous.sent_at, previous.expires_at, previous.attempts),
        now,
        rules,
    )
    send = _should_send(index, purpose)
    code = identity.new_otp_code(c.randbelow, rules.digits)
    stored = code if send else f"unsent:{secrets.token_hex(16)}"
    hour_end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    day = local_date(now)

    def attempt() -> None:
        uow = c.uow()
        count_in_window(
            uow,
            f"otp-ip#{client_ip}#{now:%Y%m%d%H}",
            rules.max_per_ip_per_hour,
            int((hour_end - now).total_seconds()) + 1,
            hour_end + timedelta(days=1),
        )
        count_in_window(
            uow,
            f"otp-phone#{index}#{day.isoformat()}",
            rules.max_per_phone_per_day,
            seconds_until_next_local_day(now),
            now + timedelta(days=2),
        )
        _count_sms_budget(uow, c, phone, now)
        resend_guard = (
            OtpItem.pk.does_not_exist()
            | (OtpItem.sent_at <= now - timedelta(seconds=rules.resend_after_s))
            | (OtpItem.sent_at > now)
        )
        uow.put(
            OtpItem(
                pk=pk,
                sk=sk,
                code_hash=identity.hash_otp(c.keys.otp_key, index, purpose.value, stored),
                sent_at=now,
                expires_at=now + timedelta(seconds=rules.ttl_s),
                attempts=0,
                ttl=epoch(now + timedelta(seconds=rules.ttl_s, days=1)),
            ),
            condition=resend_guard,
            on_fail=RateLimited(rules.resend_after_s),
        )
        uow.commit()

    try:
        # the budget counters are shared by every request: a lost race is retried
        retrying(attempt)
    except SmsBudgetExhausted as refused:
        _alert_budget_spent(c, refused, now)
        raise
    not_after = epoch(now + timedelta(seconds=rules.ttl_s))
    _queue(c, QueuedSms(str(ULID()), otp_code_sms(phone, code, rules), not_after, deliver=send))
    return CodeSent(expires_in=rules.ttl_s, resend_after=rules.resend_after_s)


def spend_try(c: Container, index: str, purpose: OtpPurpose, code: str) -> OtpItem:
    """Spend one try atomically, then compare; the matching item is returned for ``consume``."""
    now = c.wall_clock.now()
    rules = c.rules.otp
    if len(code) != rules.digits or not code.isascii() or not code.isdigit():
        raise InvalidCode()
    pk, sk = _otp_key(index, purpose)
    item = OtpItem(pk=pk, sk=sk)
    try:
        item.update(
            actions=[OtpItem.attempts.add(1)],
            condition=(OtpItem.pk.exists() & (OtpItem.attempts < rules.max_attempts) & (OtpItem.expires_at > now)),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise InvalidCode() from exc
    challenge = OtpChallenge(item.code_hash, item.sent_at, item.expires_at, item.attempts)
    presented = identity.hash_otp(c.keys.otp_key, index, purpose.value, code)
    identity.check_code(challenge, presented, now, rules)
    return item


def consume(uow: UnitOfWork, item: OtpItem) -> None:
    """Delete the code in the caller's transaction; a second use of the same code fails."""
    uow.delete(
        item,
        condition=(OtpItem.code_hash == item.code_hash) & (OtpItem.attempts == item.attempts),
        on_fail=InvalidCode(),
    )
