"""The API in-process on the real stack with a models folder of the test's own, and a writer of
feature values into the real Redis through the features codec and store (the values the
features worker would write), under the test's own key prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import wall_clock_ms
from core.settings import PROJECT_ROOT, Settings
from features.catalogue import Catalogue, load_catalogue
from features.serving import ServingValue, encode_serving
from store.feature_store import serving_key
from store.redis_features import RedisFeatureStore
from tests.integration.api.conftest import FEATURES_KEY, Serve, delete_keys, serving_app
from tests.integration.api.conftest import api_settings as api_settings  # the fixture

SAMPLE = PROJECT_ROOT / "models" / "configs" / "home_ranker.yaml"
ServeModels = Serve
SAMPLE_DEADLINE = "deadline_ms: 40"
TEST_DEADLINE = "deadline_ms: 5000"
"""The sample model's deadline in these tests: a fresh app's first matrix (connections, a cold
read of the user's last_n) can take more than the sample's 40 ms on a loaded box, and a
micro-batch that misses it answers defaults. Tests of the deadline pass a smaller one."""


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    sample = SAMPLE.read_text()
    assert SAMPLE_DEADLINE in sample
    (folder / SAMPLE.name).write_text(sample.replace(SAMPLE_DEADLINE, TEST_DEADLINE))
    return folder


@pytest.fixture
def model_settings(api_settings: Settings, models_dir: Path, unique_name: str) -> Settings:
    return api_settings.model_copy(
        update={
            "models": api_settings.models.model_copy(update={"path": models_dir, "poll_s": 0.1}),
            "features": api_settings.features.model_copy(update={"key_prefix": f"{unique_name}f"}),
        }
    )


@pytest.fixture
def serve_models(model_settings: Settings) -> ServeModels:
    """``async with serve_models(**overrides) as client``: the app with its lifespan, a client
    with the read:features key (the API tests' ``serving_app``)."""

    def serving(**overrides: object) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return serving_app(model_settings.model_copy(update=overrides), FEATURES_KEY)

    return serving


@dataclass
class FeatureValues:
    """Writes serving values: ``put("product", ("p1",), "product_stats", {"clicks_1h": 3})``;
    features not named get their default."""

    catalogue: Catalogue
    store: RedisFeatureStore
    prefix: str

    async def put(
        self, entity: str, ids: tuple[str, ...], group: str, values: Mapping[str, Any]
    ) -> None:
        served = self.catalogue.served(group)
        unknown = set(values) - {f.name for f in served}
        assert not unknown, f"not served features of {group}: {unknown}"
        row = [
            values.get(f.name, self.catalogue.features[f"{group}.{f.name}"].default) for f in served
        ]
        now = wall_clock_ms()
        value = ServingValue(self.catalogue.fingerprints[group], now, now, None, row)
        key = serving_key(self.prefix, entity, ids, group)
        await self.store.write_values({key: encode_serving(value)})


@pytest.fixture
async def feature_values(model_settings: Settings) -> AsyncIterator[FeatureValues]:
    settings = model_settings
    store = RedisFeatureStore(settings.redis, settings.features)
    catalogue = load_catalogue(settings.features.definitions_path)
    yield FeatureValues(catalogue, store, settings.features.key_prefix)
    await store.close()
    await delete_keys(settings.redis.url, settings.features.key_prefix)
