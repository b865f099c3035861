"""The signed-request scheme (domain/signing.py) against the integrators' helper
(integrations/signing_client.py) and against signatures computed here by hand."""

from __future__ import annotations

import ast
import hashlib
import hmac
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.signing import (
    IntegrationKey,
    InvalidSignature,
    MissingScope,
    SignedRequest,
    canonical_path,
    canonical_query,
    canonical_request,
    parse_keys,
    verify,
)
from chalicelib.integrations import signing_client
from chalicelib.integrations.signing_client import signed_headers, string_to_sign

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
STAMP = 1795399200  # NOW in unix seconds
SECRET = "shop-secret-0123456789"
KEYS = {"shop": IntegrationKey("shop", (SECRET,), frozenset({"*"}))}
REFUND_BODY = b'{"refund_id":"r-1","amount_fen":500}'


def received(
    url: str,
    body: bytes,
    headers: dict[str, str],
    method: str = "POST",
    query: tuple[tuple[str, str], ...] = (),
) -> SignedRequest:
    """The request as the server sees it: decoded path segments and query pairs."""
    return SignedRequest(
        method=method,
        path_segments=tuple(url.strip("/").split("/")),
        query=query,
        body=body,
        key_id=headers["X-Integration-Key"],
        timestamp=headers["X-Timestamp"],
        signature=headers["X-Signature"],
    )


def shop_headers(url: str, body: bytes, offset_s: int = 0, secret: str = SECRET, key_id: str = "shop"):
    return signed_headers("POST", url, body, key_id=key_id, secret=secret, timestamp=STAMP + offset_s)


# --- the test vector ---------------------------------------------------------------------------------------
def test_the_published_vector_is_hmac_sha256_over_the_seven_lines_by_hand():
    body_digest = hashlib.sha256(REFUND_BODY).hexdigest()
    by_hand = "AIBI-HMAC-SHA256-V1\nPOST\n/v1/shop/aibi-payments/o-1/refunds\na=1&b=2\n1795399200\nshop\n" + body_digest
    expected = hmac.new(SECRET.encode(), by_hand.encode(), hashlib.sha256).hexdigest()
    assert body_digest == "f6b572132ba4431fde3374ce3e8c15aeeb26703bf96a00cc7f349d87d7ea1318"
    assert expected == "8443c121a894507cf7c1a47a4a380bae8f55aad8cb4b690e8a534fc86e4ee639"

    # the integrators' helper, given the deployment's whole URL, signs exactly that
    url = "https://api.example.com/api/v1/shop/aibi-payments/o-1/refunds?b=2&a=1"
    headers = signed_headers("POST", url, REFUND_BODY, key_id="shop", secret=SECRET, timestamp=STAMP, base_path="/api")
    assert headers == {"X-Integration-Key": "shop", "X-Timestamp": "1795399200", "X-Signature": expected}

    # the server's definition builds the same string and accepts the signature
    assert (
        canonical_request("post", "/v1/shop/aibi-payments/o-1/refunds", "a=1&b=2", "1795399200", "shop", REFUND_BODY)
        == by_hand
    )
    request = received("/v1/shop/aibi-payments/o-1/refunds", REFUND_BODY, headers, query=(("b", "2"), ("a", "1")))
    assert verify(KEYS, request, NOW) is KEYS["shop"]


def test_an_empty_body_is_signed_as_the_digest_of_nothing():
    by_hand = (
        "AIBI-HMAC-SHA256-V1\nPOST\n/v1/shop/aibi-payments/o-1/capture\n\n1795399200\nshop\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    expected = hmac.new(SECRET.encode(), by_hand.encode(), hashlib.sha256).hexdigest()
    assert expected == "77f5dd62f0b5054f443dacc89997bcc0ffa2fc22cc86a7a13873ed4382f16441"
    assert shop_headers("/v1/shop/aibi-payments/o-1/capture", b"")["X-Signature"] == expected


@given(
    segments=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4),
    pairs=st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=4),
)
def test_the_helper_and_the_server_agree_on_any_path_and_query(segments, pairs):
    """Percent-encoding is where two implementations drift apart: the helper reads a URL,
    the server gets decoded values, and both must reach the same canonical lines."""
    url = (
        "/" + "/".join(quote(s, safe="") for s in segments) + ("?" + urlencode(pairs, quote_via=quote) if pairs else "")
    )
    helper = string_to_sign("GET", url, b"", "shop", "1795399200").split("\n")
    assert helper[2] == canonical_path(segments)
    assert helper[3] == canonical_query(pairs)


