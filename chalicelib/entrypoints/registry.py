"""Registers every blueprint on the app (the local stage adds its own: ``chalicelib.local.dev_api``)."""

from __future__ import annotations

from chalice import Chalice

from .admin_api import admin_api
from .authorizer import auth
from .backoffice_api import backoffice_api
from .docs_api import docs_api
from .events_api import events_api
from .identity_api import identity_api
from .job_worker import job_workers
from .jobs_api import jobs_api, schedules
from .member_api import member_api
from .member_lists_api import member_lists_api
from .meta_api import meta_api
from .ops_api import ops_api
from .privacy_api import privacy_api
from .shop_api import shop_api
from .sms_worker import workers
from .tickets_api import tickets_api
from .wallet_api import wallet_api


def register_all(app: Chalice) -> None:
    blueprints = (
        auth,
        meta_api,
        docs_api,
        identity_api,
        member_api,
        member_lists_api,
        privacy_api,
        wallet_api,
        admin_api,
        backoffice_api,
        tickets_api,
        ops_api,
        events_api,
        shop_api,
        jobs_api,
        schedules,
        workers,
        job_workers,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
