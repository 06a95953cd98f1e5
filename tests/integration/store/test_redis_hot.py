"""The hot-store contract on real Redis, plus what only a real server can show.

Each test owns a unique key prefix (its index, sentinel and user keys), deleted afterwards; the
one test that flushes a database uses DB 15, never the shared DB.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from core.settings import RedisSettings, Settings
from deploy.stack import LocalStack
from store.hot import HotDataLost, HotStoreUnavailable
from store.redis_hot import RedisHotStore
from tests.hot_store_contract import SESSION, Expire, HotStoreContract, Lose, P, hot, hydrate
from tests.store_contract import NOW_MS, RETENTION, FakeClock, click, ids, order

FLUSHABLE_DB = 15


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def keys_of(raw: Redis, prefix: str) -> list[bytes]:
    pattern = "*" if prefix == "*" else f"{prefix}:*"
    return [key async for key in raw.scan_iter(match=pattern, count=1000)]


@pytest.fixture
async def raw(stack: LocalStack, settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis.url)
    yield client
    await client.aclose()


@pytest.fixture
async def hot_store(
    raw: Redis, settings: Settings, unique_name: str, clock: FakeClock
) -> AsyncIterator[RedisHotStore]:
    store = RedisHotStore(settings.redis, SESSION, RETENTION, prefix=unique_name, clock=clock)
    yield store
    await store.close()
    if keys := await keys_of(raw, unique_name):
        await raw.delete(*keys)


@pytest.fixture
def lose_everything(raw: Redis, unique_name: str) -> Lose:
    async def lose() -> None:  # what FLUSHALL does, to this test's keys only
        if keys := await keys_of(raw, unique_name):
            await raw.delete(*keys)

    return lose


@pytest.fixture
def expire_user(raw: Redis, hot_store: RedisHotStore) -> Expire:
    async def expire(user_id: str) -> None:
        await raw.delete(*hot_store.keys.user_keys(user_id))

    return expire


class TestRedisHotStore(HotStoreContract):
    pass


async def test_key_layout_and_every_key_has_a_ttl(
    hot_store: RedisHotStore, raw: Redis, unique_name: str
) -> None:
    await hot_store.set_sentinel(P)
    await hydrate(hot_store, "user-1", [order("o1", NOW_MS - 1)], partition=P, now_ms=NOW_MS)
    await hot_store.append([hot(click("c1", NOW_MS), 42)], now_ms=NOW_MS + 5)
    keys = sorted(key.decode() for key in await keys_of(raw, unique_name))
    user = f"{unique_name}:{{user-1}}"
    assert keys == sorted(
        [
            f"{unique_name}:sentinel:{{p{P}}}",
            f"{user}:session",
            f"{user}:dirty",
            f"{user}:view:click",
            f"{user}:view:order",
            *(f"{unique_name}:{name}:{{p{P}}}" for name in ("sessions", "started", "dirtyoff")),
        ]
    )
    for key in keys:
        assert 0 < await raw.ttl(key) <= SESSION.key_ttl_s, key
    session = await raw.hgetall(f"{user}:session")
    assert session == {
        b"started": str(NOW_MS).encode(),
        b"seen": b"%d" % (NOW_MS + 5),
        b"partition": b"3",
    }
    assert await raw.zrange(f"{unique_name}:dirtyoff:{{p{P}}}", 0, -1, withscores=True) == [
        (b"user-1", 42.0)
    ]
    partition_keys = [key for key in keys if key.endswith(f"{{p{P}}}")]
    for key in partition_keys:
        await raw.expire(key, 10)
    assert await hot_store.sentinel_ok(P)  # each tick keeps the partition's keys alive
    for key in partition_keys:
        assert await raw.ttl(key) > 10, key


async def test_sentinel_lost_after_flushdb(
    stack: LocalStack, settings: Settings, unique_name: str
) -> None:
    url = settings.redis.url.rsplit("/", 1)[0] + f"/{FLUSHABLE_DB}"
    redis = settings.redis.model_copy(update={"url": url})
    store = RedisHotStore(redis, SESSION, RETENTION, prefix=unique_name)
    raw = Redis.from_url(url)
    try:
        await store.set_sentinel(P)
        await hydrate(store, "user-1", [], partition=P, now_ms=NOW_MS)
        await store.append([hot(click("c1", NOW_MS), 7)], now_ms=NOW_MS)
        assert await store.min_dirty_offsets([P]) == {P: 7}
        others = [
            key for key in await keys_of(raw, "*") if not key.startswith(unique_name.encode())
        ]
        assert not others, f"DB {FLUSHABLE_DB} is in use by someone else: {others[:5]}"
        await raw.flushdb()
        assert not await store.sentinel_ok(P)
        with pytest.raises(HotDataLost, match=rf"partitions \[{P}\]"):
            await store.min_dirty_offsets([P])
        assert await store.live_users(["user-1"]) == set()
        await store.set_sentinel(P)
        assert await store.sentinel_ok(P)
        assert await store.min_dirty_offsets([P]) == {}
    finally:
        await raw.flushdb()
        await raw.aclose()
        await store.close()


async def test_unreachable_redis_raises_instead_of_empty() -> None:
    redis = RedisSettings(url="redis://127.0.0.1:1/0", retries=0, connect_timeout_s=0.5)
    store = RedisHotStore(redis, SESSION, RETENTION, prefix="unreachable")
    try:
        with pytest.raises(HotStoreUnavailable, match="recent read of 1 users"):
            await store.recent("user-1")
        with pytest.raises(HotStoreUnavailable, match="live check"):
            await store.live_users(["user-1"])
        with pytest.raises(HotStoreUnavailable, match="append of 1 interactions"):
            await store.append([hot(click("c1", NOW_MS), 1)], now_ms=NOW_MS)
        with pytest.raises(HotStoreUnavailable, match="sentinel check"):
            await store.sentinel_ok(P)
    finally:
        await store.close()


async def test_scripts_come_back_after_the_script_cache_is_flushed(
    hot_store: RedisHotStore, raw: Redis
) -> None:
    await hydrate(hot_store, "user-1", [], partition=P, now_ms=NOW_MS)
    await raw.script_flush()  # what a restart does to the script cache
    assert await hot_store.append([hot(click("c1", NOW_MS), 1)], now_ms=NOW_MS) == []
    assert ids(await hot_store.recent("user-1") or []) == ["c1"]
