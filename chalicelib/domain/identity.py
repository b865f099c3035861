"""Identity rules: phone numbers, member codes, one-time codes, profiles, masking.

Pure: the well-kept libraries for solved problems (phonenumbers, python-stdnum) and the
standard library, nothing from AWS. Randomness is passed in (``randbelow``) so that the
rules are testable; production passes ``secrets.randbelow``.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

import phonenumbers
from stdnum import luhn, numdb
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from .errors import (
    InvalidCode,
    InvalidIdNumber,
    InvalidName,
    InvalidPhone,
    InvalidState,
    ProfileInvalid,
    RateLimited,
    ReviewChanged,
)
from .rules import OtpRules

Randbelow = Callable[[int], int]

MEMBER_CODE_RANDOM_DIGITS = 8
MAX_BABIES = 10
_MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


class MemberStatus(StrEnum):
    PENDING = "pending"  # registered by a referrer on the friend's behalf, number not proven yet
    ACTIVE = "active"
    FROZEN = "frozen"
    CLOSED = "closed"


class OtpPurpose(StrEnum):
    REGISTER = "register"
    LOGIN = "login"
    STAFF = "staff"
    STEP_UP = "step_up"  # a signed-in member proves the phone again (``domain.step_up``)


class StaffRole(StrEnum):
    OPS = "ops"
    FINANCE = "finance"
    AUDITOR = "auditor"
    ADMIN = "admin"


NUTRITIONIST_ROLE = "nutritionist"


# --- phone numbers -----------------------------------------------------------------------
def phone_country(e164: str) -> str:
    """The ISO region of a number's calling code (``CN`` for +86; ``ZZ`` if none), e.g. the
    country whose daily SMS budget it draws on."""
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or "ZZ"


def normalize_phone(raw: str, default_region: str = "CN") -> str:
    """A mobile number in E.164, or ``InvalidPhone``."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone() from exc
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidPhone()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """``+86 138****0000``: country code, the first three and the last four digits."""
    number = phonenumbers.parse(e164, None)
    national = str(number.national_number)
    keep_head = 3 if len(national) > 7 else 1
    hidden = max(len(national) - keep_head - 4, 1)
    return f"+{number.country_code} {national[:keep_head]}{'*' * hidden}{national[-4:]}"


