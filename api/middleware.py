"""Pure ASGI middleware (no per-request task or body copy): request timing per route, the
request body limit, and the limit on requests in progress."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body, error_response
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
            method = scope["method"]
            self.metrics.request_seconds.labels(method, template).observe(
                time.perf_counter() - started
            )
            self.metrics.requests.labels(method, template, str(status)).inc()


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
    """Answer at once 503 with Retry-After in the API's JSON shape, rather than queue: over
    ``max_requests`` HTTP requests in progress, or while the event loop runs more than
    ``max_lag_s`` late (``LoopLag``: requests read then have waited in the loop's queue that
    long already, and would wait as long again behind the others). uvicorn's own
    ``limit_concurrency``, kept as a backstop at a higher count, answers in plain text and
    counts idle keep-alive connections too."""

    def __init__(self, app: ASGIApp, max_requests: int, max_lag_s: float | None = None) -> None:
        self.app = app
        self.max_requests = max_requests
        self.in_progress = 0
        self.lag = LoopLag() if max_lag_s is not None else None
        self.max_lag_s = max_lag_s or 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_progress >= self.max_requests:
            message = f"over {self.max_requests} requests in progress: retry shortly"
            await error_response(503, message)(scope, receive, send)
            return
        if self.lag is not None and self.lag.late_s() > self.max_lag_s:
            message = f"the API runs over {self.max_lag_s * 1000:.0f} ms behind: retry shortly"
            await error_response(503, message)(scope, receive, send)
            return
        self.in_progress += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_progress -= 1


class LoopLag:
    """How late the running event loop is: a timer every ``interval_s`` notes how late it fired
    (started by the first ``late_s`` call on the loop; one callback per interval)."""

    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self._late_s = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    def late_s(self) -> float:
        """The lateness of the last timer, or of the pending one if it is later still."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._late_s = 0.0
            self._schedule(loop)
        return max(self._late_s, loop.time() - self._due)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        self._due = loop.time() + self.interval_s
        loop.call_at(self._due, self._fired, loop)

    def _fired(self, loop: asyncio.AbstractEventLoop) -> None:
        self._late_s = max(0.0, loop.time() - self._due)
        if self._loop is loop and not loop.is_closed():
            self._schedule(loop)


def _content_length(scope: Scope) -> int | None:
    headers: Any = scope.get("headers", ())
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
