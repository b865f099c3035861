"""The browsable API reference: Swagger UI over ``/v1/openapi.json``, served from files
shipped in the bundle (``chalicelib/apidocs``), never from the internet.

The page and its assets answer with a Content-Security-Policy that allows only this
origin, plus ``data:`` images (Swagger UI's CSS draws its icons as inline SVG data URLs).
Scripts and styles come only from files, so neither needs ``'unsafe-inline'``.
"""

from __future__ import annotations

import functools
from pathlib import Path

from chalice import Blueprint, Response

from ..domain.errors import NotFound
from .access import PUBLIC
from .http import Call, endpoint

DOCS_DIR = Path(__file__).resolve().parents[1] / "apidocs"
# asset name -> (file under DOCS_DIR, media type)
ASSETS = {
    "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("swagger-ui/swagger-ui.css", "text/css; charset=utf-8"),
    "docs.js": ("docs.js", "text/javascript; charset=utf-8"),
}
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff"}

docs_api = Blueprint(__name__)
route = functools.partial(endpoint, docs_api, tag="meta", access=PUBLIC)


@functools.cache
def _read(name: str) -> str:
    return (DOCS_DIR / name).read_text(encoding="utf-8")


@route("/v1/docs", "GET", summary="The API reference (Swagger UI over this document)", produces="text/html")
def docs_page(call: Call) -> Response:
    headers = {**_HEADERS, "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"}
    return Response(body=_read("index.html"), status_code=200, headers=headers)


@route(
    "/v1/docs/{asset}",
    "GET",
    summary="A script or style sheet of the API reference page",
    produces=("text/javascript", "text/css"),
    errors=(NotFound,),
)
def docs_asset(call: Call, asset: str) -> Response:
    if asset not in ASSETS:
        raise NotFound("No such asset.")
    name, media_type = ASSETS[asset]
    headers = {**_HEADERS, "Content-Type": media_type, "Cache-Control": "public, max-age=3600"}
    return Response(body=_read(name), status_code=200, headers=headers)
