"""`/v1/models/{id}/matrix` and `:rank` on the real stack: values written to the real Redis with
the features codec, read back through the model's derived chain (product -> category_id ->
category and user_category)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx
import yaml

from core.settings import Settings
from deploy.tcp_proxy import TcpProxy
from tests.integration.models.conftest import SAMPLE, FeatureValues, ServeModels

USER = "u1"
PRODUCTS = [f"p{n}" for n in range(20)]
CATEGORIES = ["c0", "c1"]
MODEL = "home_ranker"
MISSING = object()


async def seed(values: FeatureValues) -> None:
    await values.put(
        "user", (USER,), "user_activity", {"clicks_1h": 4, "orders_30d": 2, "order_value_30d": 99.5}
    )
    for n, product in enumerate(PRODUCTS):
        category = CATEGORIES[n % 2]
        await values.put("product", (product,), "product_attributes", {"category_id": category})
        await values.put(
            "product",
            (product,),
            "product_stats",
            {
                "clicks_1h": n,
                "orders_24h": n % 3,
                "conversion_7d": n / 40,
                "buyers_7d": n // 2,
                "last_order_at": 1_790_000_000_000 + n,
            },
        )
    for n, category in enumerate(CATEGORIES):
        await values.put(
            "category",
            (category,),
            "category_stats",
            {"clicks_24h": 1000 + n, "conversion_30d": 0.1 * n},
        )
        await values.put(
            "user_category",
            (USER, category),
            "user_category_affinity",
            {
                "clicks_24h": 3 + n,
                "clicks_7d": 10 + n,
                "orders_30d": n,
                "spend_30d": 5.5 * n,
            },
        )


def body(candidates: list[str], **extra: object) -> dict[str, object]:
    return {"context": {"user_id": USER}, "candidates": candidates, **extra}


async def feature(client: httpx.AsyncClient, entity: str, entity_id: object, name: str) -> Any:
    """One value through /v1/features:get, or MISSING (the model's default applies)."""
    request = {"entity": entity, "ids": [entity_id], "features": [name]}
    answer = await client.post("/v1/features:get", json=request)
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    return MISSING if result["statuses"] == ["missing"] else result["values"][0]


async def test_the_matrix_equals_the_features_read_one_by_one(
    serve_models: ServeModels, feature_values: FeatureValues
) -> None:
    await seed(feature_values)
    candidates = [*PRODUCTS[:5], "unknown-product", PRODUCTS[3]]
    async with serve_models() as client:
        answer = await client.post(f"/v1/models/{MODEL}/matrix", json=body(candidates))
        assert answer.status_code == 200, answer.text
        found = answer.json()
        assert found["model"] == MODEL
        assert found["partial"] is False
        assert found["row_status"] == ["ok"] * 5 + ["missing", "ok"]
        defaults = [
            c["default"] for c in (await client.get(f"/v1/models/{MODEL}")).json()["columns"]
        ]
        for row, candidate in zip(found["rows"], candidates, strict=True):
            category = await feature(client, "product", candidate, "product_attributes.category_id")
            ids: dict[str, object] = {"user": USER, "product": candidate}
            if category is not MISSING:
                ids |= {
                    "category": category,
                    "user_category": {"user_id": USER, "category_id": category},
                }
            expected = []
            for column, default in zip(found["columns"], defaults, strict=True):
                entity, name = column.split(".", 1)
                value = (
                    MISSING
                    if entity not in ids
                    else await feature(client, entity, ids[entity], name)
                )
                expected.append(default if value is MISSING else value)
            assert row == expected


async def test_each_distinct_key_is_read_once(
    serve_models: ServeModels, feature_values: FeatureValues
) -> None:
    await seed(feature_values)
    async with serve_models() as client:
        answer = await client.post(f"/v1/models/{MODEL}/matrix", json=body(PRODUCTS))
        assert answer.status_code == 200
        metrics = (await client.get("/metrics")).text
        # again: the categories are remembered, every level is read with the products (one
        # MGET), the guesses all hold: the same keys read, the same answer
        again = await client.post(f"/v1/models/{MODEL}/matrix", json=body(PRODUCTS))
        metrics_again = (await client.get("/metrics")).text
    assert not answer.json()["partial"]
    # one user; 20 products; their 2 categories and 2 user x category pairs (not 20 each)
    assert f'interstore_model_keys_read_total{{model="{MODEL}"}} 25.0' in metrics
    assert f'interstore_model_keys_requested_total{{model="{MODEL}"}} 61.0' in metrics
    assert again.json()["rows"] == answer.json()["rows"]
    assert f'interstore_model_keys_read_total{{model="{MODEL}"}} 50.0' in metrics_again


async def test_a_tiny_deadline_is_a_partial_200_with_defaults(
    serve_models: ServeModels, feature_values: FeatureValues, models_dir: Path
) -> None:
    await seed(feature_values)
    spec = yaml.safe_load(SAMPLE.read_text())
    (models_dir / "tiny.yaml").write_text(yaml.safe_dump({**spec, "micro_batch": 2}))
    candidates = [PRODUCTS[n % 20] for n in range(1000)]
    async with serve_models() as client:
        answer = await client.post("/v1/models/tiny/matrix", json=body(candidates, deadline_ms=1))
        assert answer.status_code == 200, answer.text
        found = answer.json()
        columns = (await client.get("/v1/models/tiny")).json()["columns"]
    assert found["partial"] is True
    timed_out = [i for i, s in enumerate(found["row_status"]) if s == "timeout"]
    assert timed_out
    product_columns = [j for j, c in enumerate(columns) if not c["name"].startswith("user.")]
    for i in timed_out:
        assert [found["rows"][i][j] for j in product_columns] == [
            columns[j]["default"] for j in product_columns
        ]


async def test_rank_orders_by_the_scorers_scores(
    serve_models: ServeModels, feature_values: FeatureValues
) -> None:
    await seed(feature_values)
    weights = yaml.safe_load(SAMPLE.read_text())["scorer"]
    async with serve_models() as client:
        matrix = (await client.post(f"/v1/models/{MODEL}/matrix", json=body(PRODUCTS))).json()
        answer = await client.post(f"/v1/models/{MODEL}:rank", json=body(PRODUCTS))
    assert answer.status_code == 200, answer.text
    ranked = answer.json()
    expected = {}
    for candidate, row in zip(PRODUCTS, matrix["rows"], strict=True):
        z = weights["bias"] + sum(
            w * (row[matrix["columns"].index(c)] or 0) for c, w in weights["weights"].items()
        )
        expected[candidate] = 1 / (1 + math.exp(-z))
    assert [r["candidate"] for r in ranked["ranking"]] == sorted(
        PRODUCTS, key=lambda p: -expected[p]
    )
    for r in ranked["ranking"]:
        assert math.isclose(r["score"], expected[r["candidate"]], rel_tol=1e-9)
    assert ranked["version"] == matrix["version"]
    assert {"fetch", "score", "total"} <= set(ranked["timings_ms"])


async def test_a_feature_store_that_is_down_is_a_503_never_defaults(
    serve_models: ServeModels, feature_values: FeatureValues, model_settings: Settings
) -> None:
    await seed(feature_values)
    port = int(model_settings.redis.url.rsplit(":", 1)[1].split("/")[0])
    with TcpProxy(port) as proxy:
        redis = model_settings.redis.model_copy(
            update={"url": f"redis://127.0.0.1:{proxy.port}/0", "retries": 0}
        )
        async with serve_models(redis=redis) as client:
            assert (
                await client.post(f"/v1/models/{MODEL}/matrix", json=body(PRODUCTS))
            ).status_code == 200
            proxy.cut()
            for route in ("/matrix", ":rank"):
                answer = await client.post(f"/v1/models/{MODEL}{route}", json=body(PRODUCTS))
                assert answer.status_code == 503, answer.text
                assert answer.json()["error"]["code"] == "unavailable"
