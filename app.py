"""The Chalice application: creates the app, registers middleware and blueprints. Nothing else."""

from __future__ import annotations

import os

from chalice import CORSConfig

from chalicelib.entrypoints.application import ThreadSafeChalice
from chalicelib.entrypoints.middleware import contract_middleware
from chalicelib.entrypoints.registry import register_all

app = ThreadSafeChalice(app_name="member-points")
app.api.cors = CORSConfig(
    allow_origin=os.environ.get("CORS_ALLOW_ORIGIN", "*"),
    allow_headers=["Authorization", "Idempotency-Key", "X-Integration-Key", "X-Timestamp", "X-Signature"],
    max_age=600,
)
app.register_middleware(contract_middleware, "http")
register_all(app)
