"""Registers every blueprint on the app; the local-stage routes only in the local stage."""

from __future__ import annotations

from chalice import Chalice

from .admin_api import admin_api
from .authorizer import auth
from .identity_api import identity_api
from .member_api import member_api
from .meta_api import dev_api, meta_api


def register_all(app: Chalice, *, local: bool) -> None:
    for blueprint in (auth, meta_api, identity_api, member_api, admin_api):
        app.register_blueprint(blueprint)
    if local:
        app.register_blueprint(dev_api)
