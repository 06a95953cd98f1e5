"""The API in-process on in-memory stores: bounds, auth, error shapes and batch assembly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from pydantic import SecretStr

from api.app import create_app
from core.settings import ApiSettings, RetentionSettings, SessionSettings, Settings
from features.reader import FeatureReader, build_feature_reader
from store.read_path import InteractionReader
from tests.support.memory_cold import InMemoryColdStore
from tests.support.memory_features import InMemoryFeatureStore
from tests.support.memory_hot import InMemoryHotStore

READ_KEY = "read-key-0123456789"
FEATURES_KEY = "features-key-0123456789"
NOW_MS = 1_780_000_000_000


@dataclass
class MemoryBackends:
    hot: InMemoryHotStore
    cold: InMemoryColdStore
    feature_store: InMemoryFeatureStore = field(default_factory=InMemoryFeatureStore)
    checks: dict[str, str] = field(default_factory=lambda: {"redis": "ok", "cassandra": "ok"})
    features: FeatureReader = field(init=False)

    @property
    def reader(self) -> InteractionReader:
        return InteractionReader(self.hot, self.cold, timeout_s=1.0)

    def __post_init__(self) -> None:
        self.features = build_feature_reader(
            Settings(), self.feature_store, self.reader, clock=lambda: NOW_MS
        )

    async def readiness(self, timeout_s: float) -> dict[str, str]:
        return dict(self.checks)

    async def close(self) -> None:
        await self.hot.close()
        await self.cold.close()


def api_settings(**overrides: object) -> Settings:
    keys = {
        SecretStr(READ_KEY): ("read:interactions",),
        SecretStr(FEATURES_KEY): ("read:features",),
    }
    # every /readyz checks, unless a test says; no shedding on a loop that a loaded box or the
    # test's own thread stalls (tests/unit/api/test_request_bounds.py tests the shedding)
    overrides = {"ready_cache_s": 0, "max_loop_lag_ms": 60_000, **overrides}
    return Settings(api=ApiSettings(keys=keys, **overrides))  # type: ignore[arg-type]


@pytest.fixture
def backends() -> MemoryBackends:
    clock = lambda: NOW_MS  # noqa: E731
    return MemoryBackends(
        InMemoryHotStore(SessionSettings(), RetentionSettings(), clock=clock),
        InMemoryColdStore(RetentionSettings(), clock=clock),
    )


@pytest.fixture
async def client(backends: MemoryBackends) -> AsyncIterator[httpx.AsyncClient]:
    async def open_backends(_: Settings) -> MemoryBackends:
        return backends

    app = create_app(api_settings(), open_backends)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"X-API-Key": READ_KEY}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api", headers=headers
        ) as http:
            yield http
