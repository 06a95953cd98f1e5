"""One run of `interstore bench features-read`: the latency of ``POST /v1/features:get``
against the raw MGET floor, measured in the same run.

Serving values for ``products`` products (groups ``product_stats`` and ``product_attributes``,
20 features) are written with the codec under a scratch key prefix; an ``interstore api`` daemon
of its own (free port, scratch key, a scratch keyspace: it opens the cold tier at start-up) serves
them. For each request size (ids x 20 features), closed loop, one request in flight, the same
random id sets for every path:

- ``floor``: redis-py asyncio (hiredis) ``MGET`` of the request's keys, replies not decoded;
- ``reader``: ``FeatureReader.get`` in this process (MGET, decode, statuses);
- ``api``: the HTTP request to the daemon, answer parsed by the client.

``ratio``: the API's p50 over the floor's p50 at 30 ids. The scratch keys and keyspace are deleted
at the end.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis
from rich.console import Console

from benchmarks.features_read.plan import FeaturesReadParams
from benchmarks.harness.figures import figures_table, percentile
from benchmarks.harness.results import BenchResult, host_info
from benchmarks.harness.scratch import scratch_keyspace
from core.settings import Settings, load_settings
from deploy.app_processes import api_process, api_url, start_api
from deploy.process import free_port
from features.catalogue import Catalogue, load_catalogue
from features.reader import build_feature_reader
from features.serving import ServingValue, encode_serving
from store.feature_store import serving_key
from store.redis_features import RedisFeatureStore

GROUPS = ("product_stats", "product_attributes")
HEADLINE_SIZE = 30


def feature_names(catalogue: Catalogue) -> list[str]:
    names = [f"{g}.{f.name}" for g in GROUPS for f in catalogue.served(g)]
    return names[:20]


async def seed_values(
    store: RedisFeatureStore, catalogue: Catalogue, prefix: str, products: Sequence[str]
) -> None:
    now = int(time.time() * 1000)
    rng = random.Random(1)
    values: dict[str, bytes] = {}
    for product in products:
        for group in GROUPS:
            row: list[Any] = []
            for feature in catalogue.served(group):
                row.append("cat-0001" if feature.type == "attribute" else rng.randint(0, 1000) / 7)
            value = ServingValue(catalogue.fingerprints[group], now, now, None, row)
            values[serving_key(prefix, "product", (product,), group)] = encode_serving(value)
    await store.write_values(values)


async def timed(
    call: Callable[[list[str]], Awaitable[Any]], id_sets: Sequence[list[str]], warmup: int
) -> list[float]:
    for ids in id_sets[:warmup]:
        await call(ids)
    seconds = []
    for ids in id_sets[warmup:]:
        began = time.perf_counter()
        await call(ids)
        seconds.append(time.perf_counter() - began)
    return seconds


def summary(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(1000 * percentile(seconds, 0.5), 3),
        "p99_ms": round(1000 * percentile(seconds, 0.99), 3),
        "mean_ms": round(1000 * sum(seconds) / len(seconds), 3),
    }


async def _measure(
    settings: Settings, params: FeaturesReadParams, base_url: str, key: str, status: Console
) -> dict[str, dict[str, dict[str, float]]]:
    catalogue = load_catalogue(settings.features.definitions_path)
    prefix = settings.features.key_prefix
    products = [f"prod-{n:07d}" for n in range(params.products)]
    store = RedisFeatureStore(settings.redis, settings.features)
    reader = build_feature_reader(settings, store, None, catalogue=catalogue)
    raw = Redis.from_url(settings.redis.url)
    names = feature_names(catalogue)
    rng = random.Random(params.seed)
    figures: dict[str, dict[str, dict[str, float]]] = {}
    try:
        await seed_values(store, catalogue, prefix, products)
        async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": key}) as client:

            async def floor(ids: list[str]) -> None:
                await raw.mget(
                    [serving_key(prefix, "product", (p,), g) for p in ids for g in GROUPS]
                )

            async def in_process(ids: list[str]) -> None:
                await reader.get("product", ids, names)

            async def api(ids: list[str]) -> None:
                body = {"entity": "product", "ids": ids, "features": names}
                answer = await client.post("/v1/features:get", json=body)
                if answer.status_code != 200:
                    raise RuntimeError(f"API answered {answer.status_code}: {answer.text[:300]}")
                json.loads(answer.content)

            for size in params.sizes:
                count = params.requests if size < 500 else max(params.requests // 5, 20)
                id_sets = [rng.sample(products, size) for _ in range(count + params.warmup)]
                status.print(f"{size} ids x {len(names)} features: {count} requests per path")
                figures[f"ids_{size}"] = {
                    path: summary(await timed(call, id_sets, params.warmup))
                    for path, call in (("floor", floor), ("reader", in_process), ("api", api))
                }
    finally:
        keys = [key async for key in raw.scan_iter(match=f"{prefix}:*", count=1000)]
        for start in range(0, len(keys), 1000):
            await raw.delete(*keys[start : start + 1000])
        await raw.aclose()
        await store.close()
    return figures


def run_features_read(
    params: FeaturesReadParams, status: Console, out: Console
) -> tuple[BenchResult, bool]:
    """One run: (the result, whether every API answer was a 200)."""
    base = load_settings()
    scratch = f"bfr{uuid.uuid4().hex[:10]}"
    port = free_port()
    workdir: Path = base.stack.var_dir / "bench" / scratch
    settings = base.model_copy(
        update={
            "api": base.api.model_copy(update={"host": "127.0.0.1", "port": port}),
            "stack": base.stack.model_copy(update={"var_dir": workdir}),
            "features": base.features.model_copy(update={"key_prefix": scratch}),
            "cassandra": base.cassandra.model_copy(update={"keyspace": scratch}),
        }
    )
    key = secrets.token_urlsafe(24)
    env = {
        "INTERSTORE_API_KEYS": json.dumps({key: ["read:features"]}),
        "INTERSTORE_API_DEV_MODE": "false",
        "INTERSTORE_API_HOST": "127.0.0.1",
        "INTERSTORE_API_PORT": str(port),
        "INTERSTORE_STACK_VAR_DIR": str(workdir),
        "INTERSTORE_FEATURES_KEY_PREFIX": scratch,
        "INTERSTORE_CASSANDRA_KEYSPACE": scratch,
    }
    status.print(f"starting an API on port {port} (keys under {scratch}:)")
    with scratch_keyspace(settings, scratch):
        try:
            start_api(settings, env)
            figures = asyncio.run(_measure(settings, params, api_url(settings, ""), key, status))
        finally:
            api_process(settings).stop()
    rows = [
        (size.removeprefix("ids_"), path, f"{f['p50_ms']:.2f}", f"{f['p99_ms']:.2f}")
        for size, paths in figures.items()
        for path, f in paths.items()
    ]
    out.print(figures_table("features:get, 20 features", ("ids", "path", "p50 ms", "p99 ms"), rows))
    headline = figures[f"ids_{HEADLINE_SIZE}"]
    result = BenchResult(
        name="features_read",
        params=params.to_json(),
        figures={
            size: {"api": paths["api"], "reader": paths["reader"]}
            for size, paths in figures.items()
        },
        baseline={size: paths["floor"] for size, paths in figures.items()},
        ratio=round(headline["api"]["p50_ms"] / headline["floor"]["p50_ms"], 2),
        host=host_info(),
    )
    return result, True
