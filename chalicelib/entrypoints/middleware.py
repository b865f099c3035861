"""HTTP middleware: request ids in every log line, one access log line per request, and
Chalice's own error answers (unknown method, wrong content type...) rewritten into the
contract's error shape.
"""

from __future__ import annotations

import json
import time
from typing import Any

from chalice import Response
from chalice.app import Request
from ulid import ULID

from ..adapters.observability import count, flush_metrics, logger, traced
from .errors import CHALICE_CODES, JSON_HEADERS, error_body


def _rewrite_chalice_error(response: Response) -> Response:
    if response.status_code < 400 or not isinstance(response.body, dict | str | bytes):
        return response
    body = response.body
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return response
    if not isinstance(body, dict) or "Code" not in body:
        return response
    code, status = CHALICE_CODES.get(str(body.get("Code")), ("invalid_request", response.status_code))
    headers = {**{k: v for k, v in response.headers.items() if k.lower() != "content-type"}, **JSON_HEADERS}
    return Response(
        body=error_body(code, str(body.get("Message") or "The request was refused.")),
        status_code=status,
        headers=headers,
    )


def contract_middleware(request: Request, get_response: Any) -> Response:
    context = request.context or {}
    request_id = context.get("requestId") or context.get("extendedRequestId") or str(ULID())
    # per thread: the local server serves requests in threads (Lambda one at a time)
    logger.thread_safe_append_keys(request_id=request_id, method=request.method, path=context.get("resourcePath"))
    started = time.perf_counter()
    route = f"{request.method} {context.get('resourcePath')}"
    with traced(route, route=route):
        response = _rewrite_chalice_error(get_response(request))
    logger.info(
        "request",
        extra={"status": response.status_code, "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
    )
    response.headers.setdefault("X-Request-Id", request_id)
    count("Requests")
    if response.status_code >= 400:
        count("ServerErrors" if response.status_code >= 500 else "ClientErrors")
    flush_metrics()
    return response
