"""The Chalice application: creates the app, registers middleware and blueprints. Nothing else."""

from __future__ import annotations

from chalicelib.entrypoints.application import ThreadSafeChalice
from chalicelib.entrypoints.cors import cors_config
from chalicelib.entrypoints.middleware import contract_middleware
from chalicelib.entrypoints.registry import register_all

app = ThreadSafeChalice(app_name="member-points")
app.api.cors = cors_config()
app.register_middleware(contract_middleware, "http")
register_all(app)
