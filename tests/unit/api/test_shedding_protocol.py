"""The shed answer written by the server protocol is what ``error_response(503, ...)`` sends:
status, JSON error shape, Retry-After, a length that frames it on a kept-alive connection."""

from __future__ import annotations

import orjson

from api.errors import error_response
from api.load_gate import REASONS, LoadGate
from api.shedding_protocol import shed_response, shedding_protocol


def test_the_shed_answer_is_the_apis_503() -> None:
    raw = shed_response("over 32 requests in progress: retry shortly", keep_alive=True)
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 503 Service Unavailable"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    expected = error_response(503, "over 32 requests in progress: retry shortly")
    assert body == expected.body
    assert orjson.loads(body)["error"]["code"] == "unavailable"
    assert headers["retry-after"] == expected.headers["retry-after"] == "1"
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    assert "connection" not in headers
    closing = shed_response("x", keep_alive=False).split(b"\r\n\r\n", 1)[0]
    assert b"connection: close" in closing


def test_the_protocol_is_built_for_every_reason() -> None:
    gate = LoadGate(max_requests=1, max_lag_s=0.1, max_connections=10)
    assert set(gate.messages) == set(REASONS)
    assert shedding_protocol(gate).__name__ == "SheddingHttpToolsProtocol"
