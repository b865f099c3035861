"""The one way routes are declared: ``@endpoint(...)``.

It registers the Chalice route (with the bearer authorizer where the route needs a
principal), checks that the principal's token still stands (session family not revoked,
account not closed or deactivated, staff roles unchanged: one or two GetItems, on every
request, never cached), parses the body and the query string with pydantic, re-checks
the principal's kind and current roles, calls the view,
renders its pydantic result, and turns every failure into the contract's error shape.
The same declarations feed the authorizer's route policy and the OpenAPI document.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pydantic
from chalice import Blueprint, Response
from chalice.app import Request

from ..adapters.dynamodb.faults import error_code, unavailable
from ..adapters.observability import logger
from ..adapters.tokens import Principal
from ..bootstrap import Container, container
from ..domain.errors import DomainError, Forbidden, InvalidRequest, NotFound, Unavailable
from ..domain.signing import IntegrationKey
from ..service_layer.sessions import current_principal
from .access import PUBLIC, Access
from .errors import MAX_BODY_BYTES, PayloadTooLarge, error_response, internal_error_response, status_for

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
# Path parameters are ids and names of this API. Anything else names nothing; refusing it
# here also keeps it out of DynamoDB keys, where an over-long key (> 2048 bytes) is a
# ValidationException, i.e. a 500 (moto does not enforce that limit).
_PATH_VALUE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# What a route may change of a member's balances or of the mall's stock: a route declaring
# one is held to the fault matrix (tests/e2e/test_faults.py)
QUANTITIES = frozenset({"points", "aibi", "stock"})


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    summary: str
    access: Access
    tag: str
    status: int
    body: type[pydantic.BaseModel] | None
    query: type[pydantic.BaseModel] | None
    response: type[pydantic.BaseModel] | None
    errors: tuple[type[DomainError], ...]
    idempotent: bool
    produces: tuple[str, ...] = ("application/json",)  # media types of the success answer
    invalid_body: type[DomainError] = InvalidRequest  # the error of a body that does not fit ``body``
    also: tuple[tuple[int, type[pydantic.BaseModel]], ...] = ()  # other success answers a view may give
    key_required: bool = False  # every call must carry an Idempotency-Key (``idempotent`` too)
    moves: frozenset[str] = frozenset()  # the QUANTITIES the route may change


@dataclass(frozen=True)
class Answer:
    """A success answer other than the route's own status, declared in ``also``."""

    status: int
    body: pydantic.BaseModel


ROUTES: list[RouteSpec] = []


class InvalidJson(InvalidRequest):
    """The body is not a JSON object of the expected shape."""

    code = "invalid_request"


def accepts_empty_body(model: type[pydantic.BaseModel]) -> bool:
    """Whether a request without a body passes ``model`` (an empty body is read as ``{}``)."""
    try:
        model.model_validate_json(b"{}")
    except pydantic.ValidationError:
        return False
    return True


@dataclass
class Call:
    """What a view gets: the parsed request and the container."""

    request: Request
    c: Container
    principal: Principal | None
    access: Access = PUBLIC
    integration_key: IntegrationKey | None = None  # the key that signed the request
    body: Any = None
    query: Any = None
    path_params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    @property
    def client_ip(self) -> str:
        return str(((self.request.context or {}).get("identity") or {}).get("sourceIp") or "unknown")

    @property
    def member_id(self) -> str:
        assert self.principal is not None and self.principal.kind == "member"
        return self.principal.subject

    def idempotency_key(self) -> str | None:
        key = self.header("idempotency-key")
        if key is None:
            return None
        if not _IDEMPOTENCY_KEY.match(key):
            raise InvalidRequest("Idempotency-Key must be 8 to 128 characters of A-Z a-z 0-9 _ . : -")
        return key


def principal_of(request: Request) -> Principal | None:
    context = (request.context or {}).get("authorizer") or {}
    subject = context.get("principalId")
    if not subject or context.get("kind") not in ("member", "staff"):
        return None
    roles = frozenset(filter(None, str(context.get("roles") or "").split(",")))
    try:
        epoch, expires = int(context.get("epoch") or 0), int(context.get("expires") or 0)
    except ValueError:
        return None
    return Principal(
        subject=subject,
        kind=context["kind"],
        roles=roles,
        session=str(context.get("session") or "") or None,
        epoch=epoch,
        expires=expires,
    )


def _validation_message(exc: pydantic.ValidationError) -> tuple[str, list[dict[str, str]]]:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in error.get("loc", ())) or "body"
        problems.append({"field": location, "problem": error.get("msg", "invalid")})
    first = problems[0] if problems else {"field": "body", "problem": "invalid"}
    return f"{first['field']}: {first['problem']}", problems


