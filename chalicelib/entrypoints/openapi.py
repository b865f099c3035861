"""The OpenAPI 3.1 document, generated from the route declarations and their pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic.json_schema import models_json_schema

from ..domain import errors as e
from .errors import status_for
from .http import ROUTES, RouteSpec, accepts_empty_body

_PARAM = re.compile(r"{(\w+)}")

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "snake_case; each answer lists the codes it can carry"},
                "message": {"type": "string", "description": "for people, not for programs"},
                "problems": {
                    "type": "array",
                    "description": "with a 400 invalid_request (or a route's own body error) for a body or query "
                    "string that does not fit: every field and what is wrong with it",
                    "items": {"$ref": "#/components/schemas/Problem"},
                },
                "attempts_left": {"type": "integer", "description": "with invalid_code: tries left for this code"},
                "available": {"type": "integer", "description": "with an insufficient balance: what is available"},
                "required": {
                    "type": "array",
                    "description": "with consent_required and consent_outdated: the document versions in force",
                    "items": {
                        "type": "object",
                        "required": ["doc", "version"],
                        "properties": {"doc": {"type": "string"}, "version": {"type": "integer"}},
                    },
                },
                "purpose": {
                    "type": "string",
                    "description": "with separate_consent_required: the consent to give first "
                    "(POST /v1/me/consents/{purpose})",
                },
            },
        }
    },
}
PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["field", "problem"],
    "properties": {
        "field": {"type": "string", "description": "dotted path of the field (`body` for the whole body)"},
        "problem": {"type": "string"},
    },
}
HEADERS = {
    "X-Request-Id": {
        "description": "This request's id, also on every log line of it; quote it to support. Answers API "
        "Gateway gives itself (401 and 403 of the authorizer, unknown routes, throttling) carry the same id "
        "as `x-amzn-RequestId` instead.",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
}
_REQUEST_ID = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
_STATUS_TEXT = {
    400: "Malformed request",
    401: "Missing or invalid credentials",
    403: "Not allowed for this principal",
    404: "Unknown resource",
    409: "Conflict with the current state",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Valid JSON that breaks a rule",
    429: "Rate limited: try again after Retry-After seconds",
    503: "The table could not serve it now: try again after Retry-After seconds (with the same Idempotency-Key)",
}


def error_codes(spec: RouteSpec) -> dict[int, set[str]]:
    """Every error code a route can answer, by status: its declared errors and the ones the
    gateway and the ``@endpoint`` wrapper add (bad JSON, bad query, no token, unknown id...)."""
    codes: dict[int, set[str]] = {}

    def add(status: int, code: str) -> None:
        codes.setdefault(status, set()).add(code)

    if spec.body is not None or spec.query is not None or spec.idempotent:
        add(400, "invalid_request")  # unreadable JSON, a bad query string, a malformed Idempotency-Key
    if spec.body is not None:
        add(status_for(spec.invalid_body), spec.invalid_body.code)
        add(413, "payload_too_large")
        add(415, "unsupported_media_type")
    if spec.access.needs_bearer:
        add(401, "unauthorized")
        add(403, "forbidden")
    if _PARAM.search(spec.path):
        add(404, "not_found")  # a path value that names nothing
    for error in spec.errors:
        add(status_for(error), error.code)
    # a call that reads the table may find it throttled or unreachable (only the public
    # documents and liveness read nothing; the legal documents are in the table); a write
    # may not learn its outcome
    if spec.method != "GET" or spec.access.kind != "public" or spec.path.startswith("/v1/legal/"):
        add(status_for(e.Throttled), e.Throttled.code)
    if spec.method != "GET":
        add(status_for(e.OutcomeUnknown), e.OutcomeUnknown.code)
    return codes


def _error_response(status: int, codes: set[str]) -> dict[str, Any]:
    schema = {
        "allOf": [
            {"$ref": "#/components/schemas/Error"},
            {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code"],
                        "properties": {"code": {"type": "string", "enum": sorted(codes)}},
                    }
                },
            },
        ]
    }
    headers = dict(_REQUEST_ID)
    if status in (429, 503):
        headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    return {
        "description": f"{_STATUS_TEXT.get(status, 'Refused')}: {', '.join(sorted(codes))}",
        "headers": headers,
        "content": {"application/json": {"schema": schema}},
    }


SIGNATURE_DESCRIPTION = (
    "hex HMAC-SHA256(secret, canonical request), the canonical request being these lines joined by "
    "'\\n' (no final newline): 'AIBI-HMAC-SHA256-V1'; the method in upper case; the API path from "
    "'/v1/' (without a stage or base path), each segment percent-decoded then percent-encoded keeping "
    "A-Z a-z 0-9 - . _ ~; the query as name=value pairs encoded the same way, sorted, joined by '&' "
    "(empty line without a query); X-Timestamp (unix seconds, at most 300 s off); X-Integration-Key; "
    "the hex SHA-256 of the raw body. Either of a key's two secrets verifies during a rotation. "
    "A bad, stale or unknown signature is 401 invalid_signature; a key without the route's scope "
    "(or the event type's, events:<type>) is 401 missing_scope."
)


def _security(spec: RouteSpec) -> list[dict[str, list[str]]]:
    if spec.access.needs_bearer:
        return [{"bearer": []}]
    if spec.access.kind == "signed":
        # OpenAPI 3.1 lets a non-OAuth scheme list the roles it requires: here the key's scope
        scopes = [spec.access.scope] if spec.access.scope else []
        return [{"integrationKey": [], "timestamp": [], "signature": scopes}]
    return []


def _query_parameters(spec: RouteSpec, defs: dict[str, Any]) -> list[dict[str, Any]]:
    if spec.query is None:
        return []
    schema = spec.query.model_json_schema(ref_template="#/components/schemas/{model}")
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def openapi_document(server_url: str) -> dict[str, Any]:
    specs = list(ROUTES)  # the local stage's routes are declared only where it runs
    # bodies as they are read (a field with a default may be left out), answers as they are
    # written (every field is always there: Out marks fields with defaults required)
    models = {(m, "validation") for spec in specs if (m := spec.body) is not None}
    models |= {(m, "serialization") for spec in specs if (m := spec.response) is not None}
    models |= {(m, "serialization") for spec in specs for _, m in spec.also}
    _, top = models_json_schema(
        sorted(models, key=lambda pair: (pair[0].__name__, pair[1])),
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA
    schemas["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        operation: dict[str, Any] = {
            "summary": spec.summary,
            "tags": [spec.tag],
            "operationId": spec.method.lower() + "_" + re.sub(r"[^a-z0-9]+", "_", spec.path.lower()).strip("_"),
            "security": _security(spec),
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(spec.path)
            ]
            + _query_parameters(spec, schemas),
            "responses": {},
        }
        if spec.access.kind == "staff" and spec.access.roles:
            operation["description"] = "Staff roles: " + ", ".join(sorted(spec.access.roles))
        if spec.access.kind == "signed":
            needed = spec.access.scope or "events:<type> for the event's type"
            operation["description"] = f"Integration key scope: {needed}"
        if spec.idempotent:
            operation["parameters"].append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": spec.key_required,
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{8,128}$"},
                }
            )
        if spec.body is not None:
            operation["requestBody"] = {
                "required": not accepts_empty_body(spec.body),
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{spec.body.__name__}"}}},
            }
        success: dict[str, Any] = {"description": "Success", "headers": dict(_REQUEST_ID)}
        if spec.response is not None:
            success["content"] = {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{spec.response.__name__}"}}
            }
        elif spec.produces != ("application/json",):
            success["content"] = {media: {} for media in spec.produces}
        operation["responses"][str(spec.status)] = success
        for status, model in spec.also:
            operation["responses"][str(status)] = {
                "description": "Success",
                "headers": dict(_REQUEST_ID),
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
            }
        for status, codes in sorted(error_codes(spec).items()):
            operation["responses"][str(status)] = _error_response(status, codes)
        paths.setdefault(spec.path, {})[spec.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Member, points and aibi wallet API",
            "version": "1.0.0",
            "description": "Money is integer fen (`*_fen`), points are integers, times are ISO 8601 with offset. "
            'Errors: {"error": {"code", "message"}}; each answer lists the codes it can carry. Every answer '
            "carries X-Request-Id; a 429 or 503 carries Retry-After. Any call can also meet API Gateway's throttling "
            "(429 rate_limited, Retry-After).",
        },
        "servers": [{"url": server_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "headers": HEADERS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "integrationKey": {"type": "apiKey", "in": "header", "name": "X-Integration-Key"},
                "timestamp": {"type": "apiKey", "in": "header", "name": "X-Timestamp"},
                "signature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Signature",
                    "description": SIGNATURE_DESCRIPTION,
                },
            },
        },
    }
