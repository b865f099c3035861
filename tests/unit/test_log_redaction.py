"""What the project's logger writes (RULES.md 6.6): personal data never reaches a log line,
whatever the line carries it in (message, extra keys, an exception and its stack trace),
and the ordinary values of an operator's log (ids, ULIDs, amounts, timestamps) stay."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.observability import logger, redact

PHONE = "13912345678"
CARD = "6222021234567890123"
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def emitted() -> Iterator[Callable[[], list[dict]]]:
    """The JSON lines the logger's own handler writes, parsed."""
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.registered_handler.setStream(previous)


def written(emitted) -> str:
    return "\n".join(json.dumps(line, ensure_ascii=False) for line in emitted())


def settle_payout(account: str) -> None:
    raise ValueError(f"payout to {account} for member {PHONE} (id {ID_NUMBER}) refused")


def test_an_exception_and_its_stack_trace_are_written_without_personal_data(emitted):
    try:
        settle_payout(CARD)
    except ValueError:
        logger.exception("unhandled error", extra={"route": "POST /v1/me/payout-account"})
    [line] = emitted()
    assert line["exception_name"] == "ValueError" and "settle_payout" in line["exception"]
    assert "[phone]" in line["exception"] and "[card-number]" in line["exception"]
    assert "[id-number]" in line["exception"]
    assert line["stack_trace"]["frames"][-1]["function"] == "settle_payout"
    text = written(emitted)
    for needle in (PHONE, CARD, ID_NUMBER, "1234567890"):
        assert needle not in text


@pytest.mark.parametrize(
    "text, mask",
    [
        ("13912345678", "[phone]"),
        ("139-1234-5678", "[phone]"),
        ("139 1234 5678", "[phone]"),
        ("+86 139-1234-5678", "[phone]"),
        ("+86 139 1234 5678", "[phone]"),
        ("+8613912345678", "[phone]"),
        ("008613912345678", "[phone]"),
        ("+44 20 7946 0958", "[phone]"),
        ("+14155550100", "[phone]"),
        ("6222021234567890", "[card-number]"),
        ("6222021234567890123", "[card-number]"),
        ("6222 0212 3456 7890 123", "[card-number]"),
        ("6222-0212-3456-7890", "[card-number]"),
        ("11010519491231002X", "[id-number]"),
        ("110105194912310021", "[id-number]"),
    ],
)
def test_each_written_form_is_masked_in_text_next_to_chinese_or_punctuation(emitted, text, mask):
    logger.info(f"号码{text}。", extra={"detail": f"({text})", "nested": {"list": [text]}})
    [line] = emitted()
    assert line["message"] == f"号码{mask}。"
    assert line["detail"] == f"({mask})" and line["nested"] == {"list": [mask]}
    assert text not in written(emitted)


def test_names_and_addresses_are_masked_by_their_keys_wherever_they_sit(emitted):
    # a top-level "name" cannot be an extra key (the log record has its own), but a message can be a dict
    logger.info({"what": "payout account", "name": "张三"})
    logger.info(
        "payout account",
        extra={
            "real_name": "欧阳震华",
            "holder": "李四",
            "address": "上海市浦东新区世纪大道100号",
            "account": {"holder_name": "王五", "bank": "ICBC"},
            "people": [{"nickname": "小明"}, {"full_name": "司马光"}],
            "empty": {"name": None},
        },
    )
    [message, line] = emitted()
    assert message["message"] == {"what": "payout account", "name": "[redacted]"}
    assert line["real_name"] == line["holder"] == line["address"] == "[redacted]"
    assert line["account"] == {"holder_name": "[redacted]", "bank": "ICBC"}
    assert line["people"] == [{"nickname": "[redacted]"}, {"full_name": "[redacted]"}]
    assert line["empty"] == {"name": None}
    for needle in ("张三", "欧阳震华", "李四", "上海市", "王五", "小明", "司马光"):
        assert needle not in written(emitted)


def test_the_ordinary_values_of_an_operators_log_stay(emitted):
    ordinary = {
        "status": 202,
        "duration_ms": 12.3,
        "request_id": "01J9Z3K4M5N6P7Q8R9S0T1V2W3",
        "member_id": "01JB0000000000000000000000",
        "event_id": "evt-1764360000",
        "order_id": "o-1",
        "settlement_id": "monthly-2026-11",
        "amount_fen": 13_912_345_678,
        "paid_fen": 6_222_021_234_567_890_123,
        "points": 12800,
        "epoch_s": 1_764_360_000,
        "epoch_text": "1764360000",
        "epoch_ms_text": "1764360000123",
        "day": "2026-11-28",
        "at": "2026-11-28T20:13:23.409+08:00",
        "window": "09:00-21:00",
        "report": {"lines": 3, "total_fen": 1_000_000_000, "period": "2026-Q4"},
        "function_name": "member-points-prod-api",
        "function_request_id": "1b4e28ba-2fa1-11d2-8830-001613912345",
        "uuid_of_digits": "12345678-1234-1234-1234-123456789012",
        "trace": "1-67891233-123456789012345678901234",
    }
    logger.info("request", extra=ordinary)
    [line] = emitted()
    assert {key: line[key] for key in ordinary} == ordinary
    assert line["message"] == "request" and line["level"] == "INFO"
    assert "+0000" in line["timestamp"] or line["timestamp"].endswith("Z")


mobiles = st.builds(
    lambda second, rest, country, sep: f"{country}1{second}{rest[0]}{sep}{rest[1:5]}{sep}{rest[5:]}",
    st.sampled_from("3456789"),
    st.text("0123456789", min_size=9, max_size=9),
    st.sampled_from(["", "+86", "+86 ", "86", "0086", "+86-"]),
    st.sampled_from(["", " ", "-"]),
)
surroundings = st.text(st.characters(exclude_categories=["Nd", "Lu", "Ll", "Cs"], exclude_characters="_+-"), max_size=3)


@given(mobile=mobiles, before=surroundings, after=surroundings)
def test_a_mainland_mobile_in_any_written_form_never_reaches_the_text(mobile, before, after):
    text = redact(f"{before}{mobile}{after}")
    assert mobile.replace(" ", "").replace("-", "")[-11:] not in text.replace(" ", "").replace("-", "")
    assert "[phone]" in text


@given(st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=26, max_size=26))
def test_a_ulid_is_never_masked(ulid):
    assert redact(f"request {ulid} done") == f"request {ulid} done"
