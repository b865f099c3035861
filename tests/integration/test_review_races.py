"""A member resubmits at the very moment ops decide: the decision's transaction is
conditioned on the version ops read, so a resubmission that lands between the decision's
read and its write is never decided unseen.
"""

from __future__ import annotations

import time
from collections import Counter

from tests.builders import admin_token, forbid_server_errors, new_staff, register
from tests.integration.test_wallet_concurrency import eager_thread_switches, outcomes, race
from tests.wallet_builders import resident_id

# a different surname per version, so the masked summary says which version is stored
# reviewers deciding while the member resubmits, each a little later than the one
# before, so that some read before the resubmission is stored and write after it
REVIEWERS = 6
STAGGER_S = 0.01
NAMES = ["赵一", "钱二", "孙三", "李四", "周五", "吴六", "郑七", "王八", "冯九", "陈十", "褚甲", "卫乙", "蒋丙"]


def _kyc(client, member, id_number: str, version: int):
    body = {"real_name": NAMES[version - 1], "id_number": id_number}
    return client.post("/v1/me/kyc", token=member.access_token, json_body=body)


def _later(n: int, call, *args, **kwargs):
    time.sleep(n * STAGGER_S)
    return call(*args, **kwargs)


def _mine(client, member) -> tuple[str, int, str]:
    review = client.get("/v1/me/kyc", token=member.access_token).json
    return review["status"], review["version"], review["summary"]["real_name"]


def test_a_rejection_racing_a_resubmission_never_rejects_the_unseen_version(client, stack):
    forbid_server_errors(client)
    member = register(client, stack)
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin).access_token
    id_number = resident_id()
    assert _kyc(client, member, id_number, 1).status_code == 202
    reject = f"/v1/admin/kyc/{member.member_id}/reject"
    tally: Counter = Counter()
    with eager_thread_switches():
        for version in range(1, len(NAMES)):
            body = {"reason": f"blurred photo {version}", "version": version}
            submitted, *decided = race(
                [lambda v=version: _kyc(client, member, id_number, v + 1)]
                + [lambda b=body, n=n: _later(n, client.post, reject, token=ops, json_body=b) for n in range(REVIEWERS)]
            )
            assert submitted.status_code == 202, submitted.body
            round_ = outcomes(decided)
            assert round_[200] <= 1, round_
            tally += round_
            # whichever came first, the new version waits for ops, untouched
            assert _mine(client, member) == ("pending", version + 1, NAMES[version][0] + "*")
    assert set(tally) <= {200, "review_changed", "invalid_state"}, tally
    entries = client.get(f"/v1/admin/audit?target_id={member.member_id}", token=admin).json["entries"]
    assert len(entries) == tally[200]
    assert all(e["reason"] == f"blurred photo {e['after']['version']}" for e in entries)


def test_an_approval_racing_a_resubmission_approves_only_the_version_read(client, stack):
    forbid_server_errors(client)
    ops = new_staff(client, stack, "ops").access_token
    for _ in range(4):
        member, id_number = register(client, stack), resident_id()
        assert _kyc(client, member, id_number, 1).status_code == 202
        approve = f"/v1/admin/kyc/{member.member_id}/approve"
        body = {"reason": "matches", "version": 1}
        with eager_thread_switches():
            submitted, decided = race(
                [
                    lambda m=member, n=id_number: _kyc(client, m, n, 2),
                    lambda a=approve, b=body: client.post(a, token=ops, json_body=b),
                ]
            )
        if decided.status_code == 200:  # the approval won: version 1 approved, the resubmission refused
            assert (submitted.status_code, submitted.json["error"]["code"]) == (409, "invalid_state")
            assert _mine(client, member) == ("approved", 1, "赵*")
        else:  # the resubmission won: version 2 waits for ops
            assert (submitted.status_code, decided.json["error"]["code"]) == (202, "review_changed")
            assert _mine(client, member) == ("pending", 2, "钱*")
