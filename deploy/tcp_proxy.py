"""A TCP proxy on its own thread: a real network outage between a client and a real server
(``cut``: refuse and drop every connection; ``restore``: accept again), a slow server
(``delay_s``: each chunk of the server's replies waits that long) or a frozen one (``pause``:
connections stay open and nothing is relayed, as with a SIGSTOPped server; ``resume``), without
stopping the shared server other tests and benchmarks use. The soak (``interstore soak``) pauses
one between its worker and API and Cassandra: the stand-in for SIGSTOPping a Cassandra that is
shared."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from types import TracebackType
from typing import Any

from deploy.process import free_port


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.delay_s = 0.0
        """Added before relaying each chunk of the server's replies (set it any time)."""
        self._flowing = threading.Event()
        self._flowing.set()

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        future.result(timeout=10)

    def pause(self) -> None:
        """Relay nothing in either direction until ``resume`` (connections stay open)."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def _wait_flowing(self) -> None:
        while not self._flowing.is_set():  # noqa: ASYNC110 - set from another thread
            await asyncio.sleep(0.01)

    def restore(self) -> None:
        """Listen and relay again."""
        self._call(self._listen())

    def cut(self) -> None:
        """Stop listening and drop every relayed connection (both ends see a reset)."""
        self._call(self._cut())

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            transport = writer.transport
            with contextlib.suppress(OSError):
                transport.abort()
        self._writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer, replies=False),
            self._pipe(up_reader, writer, replies=True),
            return_exceptions=True,
        )
        for end in (writer, up_writer):
            self._writers.discard(end)
            end.transport.abort()

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, replies: bool
    ) -> None:
        """Relay; replies are each held ``delay_s`` from when they arrived (a latency, not a
        queue: chunks read meanwhile are held in parallel)."""
        loop = asyncio.get_running_loop()
        held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def read() -> None:
            try:
                while data := await source.read(65536):
                    await held.put((loop.time() + (self.delay_s if replies else 0.0), data))
            finally:
                held.put_nowait((0.0, b""))

        reading = asyncio.ensure_future(read())
        try:
            while True:
                due, data = await held.get()
                if not data:
                    break
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                await self._wait_flowing()
                sink.write(data)
                await sink.drain()
        finally:
            reading.cancel()
            sink.transport.abort()


@contextlib.contextmanager
def proxied(port: int) -> Iterator[TcpProxy]:
    with TcpProxy(port) as proxy:
        yield proxy
