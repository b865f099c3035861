"""Registers every blueprint on the app; the local-stage routes only in the local stage."""

from __future__ import annotations

from chalice import Chalice

from .admin_api import admin_api
from .authorizer import auth
from .events_api import events_api
from .identity_api import identity_api
from .jobs_api import jobs_api, schedules
from .member_api import member_api
from .meta_api import dev_api, meta_api


def register_all(app: Chalice, *, local: bool) -> None:
    for blueprint in (auth, meta_api, identity_api, member_api, admin_api, events_api, jobs_api, schedules):
        app.register_blueprint(blueprint)
    if local:
        app.register_blueprint(dev_api)
