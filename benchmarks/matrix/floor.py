"""The raw floor of `interstore bench matrix`: the same reads from plain Python, no framework.

Per request: one MGET of the user's and the candidates' serving values (both product groups),
the categories decoded from ``product_attributes``, one MGET of the distinct user x category
values, every value decoded (msgpack). Requests are sent open loop at the benchmark's rate
(request N starts at ``start + N/rate`` whatever the others are doing); latency counts from
that scheduled start, so a backlog shows as it would for a real client.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import msgpack
from redis.asyncio import Redis

from benchmarks.harness.figures import percentile
from benchmarks.matrix.data import Dataset
from store.feature_store import serving_key

USER_GROUP = "user_activity"
PRODUCT_GROUPS = ("product_stats", "product_attributes")
UC_GROUP = "user_category_affinity"


async def _one(redis: Redis, prefix: str, user: str, products: list[str]) -> int:
    keys = [serving_key(prefix, "user", (user,), USER_GROUP)]
    for product in products:
        keys += [serving_key(prefix, "product", (product,), g) for g in PRODUCT_GROUPS]
    raw = await redis.mget(keys)
    decoded: list[Any] = [None if r is None else msgpack.unpackb(r) for r in raw]
    categories = [
        None if value is None else value[5][0] for value in decoded[2::2]
    ]  # product_attributes: category_id first
    wanted = list(dict.fromkeys(c for c in categories if c is not None))
    uc = await redis.mget(
        [serving_key(prefix, "user_category", (user, c), UC_GROUP) for c in wanted]
    )
    return len(decoded) + sum(1 for r in uc if r is not None and msgpack.unpackb(r))


async def _run(url: str, prefix: str, data: Dataset, size: int, rate: float, duration_s: float,
               seed: int) -> dict[str, Any]:  # fmt: skip
    rng = random.Random(seed)
    redis = Redis.from_url(url, max_connections=256)
    requests = [data.request(rng, size) for _ in range(max(1, int(rate * duration_s)))]
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter() + 0.1

    async def send(n: int, user: str, products: list[str]) -> None:
        nonlocal errors
        scheduled = start + n / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        try:
            await _one(redis, prefix, user, products)
        except Exception:  # noqa: BLE001 - counted, reported
            errors += 1
            return
        latencies.append((time.perf_counter() - scheduled) * 1000)

    try:
        await _one(redis, prefix, *requests[0])  # connect
        await asyncio.gather(*(send(n, u, p) for n, (u, p) in enumerate(requests)))
    finally:
        await redis.aclose()
    elapsed = time.perf_counter() - start
    return {
        "requests": len(requests),
        "rate_wanted": rate,
        "throughput": round(len(latencies) / elapsed, 1),
        "errors": errors,
        "p50_ms": round(percentile(latencies, 0.5), 3) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 3) if latencies else None,
    }


def run_floor(url: str, prefix: str, data: Dataset, size: int, rate: float, duration_s: float,
              seed: int = 7) -> dict[str, Any]:  # fmt: skip
    return asyncio.run(_run(url, prefix, data, size, rate, duration_s, seed))
