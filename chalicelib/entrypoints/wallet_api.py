"""A member's wallet and spending: exchange, payout account, withdrawals, the points
mall, the lucky draw and charity. Every call that moves points or money accepts an
``Idempotency-Key``.
"""

from __future__ import annotations

import functools

from chalice import Blueprint

from ..adapters.dynamodb.pagination import Page
from ..adapters.dynamodb.wallet import WalletEntryItem
from ..domain import errors as e
from ..domain import wallet as w
from ..domain.consent import ConsentOutdated
from ..domain.points import InsufficientPoints, PointsDebt
from ..service_layer import draws, mall, settlement, wallet
from . import schemas as s
from .access import MEMBER
from .authorizer import bearer
from .http import Call, endpoint

wallet_api = Blueprint(__name__)
route = functools.partial(endpoint, wallet_api, tag="wallet", access=MEMBER, authorizer=bearer)


@route(
    "/v1/me/wallet/ledger",
    "GET",
    summary="The aibi statement, newest first",
    query=s.ListQuery,
    response=s.WalletLedger,
)
def wallet_ledger(call: Call) -> s.WalletLedger:
    return wallet_ledger_out(wallet.wallet_entries(call.c, call.member_id, call.query.limit, call.query.cursor))


def wallet_ledger_out(page: Page[WalletEntryItem]) -> s.WalletLedger:
    return s.WalletLedger(
        entries=[
            s.WalletEntry(
                id=i.entry_id,
                kind=i.kind,
                amount_fen=int(i.amount_fen),
                held_fen=int(i.held_delta_fen or 0),
                balance_after_fen=int(i.balance_after_fen),
                held_after_fen=int(i.held_after_fen),
                created_at=i.created_at,
                ref=i.ref,
            )
            for i in page.items
        ],
        next_cursor=page.next_cursor,
    )


@route(
    "/v1/me/exchange",
    "POST",
    moves=("points", "aibi"),
    summary="Exchange points into aibi (100 points = 1 aibi) in an open window",
    body=s.ExchangeRequest,
    response=s.Exchanged,
    idempotent=True,
    errors=(
        wallet.ExchangeClosed,
        w.NotMultipleOf100,
        InsufficientPoints,
        PointsDebt,
        wallet.ExchangeCapExceeded,
        e.AccountFrozen, ConsentOutdated,
    ),
)
def exchange(call: Call) -> s.Exchanged:
    return s.Exchanged(**wallet.exchange(call.c, call.member_id, call.body.points, call.idempotency_key()))


@route(
    "/v1/me/payout-account",
    "POST",
    summary="Set the account withdrawals are paid to (stored encrypted); needs a step-up proof and spends it",
    body=s.PayoutAccountRequest,
    response=s.PayoutAccountOut,
    errors=(wallet.InvalidPayoutAccount, e.StepUpRequired, e.AccountFrozen),
)
def set_payout_account(call: Call) -> s.PayoutAccountOut:
    body = call.body
    changed = wallet.set_payout_account(call.c, call.member_id, _session(call), body.kind, body.account, body.holder)
    return s.PayoutAccountOut(**changed)


def _session(call: Call) -> str:
    assert call.principal is not None and call.principal.session is not None
    return call.principal.session


@route(
    "/v1/me/withdrawals",
    "POST",
    moves=("aibi",),
    status=201,
    body=s.WithdrawalRequest,
    response=s.WithdrawalCreated,
    idempotent=True,
    summary="Request a withdrawal (提现) at 90 %: the amount is held until finance decides, paid to the payout "
    "account as it is now; needs a step-up proof on this session",
    errors=(
        e.StepUpRequired,
        e.KycRequired,
        e.AccountFrozen, ConsentOutdated,
        w.BelowMinimum,
        w.InsufficientBalance,
        wallet.PayoutAccountRequired,
        wallet.DailyWithdrawalLimit,
    ),
)
def request_withdrawal(call: Call) -> s.WithdrawalCreated:
    outcome = wallet.request_withdrawal(
        call.c, call.member_id, _session(call), call.body.amount_fen, call.idempotency_key()
    )
    return s.WithdrawalCreated(**outcome)


