"""A stand-in for Alibaba Cloud's SMS endpoint: a real HTTP server on 127.0.0.1 that the
real SDK talks to (``ALIYUN_SMS_ENDPOINT`` override, protocol http).

It checks what Alibaba Cloud would check, the ACS3-HMAC-SHA256 signature included (the
documented V3 algorithm, recomputed here from what arrived on the wire), records each
``SendSms`` call, and answers as told: ``OK``, a business refusal with HTTP 200, an HTTP
error, or nothing in time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

ACCESS_KEY_ID = "LTAI5tTestKeyId0000000"
ACCESS_KEY_SECRET = "test-secret-of-the-ram-user"


@dataclass
class SendSmsCall:
    action: str
    version: str
    query: dict[str, str]
    signature_valid: bool


@dataclass
class Answer:
    status: int = 200
    body: dict[str, Any] = field(
        default_factory=lambda: {"Code": "OK", "Message": "OK", "BizId": "9006197469364984^0", "RequestId": "F655A8D5"}
    )
    delay_s: float = 0.0


SIGNATURE_MISMATCH = Answer(
    400,
    {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched with our calculation.",
     "RequestId": "0A1B2C3D"},
)


def _signature_valid(method: str, path: str, query: list[tuple[str, str]], headers: Any, body: bytes) -> bool:
    """Recompute the V3 signature: canonical request -> string to sign -> HMAC-SHA256."""
    authorization = headers.get("Authorization", "")
    algorithm, _, rest = authorization.partition(" ")
    parts = dict(part.split("=", 1) for part in rest.split(",") if "=" in part)
    if algorithm != "ACS3-HMAC-SHA256" or parts.get("Credential") != ACCESS_KEY_ID:
        return False
    payload_hash = hashlib.sha256(body).hexdigest()
    if headers.get("x-acs-content-sha256") != payload_hash:
        return False
    signed = parts.get("SignedHeaders", "").split(";")
    if not {"host", "x-acs-action", "x-acs-date", "x-acs-signature-nonce"} <= set(signed):
        return False
    canonical_query = "&".join(f"{key}={quote(value, safe='~')}" for key, value in sorted(query))
    canonical_headers = "".join(f"{name}:{(headers.get(name) or '').strip()}\n" for name in signed)
    canonical = f"{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{';'.join(signed)}\n{payload_hash}"
    to_sign = f"{algorithm}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    expected = hmac.new(ACCESS_KEY_SECRET.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("Signature", ""))


class FakeAlibabaSms:
    def __init__(self) -> None:
        self.calls: list[SendSmsCall] = []
        self.answer = Answer()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlsplit(self.path)
                query = parse_qsl(url.query, keep_blank_values=True)
                call = SendSmsCall(
                    action=self.headers.get("x-acs-action", ""),
                    version=self.headers.get("x-acs-version", ""),
                    query=dict(query),
                    signature_valid=_signature_valid("POST", url.path or "/", query, self.headers, body),
                )
                fake.calls.append(call)
                answer = fake.answer if call.signature_valid else SIGNATURE_MISMATCH
                time.sleep(answer.delay_s)
                data = json.dumps(answer.body).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json;charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout case)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the numbers are in the query: keep them out of the test output

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeAlibabaSms:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
