"""Suite-wide settings: a deterministic Hypothesis profile on CI, a thorough one on demand."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# --- the local stage for integration and end-to-end tests ------------------------------------
import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

import pytest  # noqa: E402

import tests.aws_calls  # noqa: E402,F401  (before any botocore session: it hooks every client)
from chalicelib.local import stage  # noqa: E402

stage.local_environment()


class MutableClock:
    """A clock the test moves by hand; thread-safe for the concurrency tests."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = instant


@pytest.fixture
def clock() -> MutableClock:
    # 2026-11-23 10:00 in Asia/Shanghai
    return MutableClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))


@pytest.fixture
def stack(clock: MutableClock) -> Iterator:
    """The whole local stage (moto, table from infra/template.yaml, container, seeds)."""
    from chalicelib.bootstrap import install

    aws, container = stage.start(clock=clock)
    try:
        yield container
    finally:
        install(None)
        aws.stop()


@pytest.fixture
def client(stack):
    from app import app
    from chalicelib.local.gateway import Client

    return Client(app)