def test_the_helper_needs_nothing_but_the_standard_library():
    tree = ast.parse(Path(signing_client.__file__).read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


# --- what the signature binds ---------------------------------------------------------------------------------
CAPTURE = "/v1/shop/aibi-payments/o-1/capture"


@pytest.mark.parametrize(
    "replayed_as",
    [
        {"url": "/v1/shop/aibi-payments/o-2/capture"},  # another order
        {"url": "/v1/shop/aibi-payments/o-1/void"},  # another route
        {"url": "/v1/events"},  # another endpoint
        {"query": (("x", "1"),)},  # a query added
        {"method": "PUT"},
        {"body": b"{}"},
    ],
    ids=["other order", "other route", "other endpoint", "query added", "other method", "other body"],
)
def test_a_signature_is_refused_on_any_other_request(replayed_as):
    headers = shop_headers(CAPTURE, b"")
    request = received(
        replayed_as.get("url", CAPTURE),
        replayed_as.get("body", b""),
        headers,
        method=replayed_as.get("method", "POST"),
        query=replayed_as.get("query", ()),
    )
    with pytest.raises(InvalidSignature):
        verify(KEYS, request, NOW)


def test_the_key_id_is_signed_so_two_keys_sharing_a_secret_cannot_swap_signatures():
    keys = {**KEYS, "game": IntegrationKey("game", (SECRET,), frozenset({"*"}))}
    headers = {**shop_headers(CAPTURE, b""), "X-Integration-Key": "game"}
    with pytest.raises(InvalidSignature):
        verify(keys, received(CAPTURE, b"", headers), NOW)


def test_query_pairs_are_signed_in_sorted_order_whatever_order_they_are_sent_in():
    headers = shop_headers(CAPTURE + "?b=2&a=1&a=0", b"")
    assert verify(KEYS, received(CAPTURE, b"", headers, query=(("a", "1"), ("a", "0"), ("b", "2"))), NOW)


@pytest.mark.parametrize("offset_s", [-300, 0, 300])
def test_a_signature_within_300_seconds_is_accepted(offset_s):
    assert verify(KEYS, received(CAPTURE, b"", shop_headers(CAPTURE, b"", offset_s)), NOW) is KEYS["shop"]


@pytest.mark.parametrize("offset_s", [-301, 301, -86_400])
def test_a_signature_more_than_300_seconds_off_is_refused(offset_s):
    with pytest.raises(InvalidSignature):
        verify(KEYS, received(CAPTURE, b"", shop_headers(CAPTURE, b"", offset_s)), NOW)


def test_an_upper_case_hex_signature_is_the_same_signature():
    headers = shop_headers(CAPTURE, b"")
    headers["X-Signature"] = headers["X-Signature"].upper()
    assert verify(KEYS, received(CAPTURE, b"", headers), NOW) is KEYS["shop"]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Integration-Key", "game"),  # unknown
        ("X-Integration-Key", ""),
        ("X-Integration-Key", "k" * 5_000),
        ("X-Integration-Key", "shop#1"),
        ("X-Signature", "zz" + "0" * 62),
        ("X-Signature", "é" * 64),
        ("X-Signature", ""),
        ("X-Signature", "0" * 62),
        ("X-Signature", "0" * 5_000),
        ("X-Timestamp", "1" * 5_000),  # int() of it would raise: more than 4,300 digits
        ("X-Timestamp", "9" * 13),
        ("X-Timestamp", "١٧٩٥٣٩٩٢٠٠"),  # Arabic-Indic digits: str.isdigit() is True for them
        ("X-Timestamp", ""),
        ("X-Timestamp", "1795399200.5"),
        ("X-Timestamp", "+1795399200"),
        ("X-Timestamp", " 1795399200"),
    ],
)
def test_every_bad_header_is_one_invalid_signature(header, value):
    headers = {**shop_headers(CAPTURE, b""), header: value}
    with pytest.raises(InvalidSignature) as refused:
        verify(KEYS, received(CAPTURE, b"", headers), NOW)
    assert refused.value.code == "invalid_signature"


def test_a_signature_made_with_another_secret_is_refused():
    with pytest.raises(InvalidSignature):
        verify(KEYS, received(CAPTURE, b"", shop_headers(CAPTURE, b"", secret="another-secret-0123")), NOW)


