"""What a member lists: open draw campaigns, their own draws and prizes, their pledges,
the open exchange window with what is left of its cap, their payout account (masked);
and the published rules, which anyone may read."""

from __future__ import annotations

import functools

from chalice import Blueprint

from ..adapters.dynamodb.member_lookup import DrawRecord, PledgeRecord
from ..adapters.dynamodb.pagination import Page
from ..domain import errors as e
from ..service_layer import member_lists
from . import backoffice_schemas as b
from . import schemas as s
from .access import MEMBER, PUBLIC
from .authorizer import bearer
from .http import Call, endpoint

member_lists_api = Blueprint(__name__)
route = functools.partial(endpoint, member_lists_api, tag="member", access=MEMBER, authorizer=bearer)


def draws_out(page: Page[DrawRecord]) -> b.OwnDrawList:
    return b.OwnDrawList(draws=[b.OwnDraw(**vars(d)) for d in page.items], next_cursor=page.next_cursor)


def pledges_out(page: Page[PledgeRecord]) -> b.OwnPledgeList:
    return b.OwnPledgeList(pledges=[b.OwnPledge(**vars(p)) for p in page.items], next_cursor=page.next_cursor)


@route(
    "/v1/draws",
    "GET",
    query=s.ListQuery,
    response=b.CampaignList,
    summary="Lucky-draw campaigns open now with their prizes, odds and stock, the soonest to end first",
)
def open_campaigns(call: Call) -> b.CampaignList:
    page = member_lists.open_campaigns(call.c, call.query.limit, call.query.cursor)
    campaigns = [
        b.OpenCampaign(**(vars(c) | {"prizes": [b.CampaignPrize(**vars(p)) for p in c.prizes]})) for c in page.items
    ]
    return b.CampaignList(campaigns=campaigns, next_cursor=page.next_cursor)


@route(
    "/v1/me/draws",
    "GET",
    query=s.ListQuery,
    response=b.OwnDrawList,
    summary="The member's draws and prizes with redemption codes, by campaign, newest first",
)
def own_draws(call: Call) -> b.OwnDrawList:
    return draws_out(member_lists.draws_of(call.c, call.member_id, call.query.limit, call.query.cursor))


@route(
    "/v1/me/pledges",
    "GET",
    query=s.ListQuery,
    response=b.OwnPledgeList,
    summary="The member's charity pledges, newest first",
)
def own_pledges(call: Call) -> b.OwnPledgeList:
    return pledges_out(member_lists.pledges_of(call.c, call.member_id, call.query.limit, call.query.cursor))


@route(
    "/v1/me/exchange-window",
    "GET",
    response=b.ExchangeWindowAnswer,
    summary="Whether an exchange window is open now, and how many points the member may still exchange in it",
)
def exchange_window(call: Call) -> b.ExchangeWindowAnswer:
    window = member_lists.exchange_window(call.c, call.member_id)
    state = b.ExchangeWindowState(**vars(window)) if window else None
    return b.ExchangeWindowAnswer(open=window is not None, window=state)


@route(
    "/v1/me/payout-account",
    "GET",
    response=b.PayoutAccountView,
    summary="The account withdrawals are paid to, masked",
    errors=(e.NotFound,),
)
def payout_account(call: Call) -> b.PayoutAccountView:
    return b.PayoutAccountView(**vars(member_lists.payout_account(call.c, call.member_id)))


@route(
    "/v1/rules",
    "GET",
    access=PUBLIC,
    authorizer=None,
    response=b.PublishedRules,
    summary="The published earning and spending rules and star thresholds of the version in effect now",
)
def rules(call: Call) -> b.PublishedRules:
    return b.PublishedRules(**vars(member_lists.published(call.c.rules)))
