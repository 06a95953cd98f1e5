"""``HeadWithBody``: a response head goes out with its body in one write; nothing is reordered,
held past the loop turn, or lost on close; 1xx answers and whole answers pass at once."""

from __future__ import annotations

import asyncio
from typing import Any

from api.one_write import HeadWithBody

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n"


class Transport:
    def __init__(self) -> None:
        self.sends: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sends.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        self.sends.append(b"".join(chunks))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def wrapped() -> tuple[Transport, HeadWithBody]:
    raw = Transport()
    return raw, HeadWithBody(raw, asyncio.get_running_loop())  # type: ignore[arg-type]


async def test_head_and_body_are_one_send() -> None:
    raw, transport = wrapped()
    transport.write(HEAD)
    assert raw.sends == []
    transport.write(b"{}")
    assert raw.sends == [HEAD + b"{}"]
    await asyncio.sleep(0)  # the turn's flush finds nothing held
    assert raw.sends == [HEAD + b"{}"]


async def test_a_head_is_not_held_past_the_turn_nor_past_close() -> None:
    raw, transport = wrapped()
    transport.write(HEAD)
    await asyncio.sleep(0)
    assert raw.sends == [HEAD]  # a streamed answer's head goes out alone
    transport.write(b"{}")
    assert raw.sends == [HEAD, b"{}"]
    transport.write(HEAD)
    transport.close()
    assert raw.sends == [HEAD, b"{}", HEAD]
    assert raw.closed


async def test_interim_and_whole_answers_are_sent_at_once() -> None:
    raw, transport = wrapped()
    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    transport.write(HEAD + b"{}")  # a shed answer: head and body in one
    assert raw.sends == [b"HTTP/1.1 100 Continue\r\n\r\n", HEAD + b"{}"]
    assert transport.get_extra_info("peername") == "info:peername"


async def app(scope: Any, receive: Any, send: Any) -> None:
    """A JSON answer, or a streamed one whose body comes a loop turn after its head."""
    if scope["type"] != "http":
        return
    await receive()
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        await send({"type": "http.response.body", "body": b"b"})
        return
    body = b'{"ok": true}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"12")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def test_answers_through_uvicorn_with_the_shedding_protocol() -> None:
    import httpx
    import uvicorn

    from api.load_gate import LoadGate
    from api.shedding_protocol import shedding_protocol
    from deploy.process import free_port

    port = free_port()
    gate = LoadGate(max_requests=8, max_lag_s=1.0, max_connections=16)
    config = uvicorn.Config(
        app, port=port, http=shedding_protocol(gate), lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve())
    for _ in range(500):  # up to 5 s
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(3):  # one kept-alive connection
                answer = await client.post("/", content=b"{}")
                assert answer.status_code == 200
                assert answer.json() == {"ok": True}
            streamed = await client.get("/stream")
            assert streamed.status_code == 200
            assert streamed.content == b"ab"
    finally:
        server.should_exit = True
        await serving