@given(key_id=st.text(max_size=80), timestamp=st.text(max_size=80), signature=st.text(max_size=80))
def test_no_header_text_crashes_the_check(key_id, timestamp, signature):
    request = SignedRequest("POST", ("v1", "events"), (), b"", key_id, timestamp, signature)
    with pytest.raises(InvalidSignature):
        verify(KEYS, request, NOW)


# --- rotation -------------------------------------------------------------------------------------------------
def test_during_a_rotation_either_secret_verifies_and_a_removed_one_no_longer_does():
    old, new = "old-secret-0123456789", "new-secret-0123456789"
    rotating = parse_keys({"shop": {"secrets": [old, new], "scopes": ["*"]}})
    for secret in (old, new):
        request = received(CAPTURE, b"", shop_headers(CAPTURE, b"", secret=secret))
        assert verify(rotating, request, NOW).key_id == "shop"

    rotated = parse_keys({"shop": {"secrets": [new], "scopes": ["*"]}})
    assert verify(rotated, received(CAPTURE, b"", shop_headers(CAPTURE, b"", secret=new)), NOW).key_id == "shop"
    with pytest.raises(InvalidSignature):
        verify(rotated, received(CAPTURE, b"", shop_headers(CAPTURE, b"", secret=old)), NOW)


# --- scopes ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("granted", "needed", "allowed"),
    [
        ({"events:challenge.won"}, "events:challenge.won", True),
        ({"events:challenge.won"}, "events:content.posted", False),
        ({"events:challenge.won"}, "events:challenge.won2", False),
        ({"events:*"}, "events:order.paid", True),
        ({"events:*"}, "shop:aibi-payments:hold", False),
        ({"events:order.*"}, "events:order.refunded", True),
        ({"events:order.*"}, "events:payment.succeeded", False),
        ({"shop:aibi-payments:*"}, "shop:aibi-payments:refund", True),
        ({"shop:aibi-payments:capture"}, "shop:aibi-payments:void", False),
        ({"*"}, "shop:aibi-payments:void", True),
    ],
)
def test_a_scope_is_granted_exactly_or_by_a_final_star(granted, needed, allowed):
    key = IntegrationKey("k", (SECRET,), frozenset(granted))
    assert key.allows(needed) is allowed
    if not allowed:
        with pytest.raises(MissingScope) as refused:
            key.require(needed)
        assert refused.value.code == "missing_scope" and needed in refused.value.message


def test_the_keys_secret_is_read_into_keys_with_their_secrets_and_scopes():
    keys = parse_keys(
        {
            "shop": {"secrets": [SECRET], "scopes": ["events:*", "shop:*"]},
            "game-1": {
                "secrets": ["game-secret-0123456789", "game-secret-9876543210"],
                "scopes": ["events:challenge.won"],
            },
        }
    )
    assert keys["shop"] == IntegrationKey("shop", (SECRET,), frozenset({"events:*", "shop:*"}))
    assert keys["game-1"].secrets == ("game-secret-0123456789", "game-secret-9876543210")


@pytest.mark.parametrize(
    "entry",
    [
        SECRET,  # the old flat format
        {"secrets": [SECRET]},
        {"secrets": [SECRET], "scopes": ["*"], "note": "x"},
        {"secrets": [], "scopes": ["*"]},
        {"secrets": [SECRET, SECRET + "1", SECRET + "2"], "scopes": ["*"]},  # at most two at once
        {"secrets": ["short"], "scopes": ["*"]},
        {"secrets": SECRET, "scopes": ["*"]},
        {"secrets": [SECRET], "scopes": []},
        {"secrets": [SECRET], "scopes": "events:*"},
        {"secrets": [SECRET], "scopes": ["events:*:x"]},  # a star only at the end
        {"secrets": [SECRET], "scopes": ["Events:order.paid"]},
    ],
)
def test_a_malformed_key_is_refused_naming_it(entry):
    with pytest.raises(ValueError, match="shop"):
        parse_keys({"shop": entry})


@pytest.mark.parametrize("key_id", ["", "shop#1", "k" * 65, "商店"])
def test_a_key_id_outside_the_safe_alphabet_is_refused(key_id):
    with pytest.raises(ValueError):
        parse_keys({key_id: {"secrets": [SECRET], "scopes": ["*"]}})


def test_a_timestamp_is_compared_with_the_servers_clock_in_seconds():
    later = NOW + timedelta(seconds=300, milliseconds=999)
    assert verify(KEYS, received(CAPTURE, b"", shop_headers(CAPTURE, b"")), later) is KEYS["shop"]
