"""Shared builders for integration and end-to-end tests: members, staff, codes."""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pyotp

from chalicelib.bootstrap import Container
from chalicelib.domain.calendar import FIRST_INSTANT
from chalicelib.domain.rules import RulesRegistry
from chalicelib.local.aws import shared_session
from chalicelib.local.gateway import Client, HttpResponse
from chalicelib.local.queues import drain
from chalicelib.service_layer import legal

_phones = itertools.count(10_000_000)
CODE = re.compile(r"\b(\d{6})\b")


def new_phone() -> str:
    """A fresh, valid China Mobile number in E.164."""
    return f"+86139{next(_phones):08d}"


def last_code(c: Container, phone: str) -> str:
    assert c.outbox is not None
    drain()
    messages = c.outbox.messages_to(phone)
    assert messages, f"no SMS was sent to {phone}"
    match = CODE.search(messages[-1].text)
    assert match, messages[-1].text
    return match.group(1)


def change_rules(c: Container, **sections: dict[str, Any]) -> None:
    """From now on the stage runs under one rules version: the current one with these
    numbers changed, e.g. ``change_rules(stack, earning={"challenge_wins_per_day": 5})``
    (the installed container is this very object, so every request sees it)."""
    current = c.rules
    c.rules_registry = RulesRegistry((current.revised(f"{current.version}-test", FIRST_INSTANT, **sections),))


def send_code(client: Client, phone: str, purpose: str) -> None:
    response = client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": purpose})
    assert response.status_code == 202, response.body
    drain()


@dataclass
class Member:
    member_id: str
    phone: str
    access_token: str
    refresh_token: str
    member_code: str | None = None


def register(
    client: Client,
    c: Container,
    phone: str | None = None,
    referrer_code: str | None = None,
    separate: tuple[str, ...] = ("id_number",),
) -> Member:
    """A member who accepted the documents in force and gave the ``separate`` consents
    (the ID number's by default, as most tests submit a KYC; none with ``()``)."""
    phone = phone or new_phone()
    send_code(client, phone, "register")
    body = {"phone": phone, "code": last_code(c, phone), "accepted": accepted_now(c)}
    if referrer_code:
        body["referrer_code"] = referrer_code
    response = client.post("/v1/auth/register", json_body=body)
    assert response.status_code == 201, response.body
    data = response.json
    for purpose in separate:
        granted = client.post(f"/v1/me/consents/{purpose}", token=data["access_token"], json_body={})
        assert granted.status_code == 200, granted.body
    return Member(data["member_id"], phone, data["access_token"], data["refresh_token"], data["member_code"])


# the local stage's first versions (``legal.ensure_local_documents``), for callers without a container
LOCAL_ACCEPTED = [{"doc": "privacy", "version": 1}, {"doc": "terms", "version": 1}]


def accepted_now(c: Container) -> list[dict[str, Any]]:
    """What a frontend sends to accept the documents: the versions in force."""
    return [{"doc": doc.value, "version": v.version} for doc, v in sorted(legal.in_force(c).items())]


def close_account(client: Client, token: str, reason: str = "leaving") -> HttpResponse:
    """Close as a frontend does: read what is lost, then confirm it."""
    preview = client.get("/v1/me/close", token=token)
    if preview.status_code != 200:  # e.g. a frozen account: the preview refuses as the close would
        return preview
    body = {"reason": reason, "confirmation": preview.json["confirmation"]}
    return client.post("/v1/me/close", token=token, json_body=body)


def login(client: Client, c: Container, phone: str) -> Member:
    send_code(client, phone, "login")
    response = client.post("/v1/auth/login", json_body={"phone": phone, "code": last_code(c, phone)})
    assert response.status_code == 200, response.body
    data = response.json
    return Member(data["member_id"], phone, data["access_token"], data["refresh_token"])