@route(
    "/v1/me/withdrawals",
    "GET",
    summary="The member's withdrawal requests and their state, newest first",
    query=s.ListQuery,
    response=s.WithdrawalList,
)
def list_withdrawals(call: Call) -> s.WithdrawalList:
    page = wallet.member_withdrawals(call.c, call.member_id, call.query.limit, call.query.cursor)
    return s.WithdrawalList(withdrawals=[s.Withdrawal(**v) for v in page.items], next_cursor=page.next_cursor)


@route(
    "/v1/mall/items",
    "GET",
    summary="The points-mall catalogue (active items)",
    query=s.ListQuery,
    response=s.MallItemList,
)
def catalogue(call: Call) -> s.MallItemList:
    page = mall.catalogue(call.c, include_inactive=False, limit=call.query.limit, cursor=call.query.cursor)
    return s.MallItemList(items=[s.MallItemOut(**v) for v in page.items], next_cursor=page.next_cursor)


@route(
    "/v1/me/mall/orders",
    "POST",
    moves=("points", "stock"),
    status=201,
    body=s.CheckoutRequest,
    response=s.MallOrder,
    idempotent=True,
    summary="Check out a mall item: points-only is spent at once; cash + points holds the points for 30 minutes",
    errors=(mall.OutOfStock, mall.UnknownItem, InsufficientPoints, PointsDebt, e.AccountFrozen, ConsentOutdated),
)
def checkout(call: Call) -> s.MallOrder:
    body = call.body
    outcome = mall.checkout(call.c, call.member_id, body.item_id, body.option_id, body.quantity, call.idempotency_key())
    return s.MallOrder(**outcome)


@route(
    "/v1/me/mall/orders",
    "GET",
    summary="The member's mall orders, newest first",
    query=s.ListQuery,
    response=s.MallOrderList,
)
def list_orders(call: Call) -> s.MallOrderList:
    page = mall.member_orders(call.c, call.member_id, call.query.limit, call.query.cursor)
    return s.MallOrderList(orders=[s.MallOrder(**v) for v in page.items], next_cursor=page.next_cursor)


@route(
    "/v1/draws/{campaign_id}",
    "GET",
    summary="A lucky-draw campaign, its prizes, odds and stock",
    response=s.DrawCampaign,
    errors=(e.NotFound,),
)
def get_campaign(call: Call, campaign_id: str) -> s.DrawCampaign:
    return s.DrawCampaign(**draws.get_campaign(campaign_id))


@route(
    "/v1/me/draws/{campaign_id}",
    "POST",
    moves=("points", "aibi"),
    status=201,
    response=s.DrawResult,
    idempotent=True,
    summary="Draw once (幸运抽奖): pays the points, rolls the OS CSPRNG, records the draw",
    errors=(
        draws.CampaignClosed,
        draws.DailyDrawLimit,
        InsufficientPoints,
        PointsDebt,
        e.NotFound,
        e.AccountFrozen,
        ConsentOutdated,
    ),
)
def draw(call: Call, campaign_id: str) -> s.DrawResult:
    return s.DrawResult(**draws.draw(call.c, call.member_id, campaign_id, call.idempotency_key()))


@route(
    "/v1/charity", "GET", summary="Charity projects (爱心公益), newest first", query=s.ListQuery, response=s.CharityList
)
def list_projects(call: Call) -> s.CharityList:
    page = draws.projects(call.c, call.query.limit, call.query.cursor)
    return s.CharityList(projects=[s.CharityProject(**v) for v in page.items], next_cursor=page.next_cursor)


@route(
    "/v1/me/charity/{project_id}",
    "POST",
    moves=("points",),
    status=201,
    body=s.PledgeRequest,
    response=s.Pledged,
    idempotent=True,
    summary="Take seats in a charity project with points; seats never overfill",
    errors=(draws.ProjectFull, InsufficientPoints, PointsDebt, e.NotFound, e.AccountFrozen, ConsentOutdated),
)
def pledge(call: Call, project_id: str) -> s.Pledged:
    return s.Pledged(**draws.pledge(call.c, call.member_id, project_id, call.body.seats, call.idempotency_key()))


@route(
    "/v1/me/rewards",
    "GET",
    summary="Settlement lines with the basis that explains each fen, newest first",
    query=s.ListQuery,
    response=s.RewardList,
)
def rewards(call: Call) -> s.RewardList:
    page = settlement.member_rewards(call.c, call.member_id, call.query.limit, call.query.cursor)
    return s.RewardList(rewards=[s.RewardLine(**v) for v in page.items], next_cursor=page.next_cursor)
