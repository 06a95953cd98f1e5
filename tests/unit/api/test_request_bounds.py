"""Bounds on the work of one request and on requests in progress: a batch read of more than
MAX_BATCH_ITEMS interactions (users x limit) is a 422 naming the cap, and past the concurrency
limit a request gets a 503 with Retry-After in the API's JSON shape, at once."""

from __future__ import annotations

import asyncio
import time

import httpx
from starlette.types import Receive, Scope, Send

from api.load_gate import LoadGate
from api.middleware import ConcurrencyLimit
from api.models import MAX_BATCH_ITEMS
from api.responses import OrjsonResponse


async def test_a_batch_of_500_users_at_limit_1000_is_a_422_naming_the_cap(
    client: httpx.AsyncClient,
) -> None:
    users = [f"u{n}" for n in range(500)]
    answer = await client.post("/v1/interactions:batchGet", json={"user_ids": users, "limit": 1000})
    assert answer.status_code == 422
    assert str(MAX_BATCH_ITEMS) in answer.json()["error"]["message"]
    fits = await client.post("/v1/interactions:batchGet", json={"user_ids": users, "limit": 100})
    assert fits.status_code == 200


async def test_requests_past_the_concurrency_limit_get_503_with_retry_after() -> None:
    release = asyncio.Event()

    async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await OrjsonResponse({"ok": True})(scope, receive, send)

    gate = LoadGate(max_requests=2, max_lag_s=60.0, max_connections=1000)
    limited = ConcurrencyLimit(slow_app, gate)
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        first = [asyncio.create_task(http.get("/x")) for _ in range(2)]
        await asyncio.sleep(0.05)
        over = await http.get("/x")  # answered at once, while two are in progress
        assert over.status_code == 503
        assert over.headers["Retry-After"] == "1"
        assert over.json()["error"]["code"] == "unavailable"
        release.set()
        assert [r.status_code for r in await asyncio.gather(*first)] == [200, 200]
        assert (await http.get("/x")).status_code == 200
    assert gate.in_progress == 0


async def test_requests_while_the_event_loop_runs_late_get_503_at_once() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await OrjsonResponse({"ok": True})(scope, receive, send)

    shed: list[str] = []
    gate = LoadGate(max_requests=100, max_lag_s=0.1, max_connections=1000, on_shed=shed.append)
    limited = ConcurrencyLimit(app, gate)
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        assert (await http.get("/x")).status_code == 200  # starts the lag timer
        time.sleep(0.3)  # noqa: ASYNC251 - the loop blocked: requests would have queued this long
        late = await http.get("/x")
        assert late.status_code == 503
        assert late.headers["Retry-After"] == "1"
        assert "behind" in late.json()["error"]["message"]
        await asyncio.sleep(0.1)  # the timer fires again, on time; the 0.3 s stall still held
        assert (await http.get("/x")).status_code == 503
        await asyncio.sleep(0.3)  # as long as the stall was: requests queued in it are read
        assert (await http.get("/x")).status_code == 200
    assert gate.in_progress == 0
    assert shed == ["loop_lag", "loop_lag"]


async def test_probes_and_the_metrics_scrape_are_never_shed() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await OrjsonResponse({"ok": True})(scope, receive, send)

    shed: list[str] = []
    gate = LoadGate(max_requests=0, max_lag_s=60.0, max_connections=1000, on_shed=shed.append)
    transport = httpx.ASGITransport(app=ConcurrencyLimit(app, gate))  # every other request: 503
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        assert (await http.get("/v1/users/u/interactions")).status_code == 503
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await http.get(path)).status_code == 200, path
    assert shed == ["in_progress"]
    assert gate.in_progress == 0
