"""The one place that maps domain errors to HTTP statuses and the contract's error shape:
``{"error": {"code": "snake_case_code", "message": "human text"}}``.
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

from ..domain import errors as e

MAX_BODY_BYTES = 16 * 1024


class PayloadTooLarge(e.InvalidRequest):
    """The body is larger than this API accepts (413, like API Gateway's own answer)."""

    code = "payload_too_large"
    default_message = f"The body must be at most {MAX_BODY_BYTES} bytes."


# first match wins: subclasses before their bases
_STATUS: tuple[tuple[type[e.DomainError], int], ...] = (
    (e.SmsBudgetExhausted, 429),
    (e.RateLimited, 429),
    (PayloadTooLarge, 413),
    (e.InvalidRequest, 400),
    (e.AuthError, 401),
    (e.Forbidden, 403),
    (e.NotFound, 404),
    (e.Conflict, 409),
    (e.RuleViolation, 422),
    (e.Unavailable, 503),
)

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def status_for(error: e.DomainError | type[e.DomainError]) -> int:
    """The HTTP status of an error or of an error class (the OpenAPI document has only classes)."""
    kind = error if isinstance(error, type) else type(error)
    for cls, status in _STATUS:
        if issubclass(kind, cls):
            return status
    return 500


def error_body(code: str, message: str, **extra: Any) -> str:
    error: dict[str, Any] = {"code": code, "message": message}
    error.update({key: value for key, value in extra.items() if value is not None})
    return json.dumps({"error": error}, ensure_ascii=False, separators=(",", ":"))


# the details an error may show its caller (the rest stay server-side)
PUBLIC_DETAILS = ("problems", "attempts_left", "available", "scope", "required", "purpose")


def error_response(error: e.DomainError) -> Response:
    status = status_for(error)
    headers = dict(JSON_HEADERS)
    if isinstance(error, e.RateLimited | e.Unavailable):
        headers["Retry-After"] = str(error.retry_after_s)
    details = {key: value for key, value in error.details.items() if key in PUBLIC_DETAILS}
    return Response(body=error_body(error.code, error.message, **details), status_code=status, headers=headers)


def internal_error_response() -> Response:
    return Response(
        body=error_body("internal_error", "Something went wrong on our side; it has been logged."),
        status_code=500,
        headers=dict(JSON_HEADERS),
    )


# Chalice answers some requests itself (unknown method, wrong content type, a binary
# response without a matching Accept header); the middleware rewrites those answers.
CHALICE_CODES = {
    "MethodNotAllowedError": ("method_not_allowed", 405),
    "UnsupportedMediaType": ("unsupported_media_type", 415),
    "BadRequest": ("invalid_request", 400),
    "BadRequestError": ("invalid_request", 400),
    "NotFoundError": ("not_found", 404),
    "InternalServerError": ("internal_error", 500),
}
