"""The features half on Redis Cluster, end to end: the features worker writes a private 3-primary
cluster; /v1/features:get and a model's matrix answer exactly what the same events give on a
single Redis node; ``features rebuild`` switches generations there and leaves no key of the old
one on any node (the drop scans every primary)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml
from cassandra.cluster import Session

from core.service_settings import ModelSettings
from core.settings import RedisSettings, Settings
from store.cql_schema import apply_schema
from tests.integration.api.conftest import FEATURES_KEY, serving_app
from tests.integration.api.conftest import api_settings as api_settings  # the fixture
from tests.integration.features.conftest import (
    DEFINITIONS,
    Features,
    expected_counts,
    redis_of,
    traffic,
    wait_counts,
)
from tests.integration.features.test_rebuild import current_prefix, current_view, rebuild
from tests.integration.private_redis_cluster import PrivateRedisCluster

MODEL = "ranker"
RANKER = {
    "description": "a ranker over the features tests' definitions",
    "context": ["user_id"],
    "candidate": {"entity": "product", "key": "product_id"},
    "derived": {"category_id": "product.p.category"},
    "columns": [
        *(f"user.u.{n}" for n in ("clicks_7d", "orders_7d", "value_30d", "last_order_at")),
        *(f"product.p.{n}" for n in ("category", "clicks_30d", "orders_30d")),
        "category.c.events_30d",
        *(f"user_category.uc.{n}" for n in ("clicks_24h", "last_click_at")),
    ],
    "micro_batch": 16,
    "deadline_ms": 10_000,  # a loaded box must not turn a micro-batch into defaults
    "scorer": {"kind": "linear", "weights": {"product.p.clicks_30d": 1.0}},
}
GROUPS = {  # what /v1/features:get reads per entity (the last_n feature reads interactions)
    "user": [f"u.{n}" for n in ("clicks_1h", "clicks_7d", "orders_7d", "value_30d",
                                "orders_per_click_7d", "last_order_at", "categories_24h")],
    "product": [f"p.{n}" for n in ("category", "clicks_30d", "orders_30d", "buyers_24h")],
    "category": ["c.clicks_5m", "c.events_30d"],
    "user_category": ["uc.clicks_24h", "uc.last_click_at"],
}  # fmt: skip


@pytest.fixture
def pipeline_redis(redis_cluster: PrivateRedisCluster) -> RedisSettings:
    return redis_cluster.settings()


@pytest.fixture
def on_node(
    features: Features, settings: Settings, cql_session: Session, unique_name: str
) -> Iterator[Features]:
    """The same events into the stack's single Redis node: a key prefix, keyspace, consumer
    group and repartition topic of its own."""
    keyspace = f"{unique_name}n"
    apply_schema(cql_session, keyspace, replication_factor=1)
    node = Features(features.settings, features.pipeline, f"{features.prefix}n")
    node.env |= {
        "INTERSTORE_REDIS_URL": settings.redis.url,
        "INTERSTORE_REDIS_CLUSTER": "false",
        "INTERSTORE_CASSANDRA_KEYSPACE": keyspace,
        "INTERSTORE_FEATURES_WORKER_DATA_DIR": str(features.pipeline.tmp / "node-data"),
        "INTERSTORE_FEATURES_WORKER_REPARTITION_SUFFIX": ".features-on-node",
    }
    node.redis = redis_of(node.env)
    yield node
    for worker in node.workers:
        worker.stop()
    for key in node.redis.scan_iter(f"{node.prefix}:*", count=1000):
        node.redis.delete(key)
    node.redis.close()
    cql_session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)


def api_of(api_settings: Settings, features: Features, models: Path) -> Settings:
    """The API reading what ``features`` wrote (its Redis, prefix and definitions)."""
    env = features.env
    cluster = env["INTERSTORE_REDIS_CLUSTER"] == "true"
    return api_settings.model_copy(
        update={
            "redis": RedisSettings(url=env["INTERSTORE_REDIS_URL"], cluster=cluster),
            "features": api_settings.features.model_copy(
                update={"key_prefix": features.prefix, "definitions_path": DEFINITIONS}
            ),
            "models": ModelSettings(path=models, poll_s=0.1),
        }
    )


async def answers(settings: Settings, requests: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Each (path, body) posted to the API built from ``settings``: status and JSON (without
    a matrix's timings)."""
    out: list[Any] = []
    async with serving_app(settings, FEATURES_KEY) as client:
        for path, body in requests:
            answer: httpx.Response = await client.post(path, json=body)
            found = answer.json()
            found.pop("timings_ms", None)
            out.append((answer.status_code, found))
    return out


