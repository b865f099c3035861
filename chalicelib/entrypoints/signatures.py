"""The check every signed route runs before its body is parsed (README "Signed requests"):
the signature over the whole request, then the route's scope."""

from __future__ import annotations

from ..domain.signing import SignedRequest, verify
from .http import Call


def _path_segments(call: Call) -> tuple[str, ...]:
    # the route's own path with the values it matched: the same whatever stage or base
    # path the deployment's URL puts in front of /v1/
    segments = call.request.path.strip("/").split("/")
    return tuple(call.path_params[s[1:-1]] if s.startswith("{") and s.endswith("}") else s for s in segments)


def _query(call: Call) -> tuple[tuple[str, str], ...]:
    params = call.request.query_params
    if not params:
        return ()
    return tuple((name, value) for name in params for value in params.getlist(name))


def check_signature(call: Call) -> None:
    """Sets ``call.integration_key`` to the key that signed the request, or refuses it
    (``InvalidSignature``); then requires the route's scope, if it declares one."""
    request = SignedRequest(
        method=call.request.method,
        path_segments=_path_segments(call),
        query=_query(call),
        body=call.request.raw_body or b"",
        key_id=call.header("x-integration-key"),
        timestamp=call.header("x-timestamp"),
        signature=call.header("x-signature"),
    )
    key = verify(call.c.integration_keys(), request, call.c.wall_clock.now())  # the peer signs with its real clock
    if call.access.scope is not None:
        key.require(call.access.scope)
    call.integration_key = key
