"""uvicorn's httptools protocol with the load gate asked as each request is parsed: a refused
request is answered there and then, with prebuilt bytes (the API's JSON error shape, 503,
``Retry-After``), and no task, ASGI call or middleware runs for it.

Why in the protocol: the app's middleware sees a request only when its task first runs, behind
every task created before it, and its count of requests in progress misses those queued tasks.
Here the gate counts a request from the moment its task is created to the moment it finishes,
so the limit bounds the loop's whole queue; and a shed request costs the parse and one write,
a fraction of a served one. uvicorn's own ``limit_concurrency`` answer (plain text, connection
closed) is replaced by the same JSON 503 (reason ``connections``); the connection stays open
when the client keeps it alive, so a shedding server does not add reconnects to its load.
Each connection's transport is wrapped in ``api.one_write.HeadWithBody``: an answer's head and
body go out in one write.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from api.errors import RETRY_AFTER_S, error_body
from api.load_gate import ADMITTED, REASONS, LoadGate
from api.one_write import HeadWithBody


def shed_response(message: str, keep_alive: bool) -> bytes:
    """The whole HTTP/1.1 503 answer: what ``error_response(503, message)`` sends."""
    body = orjson.dumps(error_body(503, message))
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "content-type: application/json\r\n"
        f"retry-after: {RETRY_AFTER_S}\r\n"
        f"content-length: {len(body)}\r\n"
        + ("" if keep_alive else "connection: close\r\n")
        + "\r\n"
    )
    return head.encode("latin-1") + body


def shedding_protocol(gate: LoadGate) -> type[HttpToolsProtocol]:
    """The protocol class for ``uvicorn.run(http=...)``, bound to the app's gate."""
    answers = {
        (reason, keep_alive): shed_response(gate.messages[reason], keep_alive)
        for reason in REASONS
        for keep_alive in (True, False)
    }

    class SheddingHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            wrapped = HeadWithBody(cast(asyncio.Transport, transport), self.loop)
            super().connection_made(wrapped)  # type: ignore[arg-type]

        def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
            path = cycle.scope["path"]
            reason = "connections" if app is service_unavailable else gate.refusal(path)
            if reason is None:
                cycle.scope[ADMITTED] = True  # type: ignore[literal-required]
                gate.enter()
                task = self.loop.create_task(cycle.run_asgi(app))
                task.add_done_callback(self.tasks.discard)
                task.add_done_callback(gate.leave)
                self.tasks.add(task)
                return
            gate.shed(reason)
            cycle.response_started = cycle.response_complete = True
            self.transport.write(answers[reason, cycle.keep_alive])
            if cycle.keep_alive:
                self.on_response_complete()  # the next pipelined request, or keep-alive
            else:
                self.transport.close()

    return SheddingHttpToolsProtocol