def _parse_body(
    request: Request, model: type[pydantic.BaseModel], invalid: type[DomainError] = InvalidJson
) -> pydantic.BaseModel:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    try:
        return model.model_validate_json(raw or b"{}")  # as accepts_empty_body reads it
    except pydantic.ValidationError as exc:
        message, problems = _validation_message(exc)
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            invalid = InvalidJson
        raise invalid(message, problems=problems) from exc


def _parse_query(request: Request, model: type[pydantic.BaseModel]) -> pydantic.BaseModel:
    params = dict(request.query_params or {})
    try:
        return model.model_validate(params)
    except pydantic.ValidationError as exc:
        message, problems = _validation_message(exc)
        raise InvalidRequest(message, problems=problems) from exc


def _render(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, Answer):
        return _render(result.body, result.status)
    if result is None:
        return Response(body="", status_code=status)
    body = result.model_dump(mode="json", by_alias=True) if isinstance(result, pydantic.BaseModel) else result
    return Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )


def endpoint(
    blueprint: Blueprint,
    path: str,
    method: str,
    *,
    summary: str,
    access: Access,
    tag: str,
    status: int = 200,
    body: type[pydantic.BaseModel] | None = None,
    query: type[pydantic.BaseModel] | None = None,
    response: type[pydantic.BaseModel] | None = None,
    errors: tuple[type[DomainError], ...] = (),
    idempotent: bool = False,
    produces: str | tuple[str, ...] = "application/json",
    authorizer: Any = None,
    verify: Callable[[Call], None] | None = None,
    invalid_body: type[DomainError] = InvalidJson,
    also: tuple[tuple[int, type[pydantic.BaseModel]], ...] = (),
    key_required: bool = False,
    moves: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a route. ``verify`` runs on the raw request before the body is parsed
    (signature checks must see the exact bytes). ``invalid_body`` is the error for JSON
    that does not fit ``body`` (a route whose body has its own contract error). ``also``
    lists the other success answers (status, model) the view may give as an ``Answer``.
    ``key_required`` says that the view refuses a call without an Idempotency-Key;
    ``moves`` names the QUANTITIES the route may change (points, aibi, stock)."""
    if access.kind == "signed" and verify is None:
        # a signed route without its check would be open to anyone: refuse the declaration
        raise ValueError(f"{method} {path} is declared signed but has no verify= (the signature check)")
    if not set(moves) <= QUANTITIES:
        raise ValueError(f"{method} {path} moves {sorted(set(moves) - QUANTITIES)}: not one of {sorted(QUANTITIES)}")
    if key_required and not idempotent:
        raise ValueError(f"{method} {path} requires an Idempotency-Key but is not declared idempotent")
    media = (produces,) if isinstance(produces, str) else produces
    spec = RouteSpec(
        path,
        method,
        summary,
        access,
        tag,
        status,
        body,
        query,
        response,
        errors,
        idempotent,
        media,
        invalid_body,
        also,
        key_required,
        frozenset(moves),
    )
    ROUTES.append(spec)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def handler(**path_params: str) -> Response:
            request = blueprint.current_request
            try:
                c = container()
                principal = principal_of(request)
                if access.needs_bearer and principal is not None:
                    principal = current_principal(c, principal)
                if not access.allows(principal):
                    raise Forbidden()
                if not all(_PATH_VALUE.match(value) for value in path_params.values()):
                    raise NotFound()
                call = Call(request=request, c=c, principal=principal, access=access, path_params=path_params)
                if verify is not None:
                    verify(call)
                if body is not None:
                    call.body = _parse_body(request, body, invalid_body)
                elif request.raw_body and len(request.raw_body) > MAX_BODY_BYTES:
                    raise PayloadTooLarge()
                if query is not None:
                    call.query = _parse_query(request, query)
                return _render(view(call, **path_params), status)
            except Unavailable as exc:
                # the table's state, not a bug: a warning, so that error alarms stay on bugs
                logger.warning("table unavailable", extra={"route": f"{method} {path}", "code": exc.code})
                return error_response(exc)
            except DomainError as exc:
                if status_for(exc) >= 500:
                    logger.exception("domain error mapped to 5xx")
                return error_response(exc)
            except Exception as exc:
                # a read throttled or unreachable past the SDK's retries is a 503, not a bug
                if (busy := unavailable(exc)) is not None:
                    logger.warning("table unavailable", extra={"route": f"{method} {path}", "cause": error_code(exc)})
                    return error_response(busy)
                logger.exception("unhandled error", extra={"route": f"{method} {path}"})
                return internal_error_response()

        content_types = ["application/json"] if body is not None else None
        kwargs: dict[str, Any] = {"methods": [method]}
        if content_types:
            kwargs["content_types"] = content_types
        if access.needs_bearer and authorizer is not None:
            kwargs["authorizer"] = authorizer
        blueprint.route(path, **kwargs)(handler)
        return view

    return decorate