async def test_the_worker_api_and_matrix_on_a_cluster_answer_as_on_a_single_node(
    features: Features, on_node: Features, api_settings: Settings, tmp_path: Path
) -> None:
    events = traffic(2000, seed=31)
    expected = expected_counts(events)
    features.produce(events)
    workers = [features.start("on-cluster"), on_node.start("on-node")]
    await asyncio.gather(
        asyncio.to_thread(wait_counts, features, expected, [workers[0]]),
        asyncio.to_thread(wait_counts, on_node, expected, [workers[1]]),
    )

    ids: dict[str, list[Any]] = {"user": [], "product": [], "category": []}
    for entity, entity_id in expected:
        ids[entity].append(entity_id)
    pairs = sorted({(r["user_id"], r["category_id"]) for k, r in events if k != "app_open"})
    ids["user_category"] = [{"user_id": u, "category_id": c} for u, c in pairs]
    requests = [
        ("/v1/features:get", {"entity": entity, "ids": ids[entity][i : i + 100],
                              "features": GROUPS[entity]})
        for entity in GROUPS for i in range(0, len(ids[entity]), 100)
    ]  # fmt: skip
    touched = [r for k, r in events if k != "app_open"]
    bought = {u: sorted({r["product_id"] for r in touched if r["user_id"] == u})
              for u in ids["user"][:10]}  # fmt: skip
    requests += [
        (f"/v1/models/{MODEL}/matrix",
         {"context": {"user_id": u}, "candidates": [*products[:40], "unknown-product"]})
        for u, products in bought.items()
    ]  # fmt: skip
    models = tmp_path / "models"
    models.mkdir()
    (models / f"{MODEL}.yaml").write_text(yaml.safe_dump(RANKER))

    on_cluster = await answers(api_of(api_settings, features, models), requests)
    single = await answers(api_of(api_settings, on_node, models), requests)
    assert [status for status, _ in on_cluster] == [200] * len(requests), on_cluster[-1]
    users = [row for (_, asked), (_, body) in zip(requests, on_cluster, strict=True)
             if asked.get("entity") == "user" for row in body["results"]]  # fmt: skip
    counted = {("user", row["id"]): row["values"][1:3] for row in users}
    assert counted == {k: v for k, v in expected.items() if k[0] == "user"}  # not defaults
    matrices = [body for _, body in on_cluster[-10:]]
    assert all(not m["partial"] and m["row_status"][-1] == "missing" for m in matrices)
    assert on_cluster == single  # every value, status, matrix row and score


def keys_on_each_node(cluster: PrivateRedisCluster, prefix: str) -> dict[int, int]:
    """How many keys under ``prefix:`` each primary holds (a plain client per node)."""
    counts: dict[int, int] = {}
    for port in cluster.ports:
        with redis.Redis(host="127.0.0.1", port=port) as node:
            counts[port] = sum(1 for _ in node.scan_iter(f"{prefix}:*", count=1000))
    return counts


async def test_rebuild_on_a_cluster_drops_the_old_generation_from_every_node(
    features: Features, redis_cluster: PrivateRedisCluster
) -> None:
    worker, expected = await asyncio.to_thread(features.counted, traffic(2000, seed=32))
    before = keys_on_each_node(redis_cluster, features.prefix)
    assert sum(1 for count in before.values() if count) >= 2, before  # spread over the nodes

    summary = await rebuild(features, {})
    print("rebuild:", summary, "old keys per node:", before)
    assert summary["generation"] > summary["previous"] == 0
    assert current_prefix(features) != features.prefix
    assert keys_on_each_node(redis_cluster, features.prefix) == dict.fromkeys(before, 0)
    view = current_view(features)  # the new generation: every entity counted once
    await asyncio.to_thread(wait_counts, view, expected, [worker])
    assert sum(keys_on_each_node(redis_cluster, view.prefix).values()) > 0
    view.redis.close()
