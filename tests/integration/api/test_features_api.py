"""POST /v1/features:get and GET /v1/features on the real stack: values written with the codec
into the real Redis come back exactly, with their statuses and declared defaults; last_n equals
the interactions route for cold and live users; bounds; a Redis outage is a 503 that passes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from core.clock import wall_clock_ms
from core.settings import Settings
from deploy.tcp_proxy import TcpProxy
from features.catalogue import Catalogue, load_catalogue
from features.serving import ServingValue, encode_serving
from store.feature_store import serving_key
from store.interactions import Interaction
from store.redis_features import RedisFeatureStore
from tests.integration.api.conftest import FEATURES_KEY, Serve, Tiers
from tests.store_contract import click, order

AS_RANKER = {"X-API-Key": FEATURES_KEY}
STATS = ["product_stats.orders_7d", "product_stats.revenue_7d", "product_stats.conversion_7d"]


@pytest.fixture
def catalogue(api_settings: Settings) -> Catalogue:
    return load_catalogue(api_settings.features.definitions_path)


@pytest.fixture
async def feature_store(api_settings: Settings) -> AsyncIterator[RedisFeatureStore]:
    store = RedisFeatureStore(api_settings.redis, api_settings.features)
    yield store
    await store.close()
    raw = Redis.from_url(api_settings.redis.url)
    pattern = f"{api_settings.features.key_prefix}:*"
    if keys := [key async for key in raw.scan_iter(match=pattern, count=1000)]:
        await raw.delete(*keys)
    await raw.aclose()


async def put(
    store: RedisFeatureStore,
    settings: Settings,
    catalogue: Catalogue,
    ids: tuple[str, ...],
    group: str,
    values: dict[str, Any],
    *,
    entity: str = "product",
    valid_until: int | None = None,
) -> None:
    row = [values.get(f.name, 0) for f in catalogue.served(group)]
    now = wall_clock_ms()
    value = ServingValue(catalogue.fingerprints[group], now - 500, now, valid_until, row)
    key = serving_key(settings.features.key_prefix, entity, ids, group)
    await store.write_values({key: encode_serving(value)})


def of(item: Interaction, product_id: str) -> Interaction:
    return replace(item, product_id=product_id)


async def features_get(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/v1/features:get", json=body, headers=AS_RANKER)


@pytest.mark.parametrize("per_slot", [False, True])
async def test_values_written_with_the_codec_are_served_exactly(
    serve: Serve,
    api_settings: Settings,
    feature_store: RedisFeatureStore,
    catalogue: Catalogue,
    per_slot: bool,
) -> None:
    write = (feature_store, api_settings, catalogue)
    await put(*write, ("p1",), "product_stats", {"orders_7d": 2**40, "revenue_7d": 12.345,
                                                 "conversion_7d": 0.25})  # fmt: skip
    await put(*write, ("p:2",), "product_stats", {"orders_7d": 3}, valid_until=1)  # long past
    await put(*write, ("p1",), "product_attributes", {"category_id": "c-1", "last_price": None})
    features = [*STATS, "product_attributes.category_id", "product_attributes.last_price"]
    settings = api_settings.features.model_copy(update={"mget_per_slot": per_slot})
    async with serve(features=settings) as client:
        answer = await features_get(
            client, {"entity": "product", "ids": ["p1", "p:2", "p3"], "features": features}
        )
    assert answer.status_code == 200
    assert answer.json()["results"] == [
        {"id": "p1", "values": [2**40, 12.345, 0.25, "c-1", None], "statuses": ["present"] * 5},
        {"id": "p:2", "values": [3, 0, 0, None, None],
         "statuses": ["stale", "stale", "stale", "missing", "missing"]},
        {"id": "p3", "values": [0, 0.0, 0.0, None, None], "statuses": ["missing"] * 5},
    ]  # fmt: skip


async def test_user_category_ids_and_the_catalogue(
    serve: Serve, api_settings: Settings, feature_store: RedisFeatureStore, catalogue: Catalogue
) -> None:
    group = "user_category_affinity"
    await put(feature_store, api_settings, catalogue, ("u1", "c1"), group, {"clicks_7d": 5},
              entity="user_category")  # fmt: skip
    ids = [{"user_id": "u1", "category_id": "c1"}, {"user_id": "u1", "category_id": "c2"}]
    async with serve() as client:
        answer = await features_get(
            client, {"entity": "user_category", "ids": ids, "features": [f"{group}.clicks_7d"]}
        )
        listed = await client.get("/v1/features", headers=AS_RANKER)
    assert [r["values"] for r in answer.json()["results"]] == [[5], [0]]
    assert listed.json() == catalogue.describe()


async def test_last_n_equals_the_interactions_route_cold_and_live(
    serve: Serve, tiers: Tiers
) -> None:
    now = wall_clock_ms()
    cold = [of(click(f"c{i}", now - 60_000 * i, "cold-u"), f"p{i}") for i in range(25)]
    await tiers.in_cold([*cold, of(order("o1", now - 1000, "cold-u"), "bought")])
    live = [of(click(f"l{i}", now - 1000 * i, "live-u"), f"q{i}") for i in range(6)]
    await tiers.live("live-u", live[3:], live[:3])
    features = ["user_activity.recent_clicked_products", "user_activity.recent_ordered_products"]
    async with serve() as client:
        answer = await features_get(
            client, {"entity": "user", "ids": ["cold-u", "live-u", "nobody"], "features": features}
        )
        routes = {}
        for user in ("cold-u", "live-u"):
            found = await client.get(f"/v1/users/{user}/interactions?kinds=click&limit=20")
            routes[user] = [row["product_id"] for row in found.json()["interactions"]]
    results = answer.json()["results"]
    assert results[0]["values"] == [routes["cold-u"], ["bought"]]
    assert routes["cold-u"] == [f"p{i}" for i in range(20)]
    assert results[1]["values"] == [routes["live-u"], []]
    assert results[1]["statuses"] == ["present", "missing"]
    assert routes["live-u"] == [f"q{i}" for i in range(6)]
    assert results[2] == {"id": "nobody", "values": [[], []], "statuses": ["missing"] * 2}


async def test_bounds_come_from_the_settings(serve: Serve, api_settings: Settings) -> None:
    small = api_settings.features.model_copy(update={"max_ids": 2, "max_features": 1})
    async with serve(features=small) as client:
        too_many = await features_get(
            client, {"entity": "product", "ids": ["a", "b", "c"], "features": STATS[:1]}
        )
        wide = await features_get(client, {"entity": "product", "ids": ["a"], "features": STATS})
        unknown = await features_get(
            client, {"entity": "product", "ids": ["a"], "features": ["product_stats.nope"]}
        )
    assert too_many.status_code == wide.status_code == unknown.status_code == 422
    assert "at most 2" in too_many.json()["error"]["message"]
    assert "at most 1" in wide.json()["error"]["message"]
    assert unknown.json()["error"]["details"] == [{"unknown": ["product_stats.nope"]}]


async def test_redis_outage_is_503_with_retry_after_then_recovers(
    serve: Serve, api_settings: Settings, feature_store: RedisFeatureStore, catalogue: Catalogue
) -> None:
    await put(feature_store, api_settings, catalogue, ("p1",), "product_stats", {"orders_7d": 1})
    body = {"entity": "product", "ids": ["p1"], "features": STATS[:1]}
    with TcpProxy(int(api_settings.redis.url.rsplit(":", 1)[1].split("/")[0])) as proxy:
        redis = api_settings.redis.model_copy(
            update={"url": f"redis://127.0.0.1:{proxy.port}/0", "retries": 0}
        )
        async with serve(redis=redis) as client:
            assert (await features_get(client, body)).json()["results"][0]["values"] == [1]
            proxy.cut()
            down = await features_get(client, body)
            assert down.status_code == 503
            assert down.headers["Retry-After"] == "1"
            assert down.json()["error"]["code"] == "unavailable"
            assert "feature read" in down.json()["error"]["message"]
            proxy.restore()
            back = await features_get(client, body)
            assert back.status_code == 200
            assert back.json()["results"][0]["values"] == [1]
