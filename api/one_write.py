"""A response's head and body in one socket write.

uvicorn writes a response's status line and headers when the app sends
``http.response.start``, and its body when it sends ``http.response.body``: two ``send``
calls, two TCP segments, and a client that may wake for the head alone and again for the
body. On loopback each send is the kernel's delivery to the other socket too, and on a busy
2-core box each wake-up is a chance to wait for a core. ``HeadWithBody`` wraps a connection's
transport (``api.shedding_protocol`` gives it to uvicorn's protocol as it is made) and holds a
response head until the next write of the connection, the body's, which it sends with it: one
``send``, one segment for a small answer. A head is never held past the loop turn it was
written in (a streamed answer's first chunk may come later), nor past ``close``.
"""

from __future__ import annotations

import asyncio
from typing import Any

HEAD_START = b"HTTP/1.1 "
INTERIM = b"HTTP/1.1 1"
"""``100 Continue`` and other 1xx answers are not a response's head: never held."""
HEAD_END = b"\r\n\r\n"


class HeadWithBody:
    """A transport that sends a held response head with the body's first write."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.writelines((head, data))  # one send (writev)
            return
        if _is_head(data):
            self._head = bytes(data)
            self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        """The held head, if any, sent alone."""
        if self._head is not None:
            head, self._head = self._head, None
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._head = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _is_head(data: bytes | bytearray | memoryview) -> bool:
    """A whole response head and nothing after it (a shed answer carries its body: sent)."""
    raw = bytes(data[: len(HEAD_START) + 1])
    return (
        raw.startswith(HEAD_START)
        and not raw.startswith(INTERIM)
        and bytes(data[-len(HEAD_END) :]) == HEAD_END
    )
