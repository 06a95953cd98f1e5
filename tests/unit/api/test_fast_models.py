"""The model routes' pure-ASGI hot path (``api.fast_models``) answers as the FastAPI routes do:
the same status, JSON and metrics label as an app built with ``fast_routes`` off, for good
requests and bad ones alike; a good request never reaches FastAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.types import Receive, Scope, Send

from api.app import create_app
from api.fast_models import FastModelRoutes
from api.routes import models
from core.settings import ModelSettings, Settings
from tests.unit.api.conftest import FEATURES_KEY, READ_KEY, MemoryBackends, api_settings
from tests.unit.api.test_feature_routes import put

H = {"X-API-Key": FEATURES_KEY}
MATRIX, RANK = "/v1/models/home_ranker/matrix", "/v1/models/home_ranker:rank"


async def seed(backends: MemoryBackends) -> None:
    await put(backends, "user", ("u1",), "user_activity", {"clicks_1h": 3, "orders_30d": 2})
    for n, category in ((1, "c1"), (2, "c1"), (3, "c2")):
        product = f"p{n}"
        await put(backends, "product", (product,), "product_stats", {"orders_7d": n})
        await put(backends, "product", (product,), "product_attributes", {"category_id": category})
    await put(backends, "category", ("c1",), "category_stats", {"clicks_24h": 40})
    await put(backends, "user_category", ("u1", "c2"), "user_category_affinity", {"clicks_7d": 6})


def _settings(fast: bool) -> Settings:
    return api_settings().model_copy(update={"models": ModelSettings(fast_routes=fast)})


@pytest.fixture
async def clients(backends: MemoryBackends) -> AsyncIterator[list[httpx.AsyncClient]]:
    """[fast path on, fast path off] on the same stores."""

    async def open_backends(_: Settings) -> MemoryBackends:
        return backends

    fast, slow = (
        create_app(_settings(True), open_backends),
        create_app(_settings(False), open_backends),
    )
    async with fast.router.lifespan_context(fast), slow.router.lifespan_context(slow):
        found = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")
            for app in (fast, slow)
        ]
        yield found
        for client in found:
            await client.aclose()


def _comparable(answer: httpx.Response) -> tuple[int, str, Any]:
    body = answer.json()
    if isinstance(body, dict):
        body.pop("timings_ms", None)
    return answer.status_code, answer.headers["content-type"], body


GOOD = [
    {"context": {"user_id": "u1"}, "candidates": ["p1", "p2", "p3", "p9", "p1"]},
    {"context": {"user_id": "u2"}, "candidates": ["p3"], "deadline_ms": 30},
    {"candidates": ["p1"], "context": {"user_id": "u1"}, "deadline_ms": None},
]
BAD: list[tuple[dict[str, str], bytes]] = [
    (H, b'{"context": {"user_id": "u1"}, "candidates": ["p1"], "deadline_ms": "40"}'),  # coerced
    (H, b'{"context": {"user_id": "u1"}, "candidates": ["p1"], "deadline_ms": 40.0}'),
    (H, b'{"context": {"user_id": "u1"}, "candidates": ["p1"], "deadline_ms": 0}'),
    (H, b'{"context": {"user_id": "u1"}, "candidates": ["p1"], "deadline_ms": -5}'),
    (H, b'{"context": {"user_id": "u1"}, "candidates": ["p1"], "extra": 1}'),
    (H, b'{"context": {"user_id": 7}, "candidates": ["p1"]}'),
    (H, b'{"context": {"user_id": "u1"}, "candidates": []}'),
    (H, orjson.dumps({"context": {"user_id": "u1"}, "candidates": ["p"] * 1001})),
    (H, b'{"context": {"user_id": "u1"}, "candidates": ["p1", ""]}'),
    (H, b'{"context": {"user_id": "u1"}, "candidates": ["p1", "\\ud800"]}'),
    (H, orjson.dumps({"context": {"user_id": "u1"}, "candidates": ["x" * 300]})),
    (H, b'{"context": {}, "candidates": ["p1"]}'),
    (H, b'{"context": {"user_id": "u1", "x": "1"}, "candidates": ["p1"]}'),
    (H, b'{"context": {"user_id": "u1"}, "candidates": ["p1"]'),  # not JSON
    (H, b"[1, 2]"),
    ({"X-API-Key": READ_KEY}, b'{"context": {"user_id": "u1"}, "candidates": ["p1"]}'),
    ({}, b'{"context": {"user_id": "u1"}, "candidates": ["p1"]}'),
]


async def test_good_requests_get_the_routes_answers(
    clients: list[httpx.AsyncClient], backends: MemoryBackends
) -> None:
    await seed(backends)
    for path in (MATRIX, RANK):
        for body in GOOD:
            fast, slow = [await c.post(path, json=body, headers=H) for c in clients]
            assert fast.status_code == 200, fast.text
            assert _comparable(fast) == _comparable(slow)
    matrix = (await clients[0].post(MATRIX, json=GOOD[0], headers=H)).json()
    assert matrix["row_status"] == ["ok", "ok", "ok", "missing", "ok"]
    metrics = [(await c.get("/metrics")).text for c in clients]
    for text in metrics:
        assert 'route="/v1/models/{model_id}/matrix",status="200"' in text
        assert 'route="/v1/models/{model_id}:rank",status="200"' in text


async def test_bad_requests_get_the_routes_answers(clients: list[httpx.AsyncClient]) -> None:
    for path in (MATRIX, RANK, "/v1/models/nope/matrix", "/v1/models/nope:rank"):
        for headers, content in BAD:
            sent = {**headers, "Content-Type": "application/json"}
            fast, slow = [await c.post(path, content=content, headers=sent) for c in clients]
            assert _comparable(fast) == _comparable(slow), (path, content)
    body = orjson.dumps(GOOD[0])
    for content_type in ("text/plain", "application/x-json"):
        sent = {**H, "Content-Type": content_type}
        fast, slow = [await c.post(MATRIX, content=body, headers=sent) for c in clients]
        assert _comparable(fast) == _comparable(slow)


async def test_a_good_request_is_answered_without_fastapi(
    clients: list[httpx.AsyncClient], backends: MemoryBackends
) -> None:
    await seed(backends)
    app = clients[0]._transport.app  # type: ignore[attr-defined]

    async def fastapi(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("the fast path handed a good request on")

    fast_path = FastModelRoutes(fastapi, models.router.routes)
    body = orjson.dumps(GOOD[0])
    scope: Scope = {
        "type": "http", "method": "POST", "path": MATRIX, "root_path": "", "app": app,
        "headers": [(b"x-api-key", FEATURES_KEY.encode()), (b"content-type", b"application/json")],
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await fast_path(scope, receive, send)
    assert sent[0]["status"] == 200
    assert orjson.loads(sent[1]["body"])["row_status"] == ["ok", "ok", "ok", "missing", "ok"]
    assert scope["route"].path == "/v1/models/{model_id}/matrix"