def step_up(client: Client, c: Container, member: Member) -> None:
    """The member proves the phone again on this session (a code to their own number), as
    the app asks before a payout-account change or a withdrawal; past the 60 s between
    codes of a number when a code was sent just before."""
    sent = client.post("/v1/me/step-up/code", token=member.access_token)
    if sent.status_code == 429:
        c.clock.advance(seconds=int(sent.headers["retry-after"]))  # type: ignore[attr-defined]
        sent = client.post("/v1/me/step-up/code", token=member.access_token)
    assert sent.status_code == 202, sent.body
    proved = client.post("/v1/me/step-up", token=member.access_token, json_body={"code": last_code(c, member.phone)})
    assert proved.status_code == 200, proved.body


def staff_login(client: Client, c: Container, phone: str, totp_secret: str) -> str:
    # a fresh TOTP step and past the SMS resend interval, so staff can sign in repeatedly
    c.clock.advance(seconds=61)  # type: ignore[attr-defined]
    send_code(client, phone, "staff")
    response = client.post(
        "/v1/staff/login",
        json_body={
            "phone": phone,
            "code": last_code(c, phone),
            "totp": pyotp.TOTP(totp_secret).at(c.now()),
        },
    )
    assert response.status_code == 200, response.body
    return response.json["access_token"]


def admin_token(client: Client, c: Container) -> str:
    return staff_login(client, c, c.settings.local_admin_phone, c.settings.local_admin_totp_secret)


@dataclass
class Staff:
    staff_id: str
    phone: str
    totp_secret: str
    access_token: str


def new_staff(client: Client, c: Container, *roles: str, admin: str | None = None) -> Staff:
    """A new staff account with ``roles``, created by the local admin, signed in."""
    admin = admin or admin_token(client, c)
    phone = new_phone()
    response = client.post("/v1/admin/staff", token=admin, json_body={"phone": phone, "roles": list(roles)})
    assert response.status_code == 201, response.body
    secret = pyotp.parse_uri(response.json["totp_uri"]).secret
    c.clock.advance(seconds=31)  # type: ignore[attr-defined]  # a fresh TOTP step
    return Staff(response.json["staff_id"], phone, secret, staff_login(client, c, phone, secret))


def staff_token(client: Client, c: Container, *roles: str) -> str:
    """A new staff account with ``roles``, created by the local admin, signed in."""
    return new_staff(client, c, *roles).access_token


_keys = itertools.count(1)


def new_key(prefix: str = "key") -> str:
    """A new Idempotency-Key (8 characters at least, as the contract asks)."""
    return f"{prefix}-{next(_keys):06d}"


def keyed(prefix: str = "key") -> dict[str, str]:
    """The headers of a call under a new Idempotency-Key."""
    return {"Idempotency-Key": new_key(prefix)}


def adjusted(
    client: Client, requester: str, approver: str, body: dict[str, Any], key: str | None = None
) -> HttpResponse:
    """A staff correction under ``key`` (a new one by default), approved by a second staff
    member when it needs one (over what one person may change alone a day): the direct
    answer, or the approval's."""
    headers = {"Idempotency-Key": key or new_key("adjust")}
    response = client.post("/v1/admin/adjustments", token=requester, json_body=body, headers=headers)
    if response.status_code != 202:
        return response
    approval_id = response.json["approval_id"]
    return client.post(f"/v1/admin/approvals/{approval_id}/approve", token=approver, json_body={})


def adjust(client: Client, requester: str, approver: str, body: dict[str, Any]) -> int:
    """``adjusted``, which must succeed: the member's balance after it."""
    response = adjusted(client, requester, approver, body)
    assert response.status_code in (200, 201), response.body
    return response.json["balance_after"]


def invite(client: Client, referrer: Member, phone: str | None = None) -> str:
    """``referrer`` registers a friend on their behalf; the friend's phone."""
    phone = phone or new_phone()
    response = client.post("/v1/me/referrals", token=referrer.access_token, json_body={"phone": phone})
    assert response.status_code == 201, response.body
    return phone


