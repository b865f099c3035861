"""Code-request latency for a member's number and a stranger's, on the local stage.

Run on purpose, never collected by pytest::

    python -m tests.benchmarks.bench_code_request [--requests 200] [--provider-ms 300]

Registers members, then asks login codes for members and for unregistered numbers,
interleaved, through the in-process gateway, while the local queue runner delivers in
the background through a provider that takes ``--provider-ms`` per SMS (as Alibaba Cloud
takes hundreds of milliseconds). Prints the median and the 95th percentile of both, and
how many SMS the provider received. Before the queue, a member's request paid the
provider's latency and a stranger's did not.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from chalicelib.local import stage

stage.local_environment()


class SlowProvider:
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.sent = 0

    def send(self, sms: object, at: datetime) -> None:
        time.sleep(self.delay_s)
        self.sent += 1


class SteppedClock:
    """Real time plus the offset the benchmark adds (past the members' resend wait)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--provider-ms", type=int, default=300)
    args = parser.parse_args()

    from app import app
    from chalicelib.local import queues
    from chalicelib.local.gateway import Client
    from tests.builders import new_phone, register

    clock = SteppedClock()
    _, container = stage.start(clock=clock)
    client = Client(app)
    members = []
    for i in range(args.requests):
        client.source_ip = f"10.1.{i // 250}.{i % 250 + 1}"  # under the 30 codes an IP an hour
        members.append(register(client, container).phone)
    clock.offset = timedelta(seconds=61)  # their registration codes' resend wait is over
    provider = SlowProvider(args.provider_ms / 1000)
    container.sms = provider
    queues.current().start()
    timings: dict[str, list[float]] = {"member": [], "stranger": []}
    for phone in members:
        for kind, number in (("member", phone), ("stranger", new_phone())):
            client.source_ip = f"10.0.{len(timings[kind]) // 250}.{len(timings[kind]) % 250 + 1}"
            started = time.perf_counter()
            answer = client.post("/v1/auth/otp", json_body={"phone": number, "purpose": "login"})
            timings[kind].append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 202, answer.body
    deadline = time.monotonic() + args.requests * args.provider_ms / 1000 + 10
    while provider.sent < args.requests and time.monotonic() < deadline:
        time.sleep(0.1)
    queues.current().stop()
    print(f"code requests, login purpose, {args.requests} each, provider {args.provider_ms} ms per SMS")
    for kind, values in timings.items():
        print(f"  {kind:8s} median {statistics.median(values):6.1f} ms   p95 {percentile(values, 0.95):6.1f} ms")
    print(f"  SMS the provider received: {provider.sent} (members only; strangers' decoys dropped)")


if __name__ == "__main__":
    main()
