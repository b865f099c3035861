"""Customer service's member look-up (ops are customer service; auditors and finance read):
search, the member's file, its sub-resources (ledgers, referrals, withdrawals, orders,
rewards, draws, pledges, audit trail), and the audited reveal of one personal field."""

from __future__ import annotations

import functools

from chalice import Blueprint

from ..domain import errors as e
from ..service_layer import mall, member_lists, member_lookup, settlement, staff, wallet
from ..service_layer import members as members_service
from ..service_layer import points_ledger as points_ledger_service
from . import backoffice_schemas as b
from . import schemas as s
from .access import staff as staff_access
from .authorizer import bearer
from .http import Call, endpoint
from .member_api import points_ledger_out, referral_out
from .member_lists_api import draws_out, pledges_out
from .wallet_api import wallet_ledger_out

backoffice_api = Blueprint(__name__)
route = functools.partial(endpoint, backoffice_api, tag="back office", authorizer=bearer)

# Decision: ops are customer service (no separate role): they already freeze, review and
# correct points, which is what answering a member needs. Finance reads (withdrawals,
# aibi), auditors read everything; only ops and admins see a field in clear.
READERS = staff_access("ops", "finance", "auditor", "admin")
REVEALERS = staff_access("ops", "admin")
MEMBER = "/v1/admin/members/{member_id}"


@route(
    "/v1/admin/members",
    "GET",
    access=READERS,
    query=b.MemberSearchQuery,
    response=b.MemberSearch,
    summary="Find a member by phone (through the blind index), member code or id; audited, found or not",
    errors=(e.InvalidPhone,),
)
def search(call: Call) -> b.MemberSearch:
    assert call.principal is not None
    q = call.query
    found = member_lookup.find(call.c, call.principal, phone=q.phone, code=q.code, member_id=q.member_id)
    return b.MemberSearch(members=[b.MemberFound(**vars(m)) for m in found])


@route(
    MEMBER,
    "GET",
    access=READERS,
    response=b.MemberFileOut,
    summary="A member's file, masked: profile, status and its history, points with lots, wallet, reviews; audited",
    errors=(e.NotFound,),
)
def member_file(call: Call, member_id: str) -> b.MemberFileOut:
    assert call.principal is not None
    f = member_lookup.member_file(call.c, call.principal, member_id)
    fields = vars(f).copy()
    points = {name: fields.pop(name) for name in ("available", "pending", "held", "lifetime", "debt")}
    lots = [b.LotOut(expires_on=lot.expires_on, points=lot.points) for lot in fields.pop("lots")]
    history = [b.StatusChangeOut(**vars(change)) for change in fields.pop("status_history")]
    return b.MemberFileOut(**fields, status_history=history, points=b.MemberPointsOut(**points, lots=lots))


@route(
    f"{MEMBER}/reveal",
    "POST",
    access=REVEALERS,
    body=b.RevealRequest,
    response=b.RevealedFieldOut,
    summary="One personal field of a member in clear; audited with the reason before it is decrypted",
    errors=(e.NotFound,),
)
def reveal(call: Call, member_id: str) -> b.RevealedFieldOut:
    assert call.principal is not None
    revealed = member_lookup.reveal(call.c, call.principal, member_id, call.body.field, call.body.reason)
    return b.RevealedFieldOut(**vars(revealed))


@route(
    f"{MEMBER}/points/ledger",
    "GET",
    access=READERS,
    query=s.ListQuery,
    response=s.PointsLedger,
    summary="A member's points statement, newest first: each entry with its kind, rule and reference",
    errors=(e.NotFound,),
)
def points_ledger(call: Call, member_id: str) -> s.PointsLedger:
    member_lookup.require_known(call.c, member_id)
    q = call.query
    return points_ledger_out(points_ledger_service.entries_page(call.c, member_id, q.limit, q.cursor))


@route(
    f"{MEMBER}/wallet/ledger",
    "GET",
    access=READERS,
    query=s.ListQuery,
    response=s.WalletLedger,
    summary="A member's aibi statement, newest first",
    errors=(e.NotFound,),
)
def wallet_ledger(call: Call, member_id: str) -> s.WalletLedger:
    member_lookup.require_known(call.c, member_id)
    return wallet_ledger_out(wallet.wallet_entries(call.c, member_id, call.query.limit, call.query.cursor))


