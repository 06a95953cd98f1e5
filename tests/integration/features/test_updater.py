"""The updater against real Redis and Cassandra, driven by an injectable clock (no sleeps):
windows slide through the refresher, concurrent writers stay exact, a lost working copy comes
back from the durable one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cassandra.cluster import Session

from core.settings import Settings
from features.aggregate import FeatureEvent
from features.catalogue import load_catalogue
from features.plan import plans_from_catalogue
from features.serving import decode_serving
from features.tiles import HOUR_MS, MINUTE_MS
from features.updater import EntityBatch, FeatureUpdater
from store.cassandra_feature_state import CassandraStateStore
from store.feature_state import StateKey, state_key
from store.feature_store import serving_key
from store.redis_feature_state import RedisStateStore
from tests.integration.features.conftest import DEFINITIONS

T0 = 1_795_000_000_000 // HOUR_MS * HOUR_MS


class Clock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


@pytest.fixture
async def stores(
    settings: Settings, cql_session: Session, keyspace: str, unique_name: str
) -> AsyncIterator[tuple[RedisStateStore, CassandraStateStore]]:
    working = RedisStateStore(settings.redis, unique_name)
    yield working, CassandraStateStore(cql_session, keyspace)
    async for key in working.client.scan_iter(f"{unique_name}:*", count=1000):
        await working.client.delete(key)
    await working.close()


def updater(stores: tuple[RedisStateStore, CassandraStateStore], clock: Clock) -> FeatureUpdater:
    catalogue = load_catalogue(DEFINITIONS)
    working, durable = stores
    return FeatureUpdater(
        catalogue, plans_from_catalogue(catalogue), working, durable,
        key_prefix=working.prefix, lateness_ms=HOUR_MS, clock=clock,
    )  # fmt: skip


def clicks(user: str, times: list[int], first_offset: int = 0) -> EntityBatch:
    fields = {"user_id": user, "product_id": "p", "category_id": "c"}
    events = [
        FeatureEvent("click", ts, fields, partition=0, offset=first_offset + i)
        for i, ts in enumerate(times)
    ]
    return EntityBatch("u0", StateKey("user", (user,)), events)


async def values(stores: tuple[RedisStateStore, Any], user: str) -> tuple[list[Any], int | None]:
    raw = await stores[0].client.get(serving_key(stores[0].prefix, "user", (user,), "u"))
    value = decode_serving(raw)
    return list(value.values)[:2], value.valid_until_ms


async def test_the_refresher_slides_windows_as_the_clock_moves(stores: Any) -> None:
    clock = Clock(T0)
    live = updater(stores, clock)
    await live.apply([clicks("u1", [T0 - 40 * MINUTE_MS, T0 - 10 * MINUTE_MS])])
    assert await values(stores, "u1") == ([2, 2], T0 + 20 * MINUTE_MS)

    clock.now_ms = T0 + 20 * MINUTE_MS - 1
    assert await live.refresh("u0") == 0  # nothing due yet
    clock.now_ms = T0 + 20 * MINUTE_MS
    assert await live.refresh("u0") == 1
    assert await values(stores, "u1") == ([1, 2], T0 + 50 * MINUTE_MS)
    clock.now_ms = T0 + 7 * 24 * HOUR_MS
    assert await live.refresh("u0") == 1
    assert await values(stores, "u1") == ([0, 0], None)  # nothing left to expire
    clock.now_ms += 365 * 24 * HOUR_MS
    assert await live.refresh("u0") == 0  # out of the refresher's index


async def test_two_writers_of_one_entity_stay_exact(stores: Any) -> None:
    clock = Clock(T0)
    a, b = updater(stores, clock), updater(stores, clock)
    batches = [clicks("u2", [T0 - i * MINUTE_MS for i in range(1, 11)], first_offset=k * 10)
               for k in range(5)]  # fmt: skip

    # both "workers" apply every batch (a rebalance hand-over), concurrently, in order each
    async def run(updater: FeatureUpdater) -> int:
        conflicts = 0
        for batch in batches:
            conflicts += (await updater.apply([batch])).conflicts
        return conflicts

    await asyncio.gather(run(a), run(b))
    assert (await values(stores, "u2"))[0] == [50, 50]  # each click once, not twice


async def test_a_lost_working_copy_is_reloaded_from_the_durable_one(stores: Any) -> None:
    clock = Clock(T0)
    live = updater(stores, clock)
    await live.apply([clicks("u3", [T0 - 5 * MINUTE_MS]), clicks("u4", [T0 - 2 * HOUR_MS])])
    before = [await values(stores, u) for u in ("u3", "u4")]
    working = stores[0]
    async for key in working.client.scan_iter(f"{working.prefix}:*", count=1000):
        await working.client.delete(key)  # this test's keys only: Redis "lost" them
    assert await live.ensure_intact(["u0"]) == 2
    assert [await values(stores, u) for u in ("u3", "u4")] == before
    # and the fences came back too: the same events again change nothing
    report = await live.apply([clicks("u3", [T0 - 5 * MINUTE_MS])])
    assert (report.applied, report.duplicates) == (0, 1)


async def test_a_kept_state_never_overwrites_another_state_of_the_same_version(stores: Any) -> None:
    clock = Clock(T0)
    a, b = updater(stores, clock), updater(stores, clock)
    await a.apply([clicks("u5", [T0 - MINUTE_MS])])  # a keeps its state (version 1) decoded
    assert len(a.cache) == 1
    key = StateKey("user", ("u5",))
    await stores[0].client.delete(state_key(stores[0].prefix, key))  # lost, then b writes
    fields = {"user_id": "u5", "product_id": "p", "category_id": "c"}
    other = [
        FeatureEvent("click", T0 - i * MINUTE_MS, fields, partition=1, offset=i) for i in (2, 3)
    ]
    await b.apply([EntityBatch("u1", key, other)])  # another version 1, with other bytes
    report = await a.apply([clicks("u5", [T0 - 4 * MINUTE_MS], first_offset=1)])
    assert report.conflicts == 1  # a's kept version 1 was refused: a read b's and applied again
    assert (await values(stores, "u5"))[0] == [3, 3]  # b's two clicks and a's new one
