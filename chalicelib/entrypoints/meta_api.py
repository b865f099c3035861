"""Health and the OpenAPI document."""

from __future__ import annotations

import functools

from chalice import Blueprint

from . import schemas as s
from .access import PUBLIC
from .http import Call, endpoint
from .openapi import openapi_document

meta_api = Blueprint(__name__)
route = functools.partial(endpoint, meta_api, tag="meta", access=PUBLIC)


@route("/v1/health", "GET", summary="Liveness", response=s.Health)
def health(call: Call) -> s.Health:
    return s.Health(status="ok")


@route("/v1/openapi.json", "GET", summary="This API's OpenAPI 3 document")
def openapi(call: Call) -> dict[str, object]:
    return openapi_document(call.c.settings.public_base_url)
