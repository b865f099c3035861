"""The identity rules of RULES.md 1-2 as pure functions: no moto, no clock but the one passed in."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn

from chalicelib.domain import identity
from chalicelib.domain.errors import (
    InvalidCode,
    InvalidIdNumber,
    InvalidName,
    InvalidPhone,
    InvalidState,
    ProfileInvalid,
    RateLimited,
    ReviewChanged,
)
from chalicelib.domain.identity import OtpChallenge, Profile
from chalicelib.domain.rules import OtpRules

RULES = OtpRules()
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)


# --- phone numbers --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13912345678", "+8613912345678"),  # CN is the default region
        ("139 1234 5678", "+8613912345678"),
        ("139-1234-5678", "+8613912345678"),
        ("+86 139 1234 5678", "+8613912345678"),
        ("+8613912345678", "+8613912345678"),
        ("008613912345678", "+8613912345678"),  # the international prefix dialled from China
        ("１３９１２３４５６７８", "+8613912345678"),  # full-width digits from a CJK keyboard
        ("+4915112345678", "+4915112345678"),  # a German mobile in E.164 is kept as is
    ],
)
def test_phone_is_normalised_to_e164_with_cn_as_default_region(raw, e164):
    assert identity.normalize_phone(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "010 6552 9988",  # Beijing landline
        "+86 10 6552 9988",
        "+86 21 6321 1234",  # Shanghai landline
        "1391234567",  # one digit short
        "139123456789",  # one digit long
        "12345",
        "",
        "   ",
        "abc",
        "+",
        "+86",
        "13912345678; DROP TABLE members",
        "<script>alert(1)</script>",
        "+999 1234567",
    ],
)
def test_landlines_and_garbage_are_not_mobile_numbers(raw):
    with pytest.raises(InvalidPhone):
        identity.normalize_phone(raw)


@given(st.text(max_size=40))
def test_normalising_any_text_gives_e164_or_invalid_phone(raw):
    try:
        e164 = identity.normalize_phone(raw)
    except InvalidPhone:
        return
    assert e164.startswith("+") and e164[1:].isascii() and e164[1:].isdigit()
    assert identity.normalize_phone(e164) == e164  # idempotent


@given(st.integers(min_value=0, max_value=99_999_999), st.sampled_from(["139", "138", "186", "150", "177"]))
def test_every_cn_mobile_round_trips_through_e164(local, prefix):
    national = f"{prefix}{local:08d}"
    assert identity.normalize_phone(national) == "+86" + national


# --- masking -----------------------------------------------------------------------------------
def test_a_cn_mobile_is_masked_to_prefix_and_last_four():
    assert identity.mask_phone("+8613912345678") == "+86 139****5678"


@given(st.integers(min_value=0, max_value=99_999_999))
def test_a_masked_phone_hides_the_middle_four_digits(local):
    e164 = f"+86139{local:08d}"
    masked = identity.mask_phone(e164)
    assert masked == f"+86 139****{e164[-4:]}"
    assert e164[-8:-4] not in masked.replace(" ", "")[3:7]  # the middle never shows


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("欧阳娜娜", "欧***"), ("张", "张*"), ("  李四  ", "李*"), ("Ann", "A**"), ("", ""), ("   ", "")],
)
def test_a_name_shows_only_its_first_character(name, masked):
    assert identity.mask_name(name) == masked


def test_an_id_number_shows_region_prefix_and_last_four():
    assert identity.mask_id_number("11010519491231002X") == "110***********002X"


@given(st.text(alphabet="0123456789X", min_size=18, max_size=18))
def test_a_masked_id_number_keeps_its_length_and_hides_the_birth_date(id_number):
    masked = identity.mask_id_number(id_number)
    assert len(masked) == 18
    assert masked[:3] == id_number[:3] and masked[-4:] == id_number[-4:]
    assert set(masked[3:14]) == {"*"}


def test_mask_tail_keeps_the_last_four():
    assert identity.mask_tail("6222021234567890123") == "***************0123"
    assert identity.mask_tail("123") == "***"


# --- names --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("张三", "张三"),
        ("  欧阳娜娜 ", "欧阳娜娜"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("Mary-Jane O'Brien", "Mary-Jane O'Brien"),
        ("J. R. R. Tolkien", "J. R. R. Tolkien"),
        ("Zoe\u0308", "Zoë"),  # combining diaeresis, normalised to one character
    ],
)
def test_real_names_in_any_script_are_accepted(raw, name):
    assert identity.validate_person_name(raw) == name


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "<script>alert(1)</script>",
        "'; DROP TABLE members; --",
        "Robert'); DROP TABLE Students;--",
        "张三2",
        "张\u200b三",  # zero-width space
        "\u202e三张",  # right-to-left override
        "张\x00三",
        "张三😀",
        "---",
        "${jndi:ldap://x}",
    ],
)
def test_markup_digits_and_invisible_characters_are_not_names(raw):
    with pytest.raises(InvalidName):
        identity.validate_person_name(raw)


def test_a_profile_name_is_validated_but_a_blank_one_still_clears_it():
    with pytest.raises(InvalidName):
        identity.apply_profile_changes(COMPLETE, TODAY, name="<b>张三</b>")
    assert identity.apply_profile_changes(COMPLETE, TODAY, name=" ").name is None


# --- resident ID numbers ---------------------------------------------------------------------------
def _iso7064_check(body17: str) -> str:
    """ISO 7064 MOD 11-2, written out from GB 11643 (independent of the library)."""
    total = sum(int(digit) * (2 ** (17 - i) % 11) for i, digit in enumerate(body17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


@pytest.mark.parametrize("body", ["11010519491231002", "36042619910101007", "44030419900307123", "33010619881231456"])
def test_a_resident_id_with_a_correct_check_digit_is_accepted(body):
    number = body + _iso7064_check(body)
    assert identity.validate_resident_id(number) == number
    wrong = body + ("0" if number[-1] != "0" else "1")
    with pytest.raises(InvalidIdNumber):
        identity.validate_resident_id(wrong)


@pytest.mark.parametrize("body", ["31011519851231456", "32058319750601123"])
def test_an_id_first_issued_in_a_county_created_after_the_holders_birth_is_accepted(body):
    # Pudong (310115) exists since 1992, Kunshan city (320583) since 1989; people born
    # earlier who got their first card there carry these codes.
    number = body + _iso7064_check(body)
    assert identity.validate_resident_id(number) == number


@pytest.mark.parametrize("body", ["31999919851231456", "00000019851231456", "11010519490231002"])
def test_an_unknown_county_or_an_impossible_birth_date_is_refused(body):
    with pytest.raises(InvalidIdNumber):
        identity.validate_resident_id(body + _iso7064_check(body))


@given(st.from_regex(r"[0-9]{17}", fullmatch=True) | st.text(max_size=24))
def test_any_text_is_a_valid_id_number_or_invalid_id_number_never_a_crash(text):
    for raw in (text, text[:17] + _iso7064_check(text[:17]) if len(text) >= 17 and text[:17].isdigit() else text):
        try:
            number = identity.validate_resident_id(raw)
        except InvalidIdNumber:
            continue
        assert len(number) == 18 and number[-1] == _iso7064_check(number[:17])


def test_a_lower_case_x_check_digit_is_compacted():
    assert identity.validate_resident_id("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    "raw",
    ["", "123", "11010519491231002", "1101051949123100211", "11010519491331002X", "ABCDEFGHIJKLMNOPQR"],
)
def test_malformed_resident_ids_are_refused(raw):
    with pytest.raises(InvalidIdNumber):
        identity.validate_resident_id(raw)


# --- member codes ------------------------------------------------------------------------------------
def test_a_member_code_is_the_eight_random_digits_plus_their_luhn_digit():
    code = identity.new_member_code(lambda bound: 12_345_678)
    assert code == "12345678" + luhn.calc_check_digit("12345678")
    assert code == "123456782"


@given(st.integers(min_value=0, max_value=10**8 - 1))
def test_every_member_code_has_nine_digits_and_a_valid_luhn_check(drawn):
    code = identity.new_member_code(lambda bound: drawn)
    assert len(code) == 9 and code.isdigit()
    assert code[:8] == f"{drawn:08d}"
    assert luhn.is_valid(code)
    assert identity.is_member_code(code)


def test_member_code_randomness_spans_the_whole_eight_digit_range():
    bounds = []
    identity.new_member_code(lambda bound: bounds.append(bound) or 0)
    assert bounds == [10**8]


@given(st.integers(min_value=0, max_value=10**8 - 1), st.integers(min_value=1, max_value=9))
def test_a_member_code_with_a_wrong_check_digit_is_not_a_member_code(drawn, delta):
    code = identity.new_member_code(lambda bound: drawn)
    wrong = code[:8] + str((int(code[8]) + delta) % 10)
    assert not identity.is_member_code(wrong)


@given(st.text(max_size=12))
def test_is_member_code_agrees_with_an_independent_luhn_check(text):
    expected = len(text) == 9 and text.isascii() and text.isdigit() and luhn.is_valid(text)
    assert identity.is_member_code(text) == expected


@pytest.mark.parametrize("text", ["", "12345678", "1234567820", "12345678a", " 123456782", "١٢٣٤٥٦٧٨٢", "-23456782"])
def test_near_misses_are_not_member_codes(text):
    assert not identity.is_member_code(text)


def test_the_share_link_is_base_slash_r_slash_code():
    assert identity.share_link("https://m.example.cn/", "123456782") == "https://m.example.cn/r/123456782"


# --- one-time codes --------------------------------------------------------------------------
def test_an_otp_code_is_six_zero_padded_digits():
    assert identity.new_otp_code(lambda bound: 42) == "000042"
    assert identity.new_otp_code(lambda bound: 999_999) == "999999"


def test_otp_hashes_depend_on_key_phone_purpose_and_code():
    base = identity.hash_otp(b"k", "idx", "login", "123456")
    assert base != "123456" and len(base) == 64
    assert base == identity.hash_otp(b"k", "idx", "login", "123456")
    assert base != identity.hash_otp(b"other", "idx", "login", "123456")
    assert base != identity.hash_otp(b"k", "idx2", "login", "123456")
    assert base != identity.hash_otp(b"k", "idx", "register", "123456")
    assert base != identity.hash_otp(b"k", "idx", "login", "123457")


def _challenge(sent_at: datetime = NOW, attempts: int = 1, code: str = "123456") -> OtpChallenge:
    return OtpChallenge(
        identity.hash_otp(b"k", "idx", "login", code), sent_at, sent_at + timedelta(seconds=RULES.ttl_s), attempts
    )


def test_the_first_code_can_always_be_sent():
    identity.check_resend(None, NOW, RULES)


@pytest.mark.parametrize(("elapsed", "retry_after"), [(0, 60), (1, 59), (59, 1), (59.5, 1), (30.2, 30)])
def test_a_new_code_within_60_seconds_is_refused_with_the_wait(elapsed, retry_after):
    with pytest.raises(RateLimited) as refused:
        identity.check_resend(_challenge(), NOW + timedelta(seconds=elapsed), RULES)
    assert refused.value.retry_after_s == retry_after


@pytest.mark.parametrize("elapsed", [60, 61, 3600])
def test_a_new_code_after_60_seconds_is_allowed(elapsed):
    identity.check_resend(_challenge(), NOW + timedelta(seconds=elapsed), RULES)


def test_the_right_code_within_five_minutes_is_accepted():
    challenge = _challenge()
    presented = identity.hash_otp(b"k", "idx", "login", "123456")
    identity.check_code(challenge, presented, NOW + timedelta(seconds=299), RULES)


def test_a_code_is_refused_from_the_fifth_minute_on():
    presented = identity.hash_otp(b"k", "idx", "login", "123456")
    with pytest.raises(InvalidCode):
        identity.check_code(_challenge(), presented, NOW + timedelta(seconds=300), RULES)


def test_no_challenge_means_no_valid_code():
    with pytest.raises(InvalidCode):
        identity.check_code(None, "whatever", NOW, RULES)


@pytest.mark.parametrize(("attempts", "left"), [(1, 4), (4, 1), (5, 0)])
def test_a_wrong_code_reports_the_tries_left(attempts, left):
    wrong = identity.hash_otp(b"k", "idx", "login", "000000")
    with pytest.raises(InvalidCode) as refused:
        identity.check_code(_challenge(attempts=attempts), wrong, NOW, RULES)
    assert refused.value.details["attempts_left"] == left


def test_the_right_code_on_the_fifth_try_counts_and_the_sixth_never_does():
    presented = identity.hash_otp(b"k", "idx", "login", "123456")
    identity.check_code(_challenge(attempts=5), presented, NOW, RULES)
    with pytest.raises(InvalidCode):
        identity.check_code(_challenge(attempts=6), presented, NOW, RULES)


# --- profile -----------------------------------------------------------------------------------------
COMPLETE = Profile(name="张三", birthday=date(1990, 5, 1), region="浙江省杭州市")


@pytest.mark.parametrize(
    ("profile", "complete"),
    [
        (Profile(), False),
        (Profile(name="张三"), False),
        (Profile(name="张三", birthday=date(1990, 5, 1)), False),
        (Profile(birthday=date(1990, 5, 1), region="杭州"), False),
        (Profile(name="张三", region="杭州"), False),
        (COMPLETE, True),
        (Profile(name="张三", birthday=date(1990, 5, 1), region="杭州", babies=(date(2025, 1, 1),)), True),
    ],
)
def test_a_profile_is_complete_with_name_birthday_and_region(profile, complete):
    assert profile.complete is complete


def test_the_profile_becomes_complete_only_the_first_time():
    partial = Profile(name="张三", birthday=date(1990, 5, 1))
    assert identity.profile_became_complete(partial, COMPLETE, completed_once=False)
    assert not identity.profile_became_complete(partial, COMPLETE, completed_once=True)  # completed before
    assert not identity.profile_became_complete(COMPLETE, COMPLETE, completed_once=False)  # already complete
    assert not identity.profile_became_complete(Profile(), partial, completed_once=False)  # still incomplete


def test_birth_months_are_the_members_and_every_babys():
    profile = Profile(birthday=date(1990, 5, 1), babies=(date(2024, 5, 9), date(2025, 11, 2)))
    assert profile.birth_months == frozenset({5, 11})
    assert Profile().birth_months == frozenset()


def test_a_partial_update_changes_only_the_given_fields():
    after = identity.apply_profile_changes(COMPLETE, TODAY, region="  上海  ")
    assert after == Profile(name="张三", birthday=date(1990, 5, 1), region="上海")


def test_blank_text_clears_a_field_and_none_keeps_it():
    after = identity.apply_profile_changes(COMPLETE, TODAY, name="   ")
    assert after.name is None and after.region == COMPLETE.region
    assert not after.complete


def test_babies_are_replaced_and_kept_in_birthday_order():
    after = identity.apply_profile_changes(COMPLETE, TODAY, babies=[date(2025, 3, 1), date(2023, 1, 1)])
    assert after.babies == (date(2023, 1, 1), date(2025, 3, 1))
    assert identity.apply_profile_changes(after, TODAY, babies=[]).babies == ()


def test_a_birthday_today_is_fine_and_tomorrow_is_refused():
    assert identity.apply_profile_changes(Profile(), TODAY, birthday=TODAY).birthday == TODAY
    with pytest.raises(ProfileInvalid):
        identity.apply_profile_changes(Profile(), TODAY, birthday=TODAY + timedelta(days=1))
    with pytest.raises(ProfileInvalid):
        identity.apply_profile_changes(Profile(), TODAY, babies=[TODAY + timedelta(days=1)])


def test_birthdays_before_1900_are_refused():
    with pytest.raises(ProfileInvalid):
        identity.apply_profile_changes(Profile(), TODAY, birthday=date(1899, 12, 31))
    assert identity.apply_profile_changes(Profile(), TODAY, birthday=date(1900, 1, 1)).birthday == date(1900, 1, 1)


def test_at_most_ten_babies():
    ten = [date(2020, 1, day) for day in range(1, 11)]
    assert len(identity.apply_profile_changes(Profile(), TODAY, babies=ten).babies) == 10
    with pytest.raises(ProfileInvalid):
        identity.apply_profile_changes(Profile(), TODAY, babies=[*ten, date(2020, 2, 1)])


NAMES = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", "张三", "Ann Lee"]),
    st.text(alphabet=st.characters(categories=("Lu", "Ll", "Lo")), min_size=1, max_size=10),
)


@given(
    NAMES,
    st.one_of(st.none(), st.dates(min_value=date(1900, 1, 1), max_value=TODAY)),
    st.one_of(st.none(), st.text(max_size=10)),
)
def test_a_valid_update_is_complete_exactly_when_all_three_fields_are_set(name, birthday, region):
    after = identity.apply_profile_changes(Profile(), TODAY, name=name, birthday=birthday, region=region)
    assert after.complete == bool((name or "").strip() and birthday and (region or "").strip())


# --- late referral binding ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("age", "open_"),
    [
        (timedelta(0), True),
        (timedelta(days=29, hours=23), True),
        (timedelta(days=30), True),
        (timedelta(days=30, seconds=1), False),
        (timedelta(days=365), False),
    ],
)
def test_late_binding_is_open_for_30_days_after_registration(age, open_):
    assert identity.late_binding_open(NOW - age, None, NOW, 30) is open_


def test_late_binding_closes_with_the_first_paid_order_even_inside_the_window():
    assert not identity.late_binding_open(NOW - timedelta(days=1), NOW - timedelta(hours=1), NOW, 30)


@given(st.integers(min_value=0, max_value=90 * 24), st.booleans())
def test_late_binding_open_iff_within_window_and_never_paid(hours, paid):
    registered = NOW - timedelta(hours=hours)
    first_paid = registered + timedelta(minutes=1) if paid else None
    assert identity.late_binding_open(registered, first_paid, NOW, 30) == (hours <= 30 * 24 and not paid)


# --- randomness is injected, and production's is the OS CSPRNG --------------------------------------
def test_production_draws_member_and_otp_codes_from_the_os_csprng():
    import dataclasses
    import secrets

    from chalicelib.bootstrap import Container

    (randbelow,) = [f for f in dataclasses.fields(Container) if f.name == "randbelow"]
    assert randbelow.default is secrets.randbelow


def test_a_thousand_seeded_member_codes_are_all_valid():
    rng = random.Random(7)
    codes = {identity.new_member_code(rng.randrange) for _ in range(1000)}
    assert len(codes) > 990
    assert all(identity.is_member_code(code) for code in codes)


# --- reviews ------------------------------------------------------------------------------------------------
def test_a_decision_on_the_version_read_of_a_pending_submission_is_allowed():
    identity.check_decision("pending", current_version=3, seen_version=3)


@pytest.mark.parametrize("seen", [1, 2, 4])
def test_a_decision_on_another_version_is_review_changed_whatever_the_status(seen):
    for status in ("pending", "approved", "rejected"):
        with pytest.raises(ReviewChanged):
            identity.check_decision(status, current_version=3, seen_version=seen)


@pytest.mark.parametrize("status", ["approved", "rejected"])
def test_a_decided_submission_is_neither_decided_again_nor_revealed(status):
    with pytest.raises(InvalidState):
        identity.check_decision(status, current_version=1, seen_version=1)
    with pytest.raises(InvalidState):
        identity.require_pending(status)
