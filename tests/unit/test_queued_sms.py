"""A queued SMS: one shape and one size whether it is a code or a decoy, and what the
worker makes of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.rules import OtpRules
from chalicelib.domain.sms import Disposition, QueuedSms, otp_code_sms, templates_by_name

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
RULES = OtpRules()


def queued(deliver: bool, code: str = "123456", not_after: datetime = NOW + timedelta(minutes=5)) -> QueuedSms:
    sms = otp_code_sms("+8613912345678", code, RULES)
    return QueuedSms("01KAXYZ0000000000000000000", sms, int(not_after.timestamp()), deliver)


def test_a_decoy_is_as_long_as_the_code_it_stands_for():
    assert len(queued(True).to_json()) == len(queued(False, code="987654").to_json())


def test_a_message_reads_back_as_it_was_written():
    message = queued(True)
    again = QueuedSms.from_json(message.to_json(), templates_by_name(RULES))
    assert again == message
    assert again.sms.text == message.sms.text and "123456" in again.sms.text


def test_a_code_is_sent_until_its_lifetime_ends_and_never_after():
    message = queued(True)
    assert message.disposition(NOW + timedelta(seconds=299)) is Disposition.SEND
    assert message.disposition(NOW + timedelta(seconds=300)) is Disposition.EXPIRED


def test_a_decoy_is_never_sent_however_fresh():
    assert queued(False).disposition(NOW) is Disposition.DECOY
