"""The feature store's Redis side on a single node and on a Redis Cluster (``hot_redis``):
reads of many ids come back in order, and a cluster node restarted empty is seen as lost
feature shards (their sentinels go with the states)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.settings import FeatureSettings, RedisSettings
from store.feature_state import StateKey, StateWrite, StoredState
from store.feature_store import serving_key
from store.redis_feature_state import RedisStateStore
from store.redis_features import RedisFeatureStore, slots_of
from store.redis_slots import SLOT_GROUPS
from tests.integration.private_redis_cluster import PrivateRedisCluster


@pytest.fixture
async def features(hot_redis: RedisSettings) -> AsyncIterator[RedisFeatureStore]:
    store = RedisFeatureStore(hot_redis, FeatureSettings())
    yield store
    await store.close()


async def test_a_read_of_many_ids_keeps_their_order(
    features: RedisFeatureStore, unique_name: str
) -> None:
    ids = [f"prod-{i}" for i in range(500)]
    keys = [serving_key(unique_name, "product", (i,), g) for i in ids for g in ("a", "b")]
    assert len(slots_of(keys)) <= SLOT_GROUPS  # one MGET per group at most
    written = {key: key.encode() for n, key in enumerate(keys) if n % 3}
    try:
        await features.write_values(written)
        assert await features.read_values(keys) == [written.get(key) for key in keys]
    finally:
        await features.client.delete(*keys)


async def test_a_cluster_node_restarted_empty_loses_the_shards_sentinels(
    redis_cluster: PrivateRedisCluster, unique_name: str
) -> None:
    working = RedisStateStore(redis_cluster.settings(), unique_name)
    try:
        await working.mark_intact("u1")
        key = StateKey("user", ("user-7",))
        write = StateWrite("u1", key, None, 1, b"state", {}, None)
        assert await working.write([write]) == [True]
        assert await working.lost_shards(["u1"]) == []
        victim = redis_cluster.node_of(serving_key(unique_name, "user", ("user-7",), "_state"))
        redis_cluster.restart_empty(victim)
        assert await working.read([key]) == [None]  # the state lived on the restarted node
        assert await working.lost_shards(["u1"]) == ["u1"]  # and its group's sentinel with it
        await working.mark_intact("u1")  # what the reload does once the states are back
        assert await working.lost_shards(["u1"]) == []
    finally:
        await working.close()


async def test_one_missing_sentinel_names_its_shard_alone(
    hot_redis: RedisSettings, unique_name: str
) -> None:
    """On one node all sentinels are checked with one EXISTS, per key only when one is gone."""
    working = RedisStateStore(hot_redis, unique_name)
    shards = ["u1", "u2", "e3"]
    try:
        for shard in shards:
            await working.mark_intact(shard)
        assert await working.lost_shards(shards) == []
        await working.client.delete(working._sentinel("u2", SLOT_GROUPS - 1))
        assert await working.lost_shards(shards) == ["u2"]
        assert await working.lost_shards(["u4", "u1"]) == ["u4"]
    finally:
        keys = [working._sentinel(s, g) for s in shards for g in range(SLOT_GROUPS)]
        await working.client.delete(*keys)
        await working.close()


async def test_reads_and_writes_by_slot_group_keep_order_and_index_only_what_they_wrote(
    hot_redis: RedisSettings, unique_name: str
) -> None:
    """States of many slot groups read back in order (absent ones as None); a refused
    compare-and-set leaves the entity's refresh index entry as it was."""
    working = RedisStateStore(hot_redis, unique_name)
    keys = [StateKey("user", (f"user-{i}",)) for i in range(40)]
    value = serving_key(unique_name, "user", ("user-0",), "g")
    try:
        first = [
            StateWrite("u1", key, None, 1, f"s{i}".encode(), {}, 1_000 + i)
            for i, key in enumerate(keys)
        ]
        first[0] = first[0]._replace(serving={value: b"v0"})
        assert await working.write(first) == [True] * len(keys)
        absent = StateKey("user", ("nobody",))
        assert await working.read([*keys, absent]) == [
            *(StoredState(1, f"s{i}".encode()) for i in range(len(keys))),
            None,
        ]
        assert await working.client.get(value) == b"v0"
        assert await working.due("u1", 10_000, 100) == keys  # by refresh time
        # odd ones expect the stored version (written, leave the index); even ones a wrong one
        second = [
            StateWrite("u1", key, 1 if i % 2 else 7, 2, b"new", {}, None)
            for i, key in enumerate(keys)
        ]
        assert await working.write(second) == [bool(i % 2) for i in range(len(keys))]
        assert await working.due("u1", 10_000, 100) == keys[::2]
        stored = await working.read(keys)
        assert [s.version if s else None for s in stored] == [1 + i % 2 for i in range(len(keys))]
    finally:
        async for key in working.client.scan_iter(f"{unique_name}:*", count=1000):
            await working.client.delete(key)
        await working.close()