def referrals(client: Client, member: Member, **query: object) -> dict:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    response = client.get("/v1/me/referrals" + (f"?{qs}" if qs else ""), token=member.access_token)
    assert response.status_code == 200, response.body
    return response.json


def assert_error(response: HttpResponse, status: int, code: str | None = None) -> dict:
    """The contract's error shape: ``{"error": {"code", "message"}}`` with a JSON content type."""
    assert response.status_code == status, (response.status_code, response.body)
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and re.fullmatch(r"[a-z][a-z0-9_]*", error["code"]), body
    assert isinstance(error.get("message"), str) and error["message"], body
    if code is not None:
        assert error["code"] == code, body
    return error


def review_version(client: Client, token: str, kind: str, member_id: str) -> int:
    """The version of a member's submission as its reviewer opens it (``kind``: kyc, nutritionists)."""
    opened = client.get(f"/v1/admin/{kind}/{member_id}", token=token)
    assert opened.status_code == 200, opened.body
    return opened.json["version"]


def decide_review(
    client: Client, token: str, kind: str, member_id: str, decision: str = "approve", reason: str = "ok"
) -> HttpResponse:
    """Ops open a submission, then approve (or reject) the version they read."""
    body = {"reason": reason, "version": review_version(client, token, kind, member_id)}
    return client.post(f"/v1/admin/{kind}/{member_id}/{decision}", token=token, json_body=body)


@functools.cache
def _dynamodb(region: str) -> Any:
    # one client per process, from the local stage's shared session: a new boto3 client
    # costs a tenth of a second, more than a scan of a test's table
    return shared_session(region).client("dynamodb")


def table_items(c: Container) -> list[dict]:
    """Every item of the table as DynamoDB returns it (attribute-value dicts), in key order."""
    client = _dynamodb(c.settings.region)
    items = [
        item
        for page in client.get_paginator("scan").paginate(TableName=c.settings.table_name, ConsistentRead=True)
        for item in page["Items"]
    ]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def forbid_server_errors(client: Client) -> Client:
    """Make every request through ``client`` fail the test on a 5xx: a 5xx is always a bug."""
    original = client.request

    def request(*args: Any, **kwargs: Any) -> HttpResponse:
        answer = original(*args, **kwargs)
        assert answer.status_code < 500, (args, answer.status_code, answer.body[:500])
        return answer

    client.request = request  # type: ignore[method-assign]
    return client


_event_ids = itertools.count(1)


def post_event(
    client: Client,
    c: Container,
    type_: str,
    member_id: str,
    data: dict | None = None,
    *,
    occurred_at: str | None = None,
    event_id: str | None = None,
    key_id: str | None = None,
    secret: str | None = None,
    timestamp: int | None = None,
):
    """Send a signed event as the shop would (API.md "Signed events")."""
    import json

    body = json.dumps(
        {
            "event_id": event_id or f"evt-{next(_event_ids)}",
            "type": type_,
            "member_id": member_id,
            "occurred_at": occurred_at or c.now().isoformat(),
            "data": data or {},
        }
    ).encode()
    return post_signed(client, c, "/v1/events", body, key_id=key_id, secret=secret, timestamp=timestamp)


