"""The read API in-process (real lifespan, real Redis and Cassandra clients) over a unique
keyspace and Redis key prefix, with helpers to put users in each tier."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from cassandra.cluster import Session
from pydantic import SecretStr
from redis.asyncio import Redis

from api.app import create_app
from core.settings import ApiSettings, Settings
from deploy.stack import LocalStack
from store.cassandra_cold import CassandraColdStore
from store.interactions import Interaction
from store.redis_hot import RedisHotStore
from streams.topics import ensure_topics
from tests.hot_store_contract import hydrate

READ_KEY = "integration-read-key-0123"
FEATURES_KEY = "integration-features-key-0123"
ADMIN_KEY = "integration-admin-key-01234"
Serve = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def api_settings(
    stack: LocalStack, settings: Settings, keyspace: str, unique_name: str
) -> Settings:
    keys = {
        SecretStr(READ_KEY): ("read:interactions",),
        SecretStr(FEATURES_KEY): ("read:features",),
        SecretStr(ADMIN_KEY): ("admin",),
    }
    # in process, the app shares the test's event loop, which the test's own blocking calls
    # stall: no loop-lag shedding there (tests/integration/api/test_overload.py sheds for real)
    api = ApiSettings(keys=keys, read_timeout_s=2.0, max_loop_lag_ms=60_000)  # type: ignore[arg-type]
    return settings.model_copy(
        update={
            "api": api,
            "cassandra": settings.cassandra.model_copy(update={"keyspace": keyspace}),
            "redis": settings.redis.model_copy(update={"key_prefix": unique_name}),
            "features": settings.features.model_copy(update={"key_prefix": f"{unique_name}f"}),
            "topics": settings.topics.model_copy(
                update={
                    "events": f"{unique_name}.events",
                    "dead_letters": f"{unique_name}.dlq",
                    "partitions": 2,
                }
            ),
        }
    )


@asynccontextmanager
async def serving_app(settings: Settings, key: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app built from ``settings``, its lifespan run, a client sending ``key``."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api", headers={"X-API-Key": key}
        ) as client:
            yield client


async def delete_keys(redis_url: str, prefix: str) -> None:
    """Every key under ``prefix:`` (a test's own keys)."""
    raw = Redis.from_url(redis_url)
    if keys := [key async for key in raw.scan_iter(match=f"{prefix}:*", count=1000)]:
        await raw.delete(*keys)
    await raw.aclose()


@pytest.fixture
def serve(api_settings: Settings) -> Serve:
    """``async with serve(**overrides) as client``: the app, its lifespan run, a client with the
    read key. Overrides replace top-level settings (e.g. ``redis=...`` through a proxy)."""

    def serving(**overrides: object) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return serving_app(api_settings.model_copy(update=overrides), READ_KEY)

    return serving


@dataclass
class Tiers:
    """Puts users' interactions in the cold tier, or makes them live in the hot tier."""

    cold: CassandraColdStore
    hot: RedisHotStore

    async def in_cold(self, items: list[Interaction]) -> None:
        await self.cold.write_many(items)

    async def live(
        self, user: str, hydrated: list[Interaction], appended: list[Interaction]
    ) -> None:
        now = max((i.ts_ms for i in hydrated + appended), default=0) + 1
        await hydrate(self.hot, user, hydrated, partition=0, now_ms=now)
        await self.hot.append([(item, 0, n) for n, item in enumerate(appended)], now)


@pytest.fixture
async def tiers(
    stack: LocalStack, cql_session: Session, api_settings: Settings
) -> AsyncIterator[Tiers]:
    cold = CassandraColdStore(cql_session, api_settings.cassandra.keyspace, api_settings.retention)
    hot = RedisHotStore(api_settings.redis, api_settings.session, api_settings.retention)
    yield Tiers(cold, hot)
    await hot.close()
    await delete_keys(api_settings.redis.url, api_settings.redis.key_prefix)


@pytest.fixture
def events_topic(api_settings: Settings) -> str:
    """The test's events (and dead-letter) topics exist: /readyz can say Kafka is ready."""
    ensure_topics(api_settings.kafka, api_settings.topics)
    return api_settings.topics.events
