"""API Gateway as the local stage and the tests see it.

Chalice's local gateway answers some requests itself (no token, a rejected token, an
unknown route) with API Gateway's default bodies. In production, the gateway responses
in ``infra/api.yaml`` give those answers the contract's error shape; ``ContractGateway``
applies the very same table here, so clients meet the same answers locally. ``Client``
drives it in-process for the tests; ``serve`` runs it as a threaded HTTP server.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from chalice import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    LocalDevServer,
    LocalGateway,
    LocalGatewayException,
    NotAuthorizedError,
)

from ..entrypoints.authorizer import Unauthorized
from ..entrypoints.cors import allowed_origin

GATEWAY_RESPONSES = Path(__file__).resolve().parents[2] / "infra" / "api.yaml"
_TEMPLATE_PARAMETER = re.compile(r"\$\{(\w+)}")

# A header value is a quoted literal ("'1'") or a {"Fn::Sub": ...} of the template's
# parameters, which are given at deploy time; here each takes the local stage's value.
HeaderValue = str | dict[str, str]


@functools.cache
def gateway_responses() -> dict[str, tuple[int, str, dict[str, HeaderValue]]]:
    """``ResponseType -> (status, JSON body, headers)`` from infra/api.yaml."""
    table = {}
    for resource in yaml.safe_load(GATEWAY_RESPONSES.read_text(encoding="utf-8"))["Resources"].values():
        if resource.get("Type") != "AWS::ApiGateway::GatewayResponse":
            continue  # the file also holds the template's other additions
        props = resource["Properties"]
        headers = {
            name.removeprefix("gatewayresponse.header."): value
            for name, value in (props.get("ResponseParameters") or {}).items()
        }
        status = int(props.get("StatusCode") or (500 if props["ResponseType"] == "DEFAULT_5XX" else 400))
        table[props["ResponseType"]] = (status, props["ResponseTemplates"]["application/json"], headers)
    return table


def _header_value(value: HeaderValue) -> str:
    if isinstance(value, dict):
        parameters = {"CorsAllowOrigin": allowed_origin()}
        value = _TEMPLATE_PARAMETER.sub(lambda m: parameters[m.group(1)], value["Fn::Sub"])
    return value.strip("'")


def _gateway_answer(response_type: str) -> dict[str, Any]:
    status, body, headers = gateway_responses()[response_type]
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **{k: _header_value(v) for k, v in headers.items()}},
        "multiValueHeaders": {},
        "body": body,
    }


SOURCE_IP_HEADER = "x-local-source-ip"


class ContractGateway(LocalGateway):
    def _generate_lambda_event(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> dict[str, Any]:
        # API Gateway takes the source IP from the connection; locally the server (or the
        # test client) passes it in this header, which never reaches the app.
        source_ip = headers.pop(SOURCE_IP_HEADER, None)
        event = super()._generate_lambda_event(method, path, headers, body)
        if source_ip:
            event["requestContext"]["identity"]["sourceIp"] = source_ip
        return event

    def handle_request(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> dict[str, Any]:
        try:
            return super().handle_request(method, path, headers, body)
        except Unauthorized:
            return _gateway_answer("UNAUTHORIZED")
        except NotAuthorizedError:
            return _gateway_answer("UNAUTHORIZED")
        except ForbiddenError as exc:
            denied = exc.headers.get("x-amzn-ErrorType") == "AccessDeniedException"
            return _gateway_answer("ACCESS_DENIED" if denied else "MISSING_AUTHENTICATION_TOKEN")
        except LocalGatewayException:
            return _gateway_answer("DEFAULT_5XX")


@dataclass
class HttpResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def text(self) -> str:
        return self.body.decode()


class Client:
    """In-process HTTP client over ``ContractGateway`` (what ``chalice.test`` does, with
    the production gateway responses applied)."""

    def __init__(self, app: Chalice, source_ip: str = "127.0.0.1") -> None:
        self._gateway = ContractGateway(app, Config.create(chalice_stage="local"))
        self.source_ip = source_ip

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> HttpResponse:
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers.setdefault("content-type", "application/json")
        if token:
            headers["authorization"] = f"Bearer {token}"
        headers[SOURCE_IP_HEADER] = self.source_ip
        answer = self._gateway.handle_request(method.upper(), path, headers, body or b"")
        payload = answer.get("body") or b""
        if answer.get("isBase64Encoded"):
            payload = base64.b64decode(payload)
        if isinstance(payload, str):
            payload = payload.encode()
        flat = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
        return HttpResponse(answer["statusCode"], flat, payload)

    def get(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("PUT", path, **kwargs)


class _Handler(ChaliceRequestHandler):
    # The handler writes a response's headers and body in separate sends; with Nagle's
    # algorithm the body then waits for the client's delayed ACK of the headers, about
    # 40 ms on every request of a keep-alive connection.
    disable_nagle_algorithm = True

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Chalice, config: Config) -> None:
        self.local_gateway = ContractGateway(app_object, config)
        # skip ChaliceRequestHandler.__init__, which would build a plain LocalGateway
        super(ChaliceRequestHandler, self).__init__(request, client_address, server)

    def _parse_payload(self) -> tuple[dict[str, str], bytes | None]:
        headers, body = super()._parse_payload()
        headers = {k: v for k, v in headers.items() if k.lower() != SOURCE_IP_HEADER}
        headers[SOURCE_IP_HEADER] = self.client_address[0]
        return headers, body

    def log_message(self, format: str, *args: Any) -> None:
        """Access logs come from the app's structured logger instead."""


def local_server(app: Chalice, host: str, port: int) -> LocalDevServer:
    return LocalDevServer(app, Config.create(chalice_stage="local"), host, port, handler_cls=_Handler)
