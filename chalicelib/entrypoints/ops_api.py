"""Staff routes for the wallet and spending: exchange windows, withdrawals (finance),
mall items, draw campaigns and charity projects (ops)."""

from __future__ import annotations

import functools

from chalice import Blueprint

from ..domain import errors as e
from ..domain.approvals import FourEyesRequired, OwnAccount
from ..domain.draw import InvalidPrizes
from ..domain.holds import HoldError
from ..service_layer import draws, mall, settlement, wallet
from . import schemas as s
from .access import staff as staff_access
from .authorizer import bearer
from .http import Call, endpoint

ops_api = Blueprint(__name__)
route = functools.partial(endpoint, ops_api, tag="staff", authorizer=bearer)
OPS = staff_access("ops", "admin")
FINANCE = staff_access("finance", "admin")


@route(
    "/v1/admin/exchange-windows",
    "POST",
    access=OPS,
    status=201,
    body=s.ExchangeWindowRequest,
    response=s.ExchangeWindowOut,
    summary="Open a points-to-aibi exchange window (holiday, anniversary, campaign)",
    errors=(wallet.WindowOverlaps, e.RuleViolation),
)
def create_window(call: Call) -> s.ExchangeWindowOut:
    assert call.principal is not None
    b = call.body
    window = wallet.create_window(call.c, call.principal, b.starts_at, b.ends_at, b.max_points_per_member)
    return s.ExchangeWindowOut(**vars(window))


@route(
    "/v1/admin/withdrawals",
    "GET",
    access=FINANCE,
    query=s.WithdrawalQueueQuery,
    response=s.WithdrawalList,
    summary="Finance's queue of pending or approved withdrawals, oldest first",
)
def withdrawal_queue(call: Call) -> s.WithdrawalList:
    q = call.query
    page = wallet.withdrawal_queue(call.c, q.status, q.limit, q.cursor)
    return s.WithdrawalList(withdrawals=[s.Withdrawal(**v) for v in page.items], next_cursor=page.next_cursor)


def _review(call: Call, withdrawal_id: str, action: str) -> s.Withdrawal:
    assert call.principal is not None
    body = call.body
    view = wallet.review_withdrawal(
        call.c,
        call.principal,
        withdrawal_id,
        action,
        reason=getattr(body, "reason", None),
        reference=getattr(body, "reference", None),
        key=call.idempotency_key(),
    )
    return s.Withdrawal(**view)


@route(
    "/v1/admin/withdrawals/{withdrawal_id}/approve",
    "POST",
    moves=("aibi",),
    access=FINANCE,
    body=s.ReasonRequest,
    response=s.Withdrawal,
    idempotent=True,
    summary="Approve a pending withdrawal (another finance member marks it paid)",
    errors=(wallet.WithdrawalNotFound, e.InvalidState, OwnAccount),
)
def approve_withdrawal(call: Call, withdrawal_id: str) -> s.Withdrawal:
    return _review(call, withdrawal_id, "approve")


@route(
    "/v1/admin/withdrawals/{withdrawal_id}/reject",
    "POST",
    moves=("aibi",),
    access=FINANCE,
    body=s.ReasonRequest,
    response=s.Withdrawal,
    idempotent=True,
    summary="Reject a withdrawal; the held amount returns to the wallet",
    errors=(wallet.WithdrawalNotFound, HoldError),
)
def reject_withdrawal(call: Call, withdrawal_id: str) -> s.Withdrawal:
    return _review(call, withdrawal_id, "reject")


@route(
    "/v1/admin/withdrawals/{withdrawal_id}/paid",
    "POST",
    moves=("aibi",),
    access=FINANCE,
    body=s.PaidRequest,
    response=s.Withdrawal,
    idempotent=True,
    summary="Mark an approved withdrawal paid with the transfer reference (not by its approver)",
    errors=(wallet.WithdrawalNotFound, e.InvalidState, HoldError, FourEyesRequired, OwnAccount),
)
def paid_withdrawal(call: Call, withdrawal_id: str) -> s.Withdrawal:
    return _review(call, withdrawal_id, "paid")


@route(
    "/v1/admin/withdrawals/{withdrawal_id}/payout-account/reveal",
    "POST",
    access=FINANCE,
    body=s.ReasonRequest,
    response=s.PayoutAccountRevealed,
    summary="The payout account a withdrawal is paid to, in clear, as it was at the request; audited with the reason",
    errors=(wallet.WithdrawalNotFound, wallet.PayoutAccountNotRecorded),
)
def reveal_payout_account(call: Call, withdrawal_id: str) -> s.PayoutAccountRevealed:
    assert call.principal is not None
    revealed = wallet.reveal_payout_account(call.c, call.principal, withdrawal_id, call.body.reason)
    return s.PayoutAccountRevealed(**vars(revealed))