@route(
    f"{MEMBER}/referrals",
    "GET",
    access=READERS,
    query=s.ListQuery,
    response=s.ReferralList,
    summary="A member's direct referrals in registration order, phones masked",
    errors=(e.NotFound,),
)
def referrals(call: Call, member_id: str) -> s.ReferralList:
    page = members_service.list_referrals(call.c, member_id, call.query.limit, call.query.cursor)
    return s.ReferralList(referrals=[referral_out(r) for r in page.items], next_cursor=page.next_cursor)


@route(
    f"{MEMBER}/withdrawals",
    "GET",
    access=READERS,
    query=s.ListQuery,
    response=s.WithdrawalList,
    summary="A member's withdrawal requests, newest first, payout accounts masked",
    errors=(e.NotFound,),
)
def withdrawals(call: Call, member_id: str) -> s.WithdrawalList:
    member_lookup.require_known(call.c, member_id)
    page = wallet.member_withdrawals(call.c, member_id, call.query.limit, call.query.cursor)
    return s.WithdrawalList(withdrawals=[s.Withdrawal(**v) for v in page.items], next_cursor=page.next_cursor)


@route(
    f"{MEMBER}/mall/orders",
    "GET",
    access=READERS,
    query=s.ListQuery,
    response=s.MallOrderList,
    summary="A member's mall orders, newest first",
    errors=(e.NotFound,),
)
def mall_orders(call: Call, member_id: str) -> s.MallOrderList:
    member_lookup.require_known(call.c, member_id)
    page = mall.member_orders(call.c, member_id, call.query.limit, call.query.cursor)
    return s.MallOrderList(orders=[s.MallOrder(**v) for v in page.items], next_cursor=page.next_cursor)


@route(
    f"{MEMBER}/rewards",
    "GET",
    access=READERS,
    query=s.ListQuery,
    response=s.RewardList,
    summary="A member's settlement lines with their basis, newest first",
    errors=(e.NotFound,),
)
def rewards(call: Call, member_id: str) -> s.RewardList:
    member_lookup.require_known(call.c, member_id)
    page = settlement.member_rewards(call.c, member_id, call.query.limit, call.query.cursor)
    return s.RewardList(rewards=[s.RewardLine(**v) for v in page.items], next_cursor=page.next_cursor)


@route(
    f"{MEMBER}/draws",
    "GET",
    access=READERS,
    query=s.ListQuery,
    response=b.OwnDrawList,
    summary="A member's lucky draws and prizes with redemption codes, by campaign, newest first",
    errors=(e.NotFound,),
)
def draws(call: Call, member_id: str) -> b.OwnDrawList:
    member_lookup.require_known(call.c, member_id)
    return draws_out(member_lists.draws_of(call.c, member_id, call.query.limit, call.query.cursor))


@route(
    f"{MEMBER}/pledges",
    "GET",
    access=READERS,
    query=s.ListQuery,
    response=b.OwnPledgeList,
    summary="A member's charity pledges, newest first",
    errors=(e.NotFound,),
)
def pledges(call: Call, member_id: str) -> b.OwnPledgeList:
    member_lookup.require_known(call.c, member_id)
    return pledges_out(member_lists.pledges_of(call.c, member_id, call.query.limit, call.query.cursor))


@route(
    f"{MEMBER}/audit",
    "GET",
    access=READERS,
    query=s.ListQuery,
    response=s.AuditList,
    summary="The audit trail about a member, newest first (staff actions, look-ups, reveals)",
    errors=(e.NotFound,),
)
def audit_trail(call: Call, member_id: str) -> s.AuditList:
    member_lookup.require_known(call.c, member_id)
    page = staff.read_audit(call.c, day=None, target_id=member_id, limit=call.query.limit, cursor=call.query.cursor)
    return s.AuditList(entries=[s.AuditEntry(**vars(entry)) for entry in page.items], next_cursor=page.next_cursor)
