"""The OpenAPI 3.1 document, generated from the route declarations and their pydantic models."""

from __future__ import annotations

import os
import re
from typing import Any

from pydantic.json_schema import models_json_schema

from .errors import status_for
from .http import ROUTES, RouteSpec

_PARAM = re.compile(r"{(\w+)}")

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
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


def _visible(spec: RouteSpec) -> bool:
    return spec.access.kind != "local" or os.environ.get("STAGE", "local") == "local"


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
    specs = [spec for spec in ROUTES if _visible(spec)]
    models = {m for spec in specs for m in (spec.body, spec.response) if m is not None}
    _, top = models_json_schema(
        [(model, "validation") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA
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
                    "required": False,
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{8,128}$"},
                }
            )
        if spec.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{spec.body.__name__}"}}},
            }
        success: dict[str, Any] = {"description": "Success"}
        if spec.response is not None:
            success["content"] = {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{spec.response.__name__}"}}
            }
        elif spec.produces != ("application/json",):
            success["content"] = {media: {} for media in spec.produces}
        operation["responses"][str(spec.status)] = success
        error_ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        if spec.body is not None or spec.query is not None:
            operation["responses"]["400"] = {"description": "Malformed request", **error_ref}
        if spec.access.needs_bearer:
            operation["responses"]["401"] = {"description": "Missing or invalid access token", **error_ref}
            operation["responses"]["403"] = {"description": "Not allowed for this principal", **error_ref}
        for error in spec.errors:
            status = str(status_for(error))
            codes = operation["responses"].setdefault(status, {"description": "", **error_ref})
            described = [part for part in codes["description"].split("; ") if part]
            if error.code not in described:
                described.append(error.code)
            codes["description"] = "; ".join(described)
        paths.setdefault(spec.path, {})[spec.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Member, points and aibi wallet API",
            "version": "1.0.0",
            "description": "Money is integer fen (`*_fen`), points are integers, times are ISO 8601 with offset. "
            'Errors: {"error": {"code", "message"}}.',
        },
        "servers": [{"url": server_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
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