def _options(options: list[s.PriceOptionIn] | None) -> list[mall.Option] | None:
    return None if options is None else [mall.Option(o.points, o.cash_fen) for o in options]


@route(
    "/v1/admin/mall/items",
    "POST",
    access=OPS,
    status=201,
    body=s.MallItemRequest,
    response=s.MallItemOut,
    summary="Add a points-mall item with its price options and stock",
    errors=(mall.InvalidPriceOptions,),
)
def create_item(call: Call) -> s.MallItemOut:
    assert call.principal is not None
    b = call.body
    return s.MallItemOut(
        **mall.create_item(call.c, call.principal, b.name, b.description, _options(b.options) or [], b.stock)
    )


@route(
    "/v1/admin/mall/items/{item_id}",
    "PATCH",
    moves=("stock",),
    access=OPS,
    body=s.MallItemPatch,
    response=s.MallItemOut,
    idempotent=True,
    summary="Change a mall item: name, options, active, restock (add_stock, once per Idempotency-Key)",
    errors=(mall.UnknownItem, mall.OutOfStock, mall.InvalidPriceOptions, mall.RestockNeedsKey),
)
def update_item(call: Call, item_id: str) -> s.MallItemOut:
    assert call.principal is not None
    b = call.body
    return s.MallItemOut(
        **mall.update_item(
            call.c,
            call.principal,
            item_id,
            name=b.name,
            description=b.description,
            options=_options(b.options),
            active=b.active,
            add_stock=b.add_stock,
            reason=b.reason,
            key=call.idempotency_key(),
        )
    )


@route(
    "/v1/admin/mall/items",
    "GET",
    access=OPS,
    query=s.ListQuery,
    response=s.MallItemList,
    summary="Every mall item, active or not",
)
def list_items(call: Call) -> s.MallItemList:
    page = mall.catalogue(call.c, include_inactive=True, limit=call.query.limit, cursor=call.query.cursor)
    return s.MallItemList(items=[s.MallItemOut(**v) for v in page.items], next_cursor=page.next_cursor)


@route(
    "/v1/admin/draws",
    "POST",
    access=OPS,
    status=201,
    body=s.DrawCampaignRequest,
    response=s.DrawCampaign,
    summary="Create a lucky-draw campaign: points per draw, prizes with odds (basis points) and stock, daily limit",
    errors=(InvalidPrizes, e.RuleViolation),
)
def create_campaign(call: Call) -> s.DrawCampaign:
    assert call.principal is not None
    b = call.body
    prizes = [draws.PrizeSpec(p.prize_id, p.name, p.kind, p.value, p.probability_bp, p.stock) for p in b.prizes]
    return s.DrawCampaign(
        **draws.create_campaign(
            call.c, call.principal, b.name, b.points_per_draw, b.daily_limit, b.starts_at, b.ends_at, prizes
        )
    )


@route(
    "/v1/admin/draws/{campaign_id}/draws",
    "GET",
    access=OPS,
    query=s.ListQuery,
    response=s.DrawLog,
    summary="Every draw of a campaign, newest first",
    errors=(e.NotFound,),
)
def draw_log(call: Call, campaign_id: str) -> s.DrawLog:
    page = draws.draw_log(call.c, campaign_id, call.query.limit, call.query.cursor)
    return s.DrawLog(draws=[s.DrawLogEntry(**v) for v in page.items], next_cursor=page.next_cursor)


@route(
    "/v1/admin/charity",
    "POST",
    access=OPS,
    status=201,
    body=s.CharityRequest,
    response=s.CharityProject,
    summary="Create a charity project: seats x points per seat",
)
def create_project(call: Call) -> s.CharityProject:
    assert call.principal is not None
    b = call.body
    return s.CharityProject(
        **draws.create_project(call.c, call.principal, b.name, b.description, b.seats, b.points_per_seat)
    )


@route(
    "/v1/admin/settlements/{settlement_id}",
    "GET",
    access=staff_access("finance", "ops", "auditor", "admin"),
    response=s.Settlement,
    summary="A settlement (e.g. monthly-2026-10) with its report",
    errors=(settlement.UnknownSettlement,),
)
def get_settlement(call: Call, settlement_id: str) -> s.Settlement:
    return s.Settlement(**settlement.run_view(settlement.get_run(settlement_id)))


@route(
    "/v1/admin/settlements/{settlement_id}/approve",
    "POST",
    access=FINANCE,
    response=s.Settlement,
    summary="Approve a draft settlement so that release-rewards credits it on its release day",
    errors=(settlement.UnknownSettlement, e.InvalidState, FourEyesRequired),
)
def approve_settlement(call: Call, settlement_id: str) -> s.Settlement:
    assert call.principal is not None
    return s.Settlement(**settlement.approve(call.c, call.principal, settlement_id))