def signed_headers(
    c: Container,
    method: str,
    target: str,
    body: bytes,
    *,
    key_id: str | None = None,
    secret: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The headers of a request signed as an integrator signs it, by the integrators' own
    helper (``chalicelib.integrations.signing_client``; every signing test goes through
    here), with the local shop's key and the real clock unless told otherwise."""
    from chalicelib.integrations.signing_client import signed_headers as sign_request

    return {
        "content-type": "application/json",
        **sign_request(
            method,
            target,
            body,
            key_id=key_id or c.settings.local_integration_key_id,
            secret=secret or c.settings.local_integration_secret,
            timestamp=int(c.wall_clock.now().timestamp()) if timestamp is None else timestamp,
        ),
    }


def post_signed(client: Client, c: Container, target: str, body: bytes, **signing: Any) -> HttpResponse:
    """``POST target`` signed (``signing``: ``key_id``, ``secret``, ``timestamp``)."""
    return client.post(target, body=body, headers=signed_headers(c, "POST", target, body, **signing))


# --- points (added by the points suite) ---------------------------------------------------------------
def refreshed(client: Client, member: Member) -> Member:
    """A fresh access token through the refresh token: unlike a login, it earns nothing."""
    response = client.post("/v1/auth/refresh", json_body={"refresh_token": member.refresh_token})
    assert response.status_code == 200, response.body
    member.access_token, member.refresh_token = response.json["access_token"], response.json["refresh_token"]
    return member


def me(client: Client, member: Member) -> dict:
    """``GET /v1/me`` with a token refreshed first (the clock may have moved on)."""
    response = client.get("/v1/me", token=refreshed(client, member).access_token)
    assert response.status_code == 200, response.body
    return response.json


def points_of(client: Client, member: Member) -> dict:
    return me(client, member)["points"]


def ledger_of(client: Client, member: Member, limit: int = 200) -> list[dict]:
    """The member's whole points statement, newest first, following every cursor."""
    token = refreshed(client, member).access_token
    entries, cursor = [], None
    while True:
        path = f"/v1/me/points/ledger?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(path, token=token)
        assert response.status_code == 200, response.body
        entries += response.json["entries"]
        cursor = response.json["next_cursor"]
        if cursor is None:
            return entries


@dataclass(frozen=True)
class JobOutcome:
    """A run started over HTTP and followed until the queues are empty: ``status_code``,
    ``headers`` and ``body`` are the start's answer (202, or its refusal); ``run`` is the run
    then (``GET /v1/admin/jobs/runs/{id}``; still running if a unit failed), ``json`` its
    report (or the refusal)."""

    status_code: int
    headers: dict[str, str]
    body: bytes
    json: Any
    run: dict | None


def scheduled_report(lambdas: Any, job: str, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke a job's scheduled function as EventBridge or the console would (it starts a
    run and answers its id), drain the queues, and return the finished run's report."""
    from chalicelib.service_layer import job_runs

    started = lambdas.lambda_.invoke(job, event).payload
    drain()
    run = job_runs.view(job_runs.get_item(started["run_id"]))
    assert run["status"] == "succeeded", run
    return run["report"]


def job_outcome(client: Client, token: str, job: str, body: dict[str, Any]) -> JobOutcome:
    return run_job(client, token, job, **body)


def run_job(client: Client, token: str, job: str, **body) -> JobOutcome:
    """Start a run (``POST /v1/admin/jobs/{job}``), drain the queues as Lambda's pollers
    would, and read the finished run (``GET /v1/admin/jobs/runs/{id}``)."""
    started = client.post(f"/v1/admin/jobs/{job}", token=token, json_body=body)
    if started.status_code != 202:
        return JobOutcome(started.status_code, started.headers, started.body, started.json, None)
    return follow_run(client, token, started)


def follow_run(client: Client, token: str, started: HttpResponse) -> JobOutcome:
    """Drain the queues, then read the run ``started`` (a start's or a resume's 202) names."""
    drain()
    run = client.get(f"/v1/admin/jobs/runs/{started.json['run_id']}", token=token)
    assert run.status_code == 200, run.body
    return JobOutcome(started.status_code, started.headers, started.body, run.json["report"], run.json)


def order_paid(
    client: Client, c: Container, member_id: str, order_id: str, paid_fen: int, gross_fen: int | None = None, **kw
):
    data = {"order_id": order_id, "gross_fen": paid_fen if gross_fen is None else gross_fen, "paid_fen": paid_fen}
    return post_event(client, c, "order.paid", member_id, data, **kw)


def order_refunded(client: Client, c: Container, member_id: str, order_id: str, refund_fen: int, **kw):
    return post_event(client, c, "order.refunded", member_id, {"order_id": order_id, "refund_fen": refund_fen}, **kw)


def assert_points_reconcile(c: Container) -> dict:
    """RULES.md 6.2 over every member's ledger: balances = entries, issued - spent - expired - reversed = sum."""
    from chalicelib.service_layer.reconcile import reconcile

    report = reconcile()["points"]
    assert report["ok"], report
    return report


def next_admin_token(client: Client, c: Container) -> str:
    """Another admin sign-in later in the same test: past the SMS resend wait (60 s) and
    into a fresh TOTP step, both of which refuse a second sign-in straight away."""
    c.clock.advance(seconds=61)  # type: ignore[attr-defined]
    return admin_token(client, c)


# --- staff at their desk -------------------------------------------------------------------------
_ips = itertools.count(1)


def fresh_ip(client: Client) -> None:
    """A new source address, so many sign-ins in one test stay under the per-IP SMS cap."""
    n = next(_ips)
    client.source_ip = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


@dataclass
class _StaffSession:
    phone: str
    secret: str
    token: str = ""
    signed_in_at: Any = None


@dataclass
class StaffDesk:
    """The staff of one test: one account per role (the local admin for ``admin``), signed
    in again when the clock has moved on (or back) since the last sign-in."""

    client: Client
    stack: Container
    fresh_for: timedelta = timedelta(minutes=10)
    _sessions: dict[str, _StaffSession] = field(default_factory=dict)

    def _session(self, role: str) -> _StaffSession:
        if role not in self._sessions:
            if role == "admin":
                settings = self.stack.settings
                self._sessions[role] = _StaffSession(settings.local_admin_phone, settings.local_admin_totp_secret)
            else:
                phone = new_phone()
                response = self.client.post(
                    "/v1/admin/staff", token=self.token("admin"), json_body={"phone": phone, "roles": [role]}
                )
                assert response.status_code == 201, response.body
                self._sessions[role] = _StaffSession(phone, pyotp.parse_uri(response.json["totp_uri"]).secret)
        return self._sessions[role]

    def sign_in(self, *roles: str) -> None:
        """Sign in now (each sign-in moves the clock 61 s), so that a test can then move the
        clock to an exact instant and still hold fresh tokens."""
        for role in roles:
            self._session(role).signed_in_at = None
            self.token(role)

    def token(self, role: str) -> str:
        session = self._session(role)
        now = self.stack.now()
        if session.signed_in_at is None or abs(now - session.signed_in_at) >= self.fresh_for:
            fresh_ip(self.client)
            session.token = staff_login(self.client, self.stack, session.phone, session.secret)
            session.signed_in_at = self.stack.now()
        return session.token

    def post(self, path: str, role: str, body: dict[str, Any] | None = None, **kwargs: Any) -> HttpResponse:
        return self.client.post(path, token=self.token(role), json_body=body if body is not None else {}, **kwargs)

    def run_job(self, job: str, role: str, body: dict[str, Any] | None = None) -> JobOutcome:
        return run_job(self.client, self.token(role), job, **(body or {}))

    def resume_run(self, run_id: str, role: str) -> JobOutcome:
        started = self.post(f"/v1/admin/jobs/runs/{run_id}/resume", role, {"reason": "the fault has passed"})
        assert started.status_code == 202, started.body
        return follow_run(self.client, self.token(role), started)

    def get(self, path: str, role: str) -> HttpResponse:
        return self.client.get(path, token=self.token(role))

    def staff_id(self, role: str) -> str:
        """The staff id of this desk's account for ``role`` (as its token names it)."""
        return self.stack.tokens.verify(self.token(role), self.stack.now()).subject

    def adjusted(self, role: str, body: dict[str, Any], approver: str = "admin") -> HttpResponse:
        """A correction by ``role``, approved by ``approver`` when it needs a second person."""
        return adjusted(self.client, self.token(role), self.token(approver), body)

    def adjust(self, role: str, body: dict[str, Any], approver: str = "admin") -> int:
        return adjust(self.client, self.token(role), self.token(approver), body)
