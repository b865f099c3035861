"""Bring the local stage up in this process: environment, embedded AWS, container, seeds."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..adapters.messaging import Outbox
from ..bootstrap import Clock, Container, ShiftedClock, SystemClock, bootstrap, install
from ..config import Settings
from ..domain.rules import Rules, RulesRegistry
from .aws import EmbeddedAws

CHALICE_CONFIG = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"


def local_environment() -> None:
    """The ``local`` stage's variables from .chalice/config.json (already-set ones win)."""
    config = json.loads(CHALICE_CONFIG.read_text(encoding="utf-8"))
    variables = {**config.get("environment_variables", {}), **config["stages"]["local"]["environment_variables"]}
    for name, value in variables.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


def start(*, clock: Clock | None = None, rules: Rules | RulesRegistry | None = None) -> tuple[EmbeddedAws, Container]:
    """Start moto, create the resources, build and install the container, seed the admin.

    Without a ``clock`` (the dev server), business time is the wall clock shifted by
    ``POST /v1/dev/clock``, while TOTP codes and signature windows keep real time. A test
    passes its own clock, which then serves both."""
    from ..service_layer.legal import ensure_local_documents
    from ..service_layer.staff import ensure_local_admin

    local_environment()
    settings = Settings.from_env()
    aws = EmbeddedAws(settings).start()
    wall = None
    if clock is None:
        clock, wall = ShiftedClock(), SystemClock()
    container = bootstrap(aws.settings, clock=clock, wall_clock=wall, rules=rules, outbox=Outbox(), session=aws.session)
    install(container)
    ensure_local_admin(container)
    ensure_local_documents(container)
    from app import app

    from . import dev_api

    dev_api.register(app)
    return aws, container
