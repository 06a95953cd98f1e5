"""POST /v1/features:get and GET /v1/features in-process on in-memory stores: shapes, bounds,
errors, scope and metrics (the real-stack evidence is tests/integration/api/test_features_api)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from features.serving import ServingValue, encode_serving
from store.feature_store import serving_key
from tests.unit.api.conftest import FEATURES_KEY, NOW_MS, MemoryBackends

AS_RANKER = {"X-API-Key": FEATURES_KEY}


async def put(backends: MemoryBackends, entity: str, ids: tuple[str, ...], group: str,
              values: dict[str, Any], valid_until: int | None = None) -> None:  # fmt: skip
    catalogue = backends.features.catalogue
    row = [values.get(f.name, 0) for f in catalogue.served(group)]
    value = ServingValue(catalogue.fingerprints[group], NOW_MS, NOW_MS, valid_until, row)
    key = serving_key("isf", entity, ids, group)
    await backends.feature_store.write_values({key: encode_serving(value)})


async def get(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/v1/features:get", json=body, headers=AS_RANKER)


async def test_values_and_statuses_per_id_in_request_order(
    client: httpx.AsyncClient, backends: MemoryBackends
) -> None:
    await put(backends, "product", ("p1",), "product_stats", {"orders_7d": 4, "clicks_24h": 9})
    await put(backends, "product", ("p2",), "product_stats", {"orders_7d": 1}, NOW_MS - 3600_000)
    features = [
        "product_stats.clicks_24h",
        "product_stats.orders_7d",
        "product_attributes.currency",
    ]
    answer = await get(
        client, {"entity": "product", "ids": ["p1", "p2", "p3"], "features": features}
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "entity": "product",
        "features": features,
        "results": [
            {"id": "p1", "values": [9, 4, None], "statuses": ["present", "present", "missing"]},
            {"id": "p2", "values": [0, 1, None], "statuses": ["stale", "stale", "missing"]},
            {"id": "p3", "values": [0, 0, None], "statuses": ["missing", "missing", "missing"]},
        ],
    }
    metrics = (await client.get("/metrics")).text
    assert 'interstore_api_features_read_total{status="missing"} 5.0' in metrics
    assert 'interstore_api_features_read_total{status="stale"} 2.0' in metrics


async def test_composite_ids_are_objects(
    client: httpx.AsyncClient, backends: MemoryBackends
) -> None:
    await put(backends, "user_category", ("u1", "c1"), "user_category_affinity", {"clicks_7d": 2})
    ids = [{"user_id": "u1", "category_id": "c1"}, {"category_id": "c2", "user_id": "u1"}]
    answer = await get(
        client,
        {"entity": "user_category", "ids": ids, "features": ["user_category_affinity.clicks_7d"]},
    )
    assert answer.status_code == 200
    assert [r["values"] for r in answer.json()["results"]] == [[2], [0]]
    assert answer.json()["results"][1]["id"] == ids[1]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"entity": "shop", "ids": ["p"], "features": ["x.y"]}, "unknown entity 'shop'"),
        (
            {"entity": "product", "ids": ["p"], "features": ["product_stats.nope", "a.b"]},
            "not features of entity 'product': 'product_stats.nope', 'a.b'",
        ),
        (
            {"entity": "product", "ids": ["p"], "features": ["user_activity.clicks_1h"]},
            "'user_activity.clicks_1h'",
        ),
        ({"entity": "product", "ids": ["p"] * 501, "features": ["product_stats.orders_7d"]},
         "ids: at most 500 per request, got 501"),
        ({"entity": "product", "ids": ["p"], "features": ["product_stats.orders_7d"] * 101},
         "features: at most 100 per request, got 101"),
        ({"entity": "product", "ids": [""], "features": ["product_stats.orders_7d"]},
         "ids[0]: id must be 1 to 256 UTF-8 bytes"),
        ({"entity": "user_category", "ids": ["u1"],
          "features": ["user_category_affinity.clicks_7d"]},
         "ids[0]: a 2-key id is an object of user_id, category_id"),
        ({"entity": "user_category", "ids": [{"user_id": "u"}],
          "features": ["user_category_affinity.clicks_7d"]},
         "ids[0]: expected exactly the keys user_id, category_id"),
        ({"entity": "product", "ids": [], "features": ["product_stats.orders_7d"]}, "ids:"),
        ({"entity": "product", "ids": [1], "features": ["product_stats.orders_7d"]}, "ids.0"),
        ({"entity": "product", "ids": ["p"], "features": ["product_stats.orders_7d"], "x": 1},
         "x: Extra inputs"),
    ],
)  # fmt: skip
async def test_bad_requests_are_422_in_the_error_shape(
    client: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    answer = await get(client, body)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert message in error["message"]


async def test_unknown_features_are_listed_in_details(client: httpx.AsyncClient) -> None:
    body = {"entity": "product", "ids": ["p"], "features": ["product_stats.orders_7d", "a.b"]}
    assert (await get(client, body)).json()["error"]["details"] == [{"unknown": ["a.b"]}]


async def test_a_down_feature_store_is_503_with_retry_after(
    client: httpx.AsyncClient, backends: MemoryBackends
) -> None:
    backends.feature_store.down = True
    body = {"entity": "product", "ids": ["p"], "features": ["product_stats.orders_7d"]}
    answer = await get(client, body)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["error"]["code"] == "unavailable"


async def test_scope_read_features_is_needed(client: httpx.AsyncClient) -> None:
    body = {"entity": "product", "ids": ["p"], "features": ["product_stats.orders_7d"]}
    assert (await client.post("/v1/features:get", json=body)).status_code == 403
    assert (await client.get("/v1/features")).status_code == 403
    assert (await client.get("/v1/features", headers={"X-API-Key": "x" * 20})).status_code == 401


async def test_the_catalogue(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/features", headers=AS_RANKER)
    assert answer.status_code == 200
    catalogue = answer.json()
    assert catalogue["entities"]["user_category"] == {"keys": ["user_id", "category_id"]}
    stats = next(g for g in catalogue["groups"] if g["name"] == "product_stats")
    assert stats["entity"] == "product"
    assert stats["features"][0] == {
        "name": "product_stats.clicks_5m", "type": "count", "kind": ["click"], "window": "5m",
        "default": 0,
    }  # fmt: skip
    schema = (await client.get("/openapi.json")).json()
    assert "/v1/features:get" in schema["paths"]
    assert "/v1/features" in schema["paths"]
