"""The Chalice application class: Chalice's own, with the request being served kept per thread."""

from __future__ import annotations

import threading
from typing import Any

from chalice import Chalice
from chalice.app import Request


class ThreadSafeChalice(Chalice):
    """Chalice keeps the request it is serving in one attribute of the app, which every
    view reads through ``Blueprint.current_request``. A Lambda process serves one request
    at a time, but the threaded local server (and the concurrency tests) serve several at
    once, and a view could read another thread's request: its body, its signature, its
    token. Here that attribute is per thread, as ``chalice local`` does with its own
    ``LocalChalice`` (the local stage builds its server itself, so it never got that)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._per_thread = threading.local()
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def current_request(self) -> Request | None:
        return getattr(self._per_thread, "request", None)

    @current_request.setter
    def current_request(self, request: Request | None) -> None:
        self._per_thread.request = request
