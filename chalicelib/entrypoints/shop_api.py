"""Aibi payments at the shop: signed service calls (same signature as ``/v1/events``),
each route with its own scope.

- ``POST /v1/shop/aibi-payments`` holds the amount for an order (idempotent by order id);
- ``.../{order_id}/capture`` and ``.../{order_id}/void`` resolve the hold;
- ``.../{order_id}/refunds`` returns aibi of a captured payment (idempotent by refund id).
"""

from __future__ import annotations

import functools

from chalice import Blueprint, Response

from ..domain import errors as e
from ..domain import signing
from ..domain import wallet as w
from ..domain.consent import ConsentOutdated
from ..domain.holds import HoldError, HoldState
from ..domain.signing import InvalidSignature, MissingScope
from ..service_layer import earning, shop_payments
from . import schemas as s
from .access import signed
from .http import Call, endpoint
from .signatures import check_signature

shop_api = Blueprint(__name__)
route = functools.partial(endpoint, shop_api, tag="shop", verify=check_signature)


@route(
    "/v1/shop/aibi-payments",
    "POST",
    moves=("aibi",),
    access=signed(signing.SHOP_HOLD),
    status=201,
    body=s.AibiHoldRequest,
    response=s.AibiPayment,
    summary="Hold aibi for a shop order (30 minutes); the same request again returns the same hold",
    errors=(
        InvalidSignature,
        MissingScope,
        earning.UnknownMember,
        w.InsufficientBalance,
        shop_payments.PaymentMismatch,
        e.AccountFrozen,
        ConsentOutdated,
    ),
)
def hold(call: Call) -> Response:
    b = call.body
    payment, created = shop_payments.hold(call.c, b.order_id, b.member_id, b.amount_fen)
    body = s.AibiPayment(**payment).model_dump_json()
    return Response(body=body, status_code=201 if created else 200, headers={"Content-Type": "application/json"})


@route(
    "/v1/shop/aibi-payments/{order_id}/capture",
    "POST",
    moves=("aibi",),
    access=signed(signing.SHOP_CAPTURE),
    response=s.AibiPayment,
    summary="Capture a held aibi payment (the order is paid)",
    errors=(InvalidSignature, MissingScope, shop_payments.PaymentNotFound, HoldError),
)
def capture(call: Call, order_id: str) -> s.AibiPayment:
    return s.AibiPayment(**shop_payments.settle(call.c, order_id, HoldState.POSTED))


@route(
    "/v1/shop/aibi-payments/{order_id}/void",
    "POST",
    moves=("aibi",),
    access=signed(signing.SHOP_VOID),
    response=s.AibiPayment,
    summary="Void a held aibi payment (the order was not paid); the aibi returns",
    errors=(InvalidSignature, MissingScope, shop_payments.PaymentNotFound, HoldError),
)
def void(call: Call, order_id: str) -> s.AibiPayment:
    return s.AibiPayment(**shop_payments.settle(call.c, order_id, HoldState.VOIDED))


@route(
    "/v1/shop/aibi-payments/{order_id}/refunds",
    "POST",
    moves=("aibi",),
    access=signed(signing.SHOP_REFUND),
    status=201,
    body=s.AibiRefundRequest,
    response=s.AibiPayment,
    summary="Refund aibi of a captured payment; idempotent by refund_id",
    errors=(
        InvalidSignature,
        MissingScope,
        shop_payments.PaymentNotFound,
        shop_payments.RefundExceedsCaptured,
        e.Conflict,
    ),
)
def refund(call: Call, order_id: str) -> s.AibiPayment:
    b = call.body
    return s.AibiPayment(**shop_payments.refund(call.c, order_id, b.refund_id, b.amount_fen))
