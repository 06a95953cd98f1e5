"""``/readyz`` without an admin key says only ok/failing per check (before, it echoed raw
backend errors: host names, socket paths), and one round of checks serves every probe for about
a second (before, each call did a Kafka metadata request and Cassandra and Redis round trips)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from api.app import create_app
from api.readiness import ReadinessCache
from core.settings import ApiSettings, RetentionSettings, SessionSettings, Settings
from tests.support.memory_cold import InMemoryColdStore
from tests.support.memory_hot import InMemoryHotStore
from tests.unit.api.conftest import NOW_MS, READ_KEY, MemoryBackends

ADMIN_KEY = "admin-key-0123456789"
RAW_ERROR = "ConnectionError: Error 111 connecting to redis-internal.corp:6390"


class CountingBackends(MemoryBackends):
    rounds = 0

    async def readiness(self, timeout_s: float) -> dict[str, str]:
        self.rounds += 1
        return await super().readiness(timeout_s)


@pytest.fixture
async def probe() -> AsyncIterator[tuple[httpx.AsyncClient, CountingBackends]]:
    clock = lambda: NOW_MS  # noqa: E731
    backends = CountingBackends(
        InMemoryHotStore(SessionSettings(), RetentionSettings(), clock=clock),
        InMemoryColdStore(RetentionSettings(), clock=clock),
    )
    keys = {SecretStr(READ_KEY): ("read:interactions",), SecretStr(ADMIN_KEY): ("admin",)}
    settings = Settings(api=ApiSettings(keys=keys, ready_cache_s=60, max_loop_lag_ms=60_000))  # type: ignore[arg-type]

    async def open_backends(_: Settings) -> CountingBackends:
        return backends

    app = create_app(settings, open_backends)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield http, backends


async def test_without_an_admin_key_only_ok_or_failing(
    probe: tuple[httpx.AsyncClient, CountingBackends],
) -> None:
    http, backends = probe
    backends.checks["redis"] = RAW_ERROR
    for headers in ({}, {"X-API-Key": READ_KEY}, {"X-API-Key": "wrong-key-0123456789"}):
        answer = await http.get("/readyz", headers=headers)
        assert answer.status_code == 503
        assert answer.json() == {"ready": False, "checks": {"redis": "failing", "cassandra": "ok"}}
    admin = await http.get("/readyz", headers={"X-API-Key": ADMIN_KEY})
    assert admin.json()["checks"]["redis"] == RAW_ERROR


async def test_one_round_of_checks_serves_every_probe_within_the_cache_time(
    probe: tuple[httpx.AsyncClient, CountingBackends],
) -> None:
    http, backends = probe
    for _ in range(20):
        assert (await http.get("/readyz")).status_code == 200
    assert backends.rounds == 1


async def test_the_cache_runs_a_new_round_once_it_is_older_than_its_time() -> None:
    now = [0.0]
    cache = ReadinessCache(1.0, clock=lambda: now[0])
    rounds = []

    async def run() -> dict[str, str]:
        rounds.append(now[0])
        return {"redis": "ok"}

    for step in (0.0, 0.5, 0.99, 1.0, 1.5, 2.1):
        now[0] = step
        assert await cache.checks(run) == {"redis": "ok"}
    assert rounds == [0.0, 1.0, 2.1]