def mask_name(name: str) -> str:
    """The first character and one star per remaining character: ``张**``."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_tail(value: str, keep: int = 4) -> str:
    """Stars and the last ``keep`` characters: ``************1234``."""
    value = value.strip()
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


def mask_id_number(id_number: str) -> str:
    """The region prefix and the last four characters: ``110***********002X``."""
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]


# --- names --------------------------------------------------------------------------------------------
# Separators real names use: the middle dots of transliterated and minority names
# (阿依古丽·买买提), initials, hyphens and apostrophes (O'Brien).
_NAME_SEPARATORS = frozenset(" ·•・.'’-")


def validate_person_name(raw: str) -> str:
    """A person's name, trimmed and NFC-normalised, or ``InvalidName``.

    Letters and combining marks of any script plus a few separators: no digits, markup,
    control or invisible formatting characters, which no real name needs and which would
    travel into every screen and export that shows the name.
    """
    name = unicodedata.normalize("NFC", raw).strip()
    if not any(unicodedata.category(ch).startswith("L") for ch in name):
        raise InvalidName()
    for ch in name:
        if ch not in _NAME_SEPARATORS and unicodedata.category(ch)[0] not in "LM":
            raise InvalidName()
    return name


# --- resident identity card ------------------------------------------------------------------
def validate_resident_id(raw: str) -> str:
    """The compact, checksum-valid mainland resident ID number, or ``InvalidIdNumber``.

    The checksum and the birth date are checked with python-stdnum, but not through
    ``ric.validate``: it raises ``KeyError`` for an unknown county of a known province,
    and it insists that the county already existed in the holder's birth year, while the
    code is the county where the card was first issued, often years after birth
    (everyone born before 1992 with a Pudong household carries 310115).
    """
    number = ric.compact(raw)
    body = number[:-1]
    if len(number) != 18 or not (body.isascii() and body.isdigit()) or number[-1] != ric.calc_check_digit(number):
        raise InvalidIdNumber()
    try:
        ric.get_birth_date(number)
    except ValidationError as exc:
        raise InvalidIdNumber() from exc
    if not _known_county(number[:6]):
        raise InvalidIdNumber()
    return number


def _known_county(code: str) -> bool:
    return any("county" in props for _, props in numdb.get("cn/loc").info(code))


# --- member codes --------------------------------------------------------------------------------
def new_member_code(randbelow: Randbelow) -> str:
    """Eight random digits plus a Luhn check digit (RULES.md 1)."""
    body = f"{randbelow(10**MEMBER_CODE_RANDOM_DIGITS):0{MEMBER_CODE_RANDOM_DIGITS}d}"
    return body + luhn.calc_check_digit(body)


def is_member_code(text: str) -> bool:
    return len(text) == MEMBER_CODE_RANDOM_DIGITS + 1 and text.isdigit() and luhn.is_valid(text)


def share_link(base_url: str, member_code: str) -> str:
    return f"{base_url.rstrip('/')}/r/{member_code}"


# --- one-time codes ----------------------------------------------------------------------------------
def new_otp_code(randbelow: Randbelow, digits: int = 6) -> str:
    return f"{randbelow(10**digits):0{digits}d}"


def hash_otp(key: bytes, phone_index: str, purpose: str, code: str) -> str:
    """Keyed hash of a code: a leaked table alone cannot be brute-forced offline."""
    message = f"{phone_index}|{purpose}|{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class OtpChallenge:
    """The stored state of the last code sent to one number for one purpose."""

    code_hash: str
    sent_at: datetime
    expires_at: datetime
    attempts: int = 0


def check_resend(previous: OtpChallenge | None, now: datetime, rules: OtpRules) -> None:
    """Refuse a new code sooner than ``resend_after_s`` after the last one. A last code
    "sent" after now (the local stage's clock was moved back) does not hold anyone up."""
    if previous is None or previous.sent_at > now:
        return
    wait = (previous.sent_at + timedelta(seconds=rules.resend_after_s) - now).total_seconds()
    if wait > 0:
        raise RateLimited(int(wait) + (wait % 1 > 0), "A new code can be requested shortly.")


def check_code(challenge: OtpChallenge | None, presented_hash: str, now: datetime, rules: OtpRules) -> None:
    """Accept a code only if it matches and is unexpired.

    ``challenge.attempts`` already counts this try: the caller spends a try atomically
    *before* comparing, so that concurrent guesses cannot exceed ``max_attempts``.
    """
    if challenge is None or now >= challenge.expires_at or challenge.attempts > rules.max_attempts:
        raise InvalidCode()
    if not hmac.compare_digest(challenge.code_hash, presented_hash):
        raise InvalidCode(attempts_left=max(rules.max_attempts - challenge.attempts, 0))


# --- profile ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Profile:
    name: str | None = None
    birthday: date | None = None
    region: str | None = None
    babies: tuple[date, ...] = field(default_factory=tuple)

    @property
    def complete(self) -> bool:
        """RULES.md 1: name, birthday and region are all set."""
        return bool(self.name and self.birthday and self.region)

    @property
    def birth_months(self) -> frozenset[int]:
        """Months that double purchase points: the member's and every baby's birth month."""
        days = ([self.birthday] if self.birthday else []) + list(self.babies)
        return frozenset(d.month for d in days)


def apply_profile_changes(
    current: Profile,
    today: date,
    *,
    name: str | None = None,
    birthday: date | None = None,
    region: str | None = None,
    babies: Sequence[date] | None = None,
) -> Profile:
    """The profile after a partial update; ``None`` leaves a field as it was."""
    for day in ([birthday] if birthday else []) + list(babies or []):
        if day > today:
            raise ProfileInvalid("A birthday cannot be in the future.")
        if day.year < 1900:
            raise ProfileInvalid("A birthday must be after 1900.")
    if babies is not None and len(babies) > MAX_BABIES:
        raise ProfileInvalid(f"At most {MAX_BABIES} babies can be listed.")
    if name is not None and name.strip():
        name = validate_person_name(name)
    return Profile(
        name=current.name if name is None else name.strip() or None,
        birthday=current.birthday if birthday is None else birthday,
        region=current.region if region is None else region.strip() or None,
        babies=current.babies if babies is None else tuple(sorted(babies)),
    )


def profile_became_complete(before: Profile, after: Profile, completed_once: bool) -> bool:
    """True exactly at the first moment a profile is complete (RULES.md 3.1, once)."""
    return after.complete and not before.complete and not completed_once


# --- late referral binding --------------------------------------------------------------------------------
def late_binding_open(registered_at: datetime, first_paid_at: datetime | None, now: datetime, window_days: int) -> bool:
    """Decision (RULES.md 2): before the first paid order and within the window."""
    return first_paid_at is None and now - registered_at <= timedelta(days=window_days)


# --- reviews (实名认证, 营养师认证) ---------------------------------------------------------------------
def require_pending(status: str) -> None:
    """Only a submission that waits for ops may be read in clear or decided."""
    if status != "pending":
        raise InvalidState(f"This submission is already {status}.")


def check_decision(status: str, current_version: int, seen_version: int) -> None:
    """A decision binds to the version the reviewer read: a (re)submission since then
    voids it, so nobody approves details they never saw."""
    if seen_version != current_version:
        raise ReviewChanged()
    require_pending(status)
