"""What members list (issue 13, item 6): open draw campaigns and their prizes, their own
draws with redemption codes, their pledges, the open exchange window and what is left of
its cap, the payout account (masked), the published rules; and on ``GET /v1/me`` the
aibi value of the available points and the points still needed for the next star.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.builders import assert_error, forbid_server_errors
from tests.wallet_builders import Desk, add_payout_account, give_points, open_window, person, verify_identity


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


@pytest.fixture
def desk(client, stack) -> Desk:
    return Desk(client, stack)


def new_campaign(desk: Desk, now, *, starts_in: timedelta = timedelta(hours=-1), name: str = "双十一") -> str:
    body = {
        "name": name,
        "points_per_draw": 100,
        "daily_limit": 5,
        "starts_at": (now + starts_in).isoformat(),
        "ends_at": (now + timedelta(days=3)).isoformat(),
        "prizes": [
            {"prize_id": "t", "name": "影票", "kind": "ticket", "value": 1, "probability_bp": 10_000, "stock": 1}
        ],
    }
    answer = desk.post("/v1/admin/draws", "ops", body)
    assert answer.status_code == 201, answer.body
    return answer.json["campaign_id"]


def test_members_see_open_campaigns_only_and_their_own_draws_with_redemption_codes(client, stack, clock, desk):
    now = clock.now()
    open_one = new_campaign(desk, now)
    new_campaign(desk, now, starts_in=timedelta(days=1), name="later")
    member, other = person(client, stack), person(client, stack)
    give_points(desk, member, 940)

    listed = member.get("/v1/draws").json
    assert [c["campaign_id"] for c in listed["campaigns"]] == [open_one] and listed["next_cursor"] is None
    assert listed["campaigns"][0]["prizes"][0]["stock"] == 1

    won = member.post(f"/v1/me/draws/{open_one}").json
    lost = member.post(f"/v1/me/draws/{open_one}").json
    assert won["prize"]["redemption_code"] and lost["prize"] is None
    draws = member.get("/v1/me/draws").json["draws"]
    assert [(d["draw_id"], d["redemption_code"]) for d in draws] == [
        (lost["draw_id"], None),
        (won["draw_id"], won["prize"]["redemption_code"]),
    ]
    assert other.get("/v1/me/draws").json == {"draws": [], "next_cursor": None}
    staff_view = desk.get(f"/v1/admin/members/{member.id}/draws?limit=1", "ops").json
    assert [d["draw_id"] for d in staff_view["draws"]] == [lost["draw_id"]] and staff_view["next_cursor"]


def test_members_list_their_own_pledges_newest_first(client, stack, desk):
    member = person(client, stack)
    give_points(desk, member, 9_940)
    project = desk.post("/v1/admin/charity", "ops", {"name": "爱心妈妈", "seats": 16, "points_per_seat": 2_000}).json
    first = member.post(f"/v1/me/charity/{project['project_id']}", {"seats": 1}).json
    second = member.post(f"/v1/me/charity/{project['project_id']}", {"seats": 2}).json
    pledges = member.get("/v1/me/pledges?limit=1").json
    assert [(p["pledge_id"], p["points"]) for p in pledges["pledges"]] == [(second["pledge_id"], 4_000)]
    rest = member.get(f"/v1/me/pledges?cursor={pledges['next_cursor']}").json
    assert [p["pledge_id"] for p in rest["pledges"]] == [first["pledge_id"]] and rest["next_cursor"] is None


def test_the_exchange_window_shows_what_is_left_of_its_cap_for_this_member(client, stack, clock, desk):
    member = person(client, stack)
    assert member.get("/v1/me/exchange-window").json == {"open": False, "window": None}
    give_points(desk, member, 940)
    now = clock.now()
    assert open_window(desk, now - timedelta(minutes=1), now + timedelta(days=1), cap=500).status_code == 201
    assert member.post("/v1/me/exchange", {"points": 200}).status_code == 200
    answer = member.get("/v1/me/exchange-window").json
    assert answer["open"] is True
    assert (answer["window"]["max_points_per_member"], answer["window"]["points_left"]) == (500, 300)


def test_the_payout_account_is_shown_masked_and_is_404_before_one_is_set(client, stack, desk):
    member = person(client, stack)
    assert_error(member.get("/v1/me/payout-account"), 404, "not_found")
    verify_identity(desk, member)
    add_payout_account(member)
    shown = member.get("/v1/me/payout-account").json
    assert (shown["kind"], shown["account"], shown["holder"]) == ("bank", "************1234", "张*")


def test_the_published_rules_need_no_sign_in_and_name_the_version_in_effect(client, stack):
    answer = client.get("/v1/rules")
    assert answer.status_code == 200, answer.body
    rules = answer.json
    assert rules["version"] == stack.rules.version
    assert rules["star_thresholds"] == [0, 2_000, 10_000, 30_000, 80_000, 200_000]
    assert rules["earning"]["register"] == 50 and rules["earning"]["birthday_month_multiplier"] == 2
    assert (rules["points_per_exchange_unit"], rules["fen_per_exchange_unit"]) == (100, 100)
    assert (rules["withdrawal_fee_bp"], rules["min_withdrawal_fen"]) == (1_000, 10_000)


def test_me_shows_the_aibi_value_of_the_available_points_and_the_way_to_the_next_star(client, stack, desk):
    member = person(client, stack)
    give_points(desk, member, 2_190)  # 2,250 points
    points = member.me()["points"]
    assert points["aibi_value_fen"] == 2_200  # 22 whole units of 100 points
    assert points["next_star"] == {"stars": 2, "lifetime_needed": 10_000, "points_needed": 7_750}


@pytest.mark.parametrize("path", ["/v1/me/draws?limit=0", "/v1/me/pledges?limit=201", "/v1/draws?cursor=forged"])
def test_bad_list_queries_are_4xx(client, stack, path):
    member = person(client, stack)
    assert member.get(path).status_code == 400


def test_staff_read_the_same_wallet_ledger_orders_withdrawals_rewards_and_pledges_the_member_reads(
    client, stack, desk
):
    member = person(client, stack)
    give_points(desk, member, 9_940)
    desk.adjust("finance", {"member_id": member.id, "amount_fen": 500, "reason": "goodwill"})
    rice = {"name": "大米", "options": [{"points": 300, "cash_fen": 0}], "stock": 5}
    item = desk.post("/v1/admin/mall/items", "ops", rice)
    assert member.post("/v1/me/mall/orders", {"item_id": item.json["item_id"], "option_id": "o1"}).status_code == 201
    project = desk.post("/v1/admin/charity", "ops", {"name": "爱心妈妈", "seats": 4, "points_per_seat": 1_000}).json
    assert member.post(f"/v1/me/charity/{project['project_id']}", {"seats": 1}).status_code == 201

    pairs = {
        "/wallet/ledger": "/v1/me/wallet/ledger",
        "/mall/orders": "/v1/me/mall/orders",
        "/withdrawals": "/v1/me/withdrawals",
        "/rewards": "/v1/me/rewards",
        "/pledges": "/v1/me/pledges",
        "/draws": "/v1/me/draws",
    }
    for staff_path, own_path in pairs.items():
        staff_view = desk.get(f"/v1/admin/members/{member.id}{staff_path}", "auditor")
        assert staff_view.status_code == 200, (staff_path, staff_view.body)
        assert staff_view.json == member.get(own_path).json, staff_path
    assert desk.get(f"/v1/admin/members/{member.id}/wallet/ledger", "finance").json["entries"][0]["amount_fen"] == 500
    assert len(member.get("/v1/me/mall/orders").json["orders"]) == 1
