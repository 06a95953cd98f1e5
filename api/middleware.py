"""Pure ASGI middleware (no per-request task or body copy): request timing per route, the
request body limit, and the load gate (503 rather than queue)."""

from __future__ import annotations

import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body, error_response
from api.load_gate import ADMITTED, LoadGate
from api.metrics import ApiMetrics
from api.responses import OrjsonResponse


class RequestMetrics:
    """Latency and status of every HTTP request, labelled by route template (never raw path)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method, series = scope["method"], self.metrics.series
            series(self.metrics.request_seconds, method, template).observe(
                time.perf_counter() - started
            )
            series(self.metrics.requests, method, template, str(status)).inc()


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` mid-body: an HTTPException, so FastAPI's body parsing passes it
    on and the error handlers answer 413 (not "error parsing the body")."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body over {max_bytes} bytes")


class BodyLimit:
    """413 for a request body over ``max_bytes``: at once from Content-Length, else counted as
    the body streams in (chunked uploads). Not FastAPI's own ``max_body_size`` (Starlette's
    RequestBodyLimitMiddleware): for a declared Content-Length over the limit it replaces the
    app's answer with a plain-text "Content Too Large", not the API's JSON error shape."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> OrjsonResponse:
        message = f"request body over {self.max_bytes} bytes"
        return OrjsonResponse(error_body(413, message), status_code=413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._too_large()(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if started:
                raise
            await self._too_large()(scope, receive, send)


class ConcurrencyLimit:
    """Answer at once 503 with Retry-After in the API's JSON shape, rather than queue, when the
    app's ``LoadGate`` refuses: over its requests in progress, or while the event loop runs
    more than its lag limit late (requests read then have waited in the loop's queue that long
    already, and would wait as long again behind the others). Under ``interstore api`` the
    server protocol (``api.shedding_protocol``) asks the gate first, as a request is parsed,
    and marks what it admitted; here only requests that came another way (an in-process ASGI
    client) are checked and counted."""

    def __init__(self, app: ASGIApp, gate: LoadGate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get(ADMITTED):
            await self.app(scope, receive, send)
            return
        if (reason := self.gate.refusal(scope["path"])) is not None:
            await error_response(503, self.gate.shed(reason))(scope, receive, send)
            return
        self.gate.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.leave()


def _content_length(scope: Scope) -> int | None:
    headers: Any = scope.get("headers", ())
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
