"""Points benchmark: AWS calls per write path, and the throughput of ``POST /v1/events``.

Run on purpose, never collected by pytest::

    python -m tests.benchmarks.bench_points [--requests 2000] [--threads 8]

Part 1 counts the botocore calls each write path makes, by hooking ``before-call`` on
every botocore client of the process (PynamoDB's and boto3's), against the in-memory
local stage. DynamoDB calls are split into reads and writes; a ``TransactWriteItems``
is one write call however many items it holds. The target is one write call per event.

Part 2 serves the app on the real local HTTP server (``chalicelib.local.gateway``) on
127.0.0.1 and a free port, sends a bounded number of signed events from a few client
threads over keep-alive connections, reports events/s and latency percentiles, then
stops the server and checks the ledger reconciles.

Both parts run over moto (one lock around every call, like DynamoDB serialising
conflicting writes): the figures measure this code plus the embedded stage, not AWS.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import logging
import os
import platform
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import botocore.client
import botocore.session

from chalicelib.local import stage

stage.local_environment()

READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
OTP_TRY = "; UpdateItem = the OTP try, spent before the code is compared so that a wrong code counts"


# --- the machine ------------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


# --- counting botocore calls -------------------------------------------------------------------------------
class CallCounter:
    """Counts ``service.Operation`` for every API call any botocore client makes."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._hooked: set[int] = set()
        self._lock = threading.Lock()
        original = botocore.session.Session.create_client

        def create_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            self._hook(client)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        self.hook_existing()

    def _count(self, model: Any = None, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def _hook(self, client: Any) -> None:
        if id(client) not in self._hooked:
            self._hooked.add(id(client))
            client.meta.events.register("before-call", self._count, unique_id=f"bench-count-{id(client)}")

    def hook_existing(self) -> None:
        for obj in gc.get_objects():
            if isinstance(obj, botocore.client.BaseClient):
                self._hook(obj)

    @contextmanager
    def measure(self) -> Iterator[Counter[str]]:
        self.hook_existing()
        measured: Counter[str] = Counter()
        with self._lock:
            self.calls.clear()
        yield measured
        with self._lock:
            measured.update(self.calls)


def split(calls: Counter[str]) -> dict[str, Any]:
    reads = sum(n for name, n in calls.items() if name.startswith("dynamodb.") and name.split(".")[1] in READS)
    writes = sum(n for name, n in calls.items() if name.startswith("dynamodb.") and name.split(".")[1] in WRITES)
    other = {name: n for name, n in sorted(calls.items()) if not name.startswith("dynamodb.")}
    detail = {name.split(".", 1)[1]: n for name, n in sorted(calls.items()) if name.startswith("dynamodb.")}
    return {"reads": reads, "writes": writes, "dynamodb": detail, "other": other}


# --- part 1: calls per write path ----------------------------------------------------------------------------
class Paths:
    """Each write path once, warmed up, measured on its own."""

    def __init__(self, counter: CallCounter) -> None:
        from app import app
        from chalicelib.local.gateway import Client
        from tests.conftest import MutableClock

        self.clock = MutableClock(datetime.now(UTC).replace(microsecond=0))
        self.aws, self.c = stage.start(clock=self.clock)
        self.client = Client(app)
        self.counter = counter
        self.rows: list[tuple[str, dict[str, Any], str]] = []

    def measure(self, name: str, action: Callable[[], Any], note: str = "") -> Any:
        with self.counter.measure() as calls:
            result = action()
        self.rows.append((name, split(calls), note))
        return result

    def event(self, type_: str, member_id: str, data: dict | None = None, **kwargs: Any) -> Callable[[], Any]:
        from tests.builders import post_event

        def send() -> Any:
            response = post_event(self.client, self.c, type_, member_id, data, **kwargs)
            assert response.status_code == 202, (type_, response.body)
            return response

        return send

    def run(self) -> list[tuple[str, dict[str, Any], str]]:
        from tests.builders import (
            accepted_now,
            admin_token,
            decide_review,
            last_code,
            new_phone,
            register,
            run_job,
            send_code,
        )

        client, c = self.client, self.c
        # warm-up: every client created, every secret cached, every code path imported
        warm = register(client, c)
        self.event("challenge.won", warm.member_id)()
        self.event("order.paid", warm.member_id, {"order_id": "warm", "gross_fen": 100, "paid_fen": 100})()

        phone = new_phone()
        self.measure("otp (register)", lambda: send_code(client, phone, "register"), "rate limits + code item")

        def do_register(referrer_code: str | None = None, phone: str = phone) -> Any:
            body = {"phone": phone, "code": last_code(c, phone), "accepted": accepted_now(c)}
            if referrer_code:
                body["referrer_code"] = referrer_code
            response = client.post("/v1/auth/register", json_body=body)
            assert response.status_code == 201, response.body
            return response.json

        referrer_data = self.measure("register", do_register, "member + welcome and daily-login points" + OTP_TRY)
        referrer_code = referrer_data["member_code"]
        phone2 = new_phone()
        send_code(client, phone2, "register")
        buyer_id = self.measure(
            "register with referrer",
            lambda: do_register(referrer_code, phone2),
            "+ referral sign-up points for the referrer" + OTP_TRY,
        )["member_id"]

        self.clock.advance(seconds=61)
        send_code(client, phone2, "login")
        self.measure(
            "login (same day)",
            lambda: client.post("/v1/auth/login", json_body={"phone": phone2, "code": last_code(c, phone2)}),
            "no points" + OTP_TRY,
        )
        self.clock.advance(days=1)
        send_code(client, phone2, "login")
        self.measure(
            "login (first of the day)",
            lambda: client.post("/v1/auth/login", json_body={"phone": phone2, "code": last_code(c, phone2)}),
            "+ daily login points" + OTP_TRY,
        )

        paid = {"gross_fen": 12_000, "paid_fen": 10_000}
        self.measure(
            "event order.paid (first, referred)",
            self.event("order.paid", buyer_id, {"order_id": "b-1", **paid}),
            "buyer and referrer pending",
        )
        self.measure("event order.paid", self.event("order.paid", buyer_id, {"order_id": "b-2", **paid}))
        self.measure(
            "event order.refunded (in window)",
            self.event("order.refunded", buyer_id, {"order_id": "b-1", "refund_fen": 5_000}),
            "cancels pending of buyer and referrer",
        )
        occurred = c.now().isoformat()
        self.event("challenge.won", buyer_id, event_id="bench-dup", occurred_at=occurred)()
        self.measure(
            "event duplicate (replay)",
            self.event("challenge.won", buyer_id, event_id="bench-dup", occurred_at=occurred),
            "answered from the idempotency record",
        )
        self.measure("event challenge.won", self.event("challenge.won", buyer_id), "cap counter + points")
        self.event("challenge.won", buyer_id)()
        self.measure("event challenge.won (over cap)", self.event("challenge.won", buyer_id), "idempotency only")
        self.measure("event content.posted", self.event("content.posted", buyer_id, {"kind": "post"}))
        self.measure("event survey.completed", self.event("survey.completed", buyer_id, {"survey_id": "s"}))
        self.measure("event event.checked_in", self.event("event.checked_in", buyer_id, {"event_id": "e"}))

        admin = admin_token(client, c)
        nutritionist = register(client, c)
        client.post(
            "/v1/me/nutritionist",
            token=nutritionist.access_token,
            json_body={"certificate_no": "N-1", "issuer": "CNS", "issued_on": "2025-01-01"},
        )
        self.measure(
            "approve nutritionist (staff)",
            lambda: decide_review(client, admin, "nutritionists", nutritionist.member_id),
            "+ certified points",
        )
        self.measure(
            "event lecture.given (first)",
            self.event("lecture.given", nutritionist.member_id, {"lecture_id": "L1"}),
            "+ contribution points",
        )
        self.measure(
            "event guidance.committed",
            self.event("guidance.committed", nutritionist.member_id, {"client_member_id": buyer_id}),
        )

        # jobs: a run's fixed cost (16 shard queries), then the cost per item due
        today = c.now().date()
        self.measure(
            "job release-pending, nothing due",
            lambda: run_job(client, admin, "release-pending"),
            "16 shard queries; the write is the staff audit record",
        )
        members = [register(client, c) for _ in range(20)]
        for number, member in enumerate(members):
            self.event("order.paid", member.member_id, {"order_id": f"j-{number}", "gross_fen": 500, "paid_fen": 500})()
        as_of = today.replace(year=today.year + 2).isoformat()
        due = run_job(client, admin, "release-pending", as_of=as_of, dry_run=True).json["due"]
        fixed = self.rows[-1][1]
        self.measure(
            "job release-pending, per item",
            lambda: run_job(client, admin, "release-pending", as_of=as_of),
            f"({due} items, fixed run cost subtracted)",
        )
        self._per_item(fixed, due)
        self.measure(
            "event order.refunded (after release)",
            self.event("order.refunded", buyer_id, {"order_id": "b-2", "refund_fen": 10_000}),
            "reverses from available",
        )
        self.measure(
            "job expire-points, nothing due",
            lambda: run_job(client, admin, "expire-points"),
            "16 shard queries; the write is the staff audit record",
        )
        fixed = self.rows[-1][1]
        report = run_job(client, admin, "expire-points", as_of=as_of, dry_run=True).json
        expiring = report["members_due"]
        self.measure(
            "job expire-points, per member",
            lambda: run_job(client, admin, "expire-points", as_of=as_of),
            f"({expiring} members, fixed run cost subtracted)",
        )
        self._per_item(fixed, expiring)
        self.measure(
            "job reconcile", lambda: run_job(client, admin, "reconcile"), "the write is the staff audit record"
        )
        return self.rows

    def _per_item(self, fixed: dict[str, Any], items: int) -> None:
        name, total, note = self.rows.pop()
        per_item = {
            "reads": round((total["reads"] - fixed["reads"]) / items, 2),
            "writes": round((total["writes"] - fixed["writes"]) / items, 2),
            "dynamodb": {
                op: round((n - fixed["dynamodb"].get(op, 0)) / items, 2)
                for op, n in total["dynamodb"].items()
                if n - fixed["dynamodb"].get(op, 0)
            },
            "other": {op: round(n / items, 2) for op, n in total["other"].items()},
        }
        self.rows.append((name, per_item, note))


def print_paths(rows: list[tuple[str, dict[str, Any], str]]) -> None:
    print("\nAWS calls per write path (in-memory local stage)")
    print(f"{'path':40} {'reads':>6} {'writes':>6}  dynamodb detail / other services / note")
    for name, figures, note in rows:
        detail = ", ".join(f"{op} {n:g}" for op, n in figures["dynamodb"].items())
        other = ", ".join(f"{op} {n:g}" for op, n in figures["other"].items())
        flag = "" if figures["writes"] <= 1 or name.startswith(("job", "otp")) else "  <-- more than one write"
        extra = " | ".join(part for part in (detail, other, note) if part)
        print(f"{name:40} {figures['reads']:>6g} {figures['writes']:>6g}  {extra}{flag}")


# --- part 2: throughput on the local HTTP server --------------------------------------------------------------
def throughput(requests: int, threads: int, members: int) -> dict[str, Any]:
    from app import app
    from chalicelib.local.gateway import Client, local_server
    from chalicelib.service_layer.reconcile import reconcile
    from tests.builders import register, signed_headers
    from tests.conftest import MutableClock

    clock = MutableClock(datetime.now(UTC))
    aws, c = stage.start(clock=clock)
    # the access log stays on (its cost is part of a request) but goes nowhere
    setup = Client(app)
    member_ids = []
    for number in range(members):
        setup.source_ip = f"10.0.{number // 20}.{number % 20 + 1}"  # under the codes-per-IP limit
        member_ids.append(register(setup, c).member_id)

    server = local_server(app, "127.0.0.1", 0)
    port = server.server.server_address[1]
    serving = threading.Thread(target=server.server.serve_forever, name="bench-server", daemon=True)
    serving.start()

    kinds = [
        ("challenge.won", lambda n: {}),
        ("content.posted", lambda n: {"kind": "post"}),
        ("order.paid", lambda n: {"order_id": f"tp-{n}", "gross_fen": 10_000, "paid_fen": 9_900}),
        ("survey.completed", lambda n: {"survey_id": f"sv-{n}"}),
    ]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        codes: Counter[int] = Counter()
        while True:
            with lock:
                number = next(counter, None)
            if number is None:
                break
            type_, data = kinds[number % len(kinds)]
            body = json.dumps(
                {
                    "event_id": f"tp-evt-{number}",
                    "type": type_,
                    "member_id": member_ids[number % len(member_ids)],
                    "occurred_at": c.now().isoformat(),
                    "data": data(number),
                }
            ).encode()
            headers = signed_headers(c, "POST", "/v1/events", body)
            started = time.perf_counter()
            connection.request("POST", "/v1/events", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            codes[response.status] += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, name=f"bench-client-{n}") for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    server.shutdown()
    serving.join(timeout=10)
    server.server.server_close()
    reconciled = reconcile()["points"]
    aws.stop()

    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "threads": threads,
        "members": members,
        "statuses": dict(statuses),
        "seconds": round(elapsed, 2),
        "events_per_s": round(len(ordered) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "reconciled": reconciled["ok"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--members", type=int, default=200)
    args = parser.parse_args()

    print("machine:", json.dumps(machine()))
    # the access log stays on (formatting it is part of a request's cost) but goes nowhere
    from chalicelib.adapters.observability import logger

    with open(os.devnull, "w") as devnull:
        if isinstance(logger.registered_handler, logging.StreamHandler):
            logger.registered_handler.setStream(devnull)
        return run(args)


def run(args: argparse.Namespace) -> int:
    counter = CallCounter()
    paths = Paths(counter)
    rows = paths.run()
    paths.aws.stop()
    print_paths(rows)

    print(f"\nPOST /v1/events on the local HTTP server: {args.requests} requests over {args.threads} threads")
    result = throughput(args.requests, args.threads, args.members)
    print(json.dumps(result, indent=2))
    return 0 if result["reconciled"] and set(result["statuses"]) == {202} else 1


if __name__ == "__main__":
    raise SystemExit(main())
