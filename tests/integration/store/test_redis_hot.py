"""The hot-store contract on real Redis, plus what only a real server can show.

Each test owns a unique key prefix (its index, sentinel and user keys), deleted afterwards; the
one test that flushes a database uses DB 15, never the shared DB.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from core.settings import RedisSettings, Settings
from deploy.stack import LocalStack
from store.hot import HotDataLost, HotStoreUnavailable
from store.hot_codec import decode
from store.interactions import Interaction
from store.redis_hot import RedisHotStore
from store.redis_pack import RedisClient, redis_client
from store.redis_slots import slot_group, slot_tag
from tests.hot_store_contract import SESSION, Expire, HotStoreContract, Lose, P, hot, hydrate
from tests.store_contract import NOW_MS, RETENTION, FakeClock, click, ids, order

FLUSHABLE_DB = 15


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def keys_of(raw: RedisClient, prefix: str) -> list[bytes]:
    pattern = "*" if prefix == "*" else f"{prefix}:*"
    return [key async for key in raw.scan_iter(match=pattern, count=1000)]


@pytest.fixture
async def raw(hot_redis: RedisSettings) -> AsyncIterator[RedisClient]:
    """A plain client of the same Redis (a cluster client on the cluster)."""
    client = redis_client(hot_redis)
    yield client
    await client.aclose()


@pytest.fixture
async def hot_store(
    raw: RedisClient, hot_redis: RedisSettings, unique_name: str, clock: FakeClock
) -> AsyncIterator[RedisHotStore]:
    store = RedisHotStore(hot_redis, SESSION, RETENTION, prefix=unique_name, clock=clock)
    yield store
    await store.close()
    if keys := await keys_of(raw, unique_name):
        await raw.delete(*keys)


@pytest.fixture
def lose_everything(raw: RedisClient, unique_name: str) -> Lose:
    async def lose() -> None:  # what FLUSHALL does, to this test's keys only
        if keys := await keys_of(raw, unique_name):
            await raw.delete(*keys)

    return lose


@pytest.fixture
def expire_user(raw: RedisClient, hot_store: RedisHotStore) -> Expire:
    async def expire(user_id: str) -> None:
        await raw.delete(*hot_store.keys.user_keys(user_id))

    return expire


class TestRedisHotStore(HotStoreContract):
    pass


async def test_key_layout_and_every_key_has_a_ttl(
    hot_store: RedisHotStore, raw: RedisClient, unique_name: str
) -> None:
    await hot_store.set_sentinel(P)
    await hydrate(hot_store, "user-1", [order("o1", NOW_MS - 1)], partition=P, now_ms=NOW_MS)
    await hot_store.append([hot(click("c1", NOW_MS), 42)], now_ms=NOW_MS + 5)
    keys = sorted(key.decode() for key in await keys_of(raw, unique_name))
    tag = slot_tag("user-1")
    user = f"{unique_name}:{tag}:user-1"
    index = [f"{unique_name}:{name}:p{P}:{tag}" for name in ("sessions", "started", "dirtyoff")]
    sentinels = [key for key in keys if key.startswith(f"{unique_name}:sentinel:p{P}:{{")]
    assert len(sentinels) == 16  # one per slot group
    assert keys == sorted(
        [
            *sentinels,
            f"{user}:session",
            f"{user}:dirty",
            f"{user}:view:click",
            f"{user}:view:order",
            *index,
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
    assert await raw.zrange(index[2], 0, -1, withscores=True) == [(b"user-1", 42.0)]
    for key in [*index, *sentinels]:
        await raw.expire(key, 10)
    assert await hot_store.sentinel_ok(P)  # each tick keeps the partition's keys alive
    for key in [*index, *sentinels]:
        assert await raw.ttl(key) > 10, key


async def test_a_users_keys_and_its_index_entries_share_one_slot(
    hot_store: RedisHotStore,
) -> None:
    """What lets every script run on a Redis Cluster: no script's keys span slots."""
    for user in ["user-1", "u:{x}", "\u00e9l\u00e8ve", *(f"user-{i}" for i in range(200))]:
        keys = [*hot_store.keys.script_keys(user, P), hot_store.keys.sentinel(P, slot_group(user))]
        assert len({key_slot(key.encode()) for key in keys}) == 1, user


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
    hot_store: RedisHotStore, raw: RedisClient
) -> None:
    await hydrate(hot_store, "user-1", [], partition=P, now_ms=NOW_MS)
    await raw.script_flush()  # what a restart does to the script cache
    assert await hot_store.append([hot(click("c1", NOW_MS), 1)], now_ms=NOW_MS) == []
    assert ids(await hot_store.recent("user-1") or []) == ["c1"]


async def hot_state(raw: RedisClient, prefix: str) -> tuple[dict[str, Any], dict[str, int]]:
    """Every key under ``prefix`` (named without it): its contents, and its TTL in ms."""
    contents: dict[str, Any] = {}
    ttls: dict[str, int] = {}
    for key in await keys_of(raw, prefix):
        name = key.decode().removeprefix(prefix)
        kind = (await raw.type(key)).decode()
        if kind == "hash":
            contents[name] = await raw.hgetall(key)
        elif kind == "zset":
            contents[name] = await raw.zrange(key, 0, -1, withscores=True)
        else:
            contents[name] = await raw.get(key)
        ttls[name] = await raw.pttl(key)
    return contents, ttls


async def test_an_append_leaves_what_an_append_then_a_touch_left(
    raw: RedisClient, hot_redis: RedisSettings, unique_name: str, clock: FakeClock
) -> None:
    """The worker does not touch a user its batch appends to (``streams.sessions``): the hot
    view, the session, the partition's indexes and every TTL are the same without the touch."""
    names = ("touched", "appended")
    stores = [
        RedisHotStore(hot_redis, SESSION, RETENTION, prefix=f"{unique_name}:{n}", clock=clock)
        for n in names
    ]
    try:
        for store in stores:
            await store.set_sentinel(P)
            await hydrate(store, "user-1", [order("o1", NOW_MS - 9)], partition=P, now_ms=NOW_MS)
            items = [hot(click("c1", NOW_MS - 5), 42), hot(click("c2", NOW_MS - 4), 43)]
            assert await store.append(items, now_ms=NOW_MS + 5) == []
        assert await stores[0].touch({P: {"user-1"}}, now_ms=NOW_MS + 5) == {"user-1"}
        (touched, touched_ttls), (appended, appended_ttls) = [
            await hot_state(raw, f"{unique_name}:{n}") for n in names
        ]
        assert touched == appended
        assert len(touched) == 16 + 4 + 3  # the sentinels, the user's keys, the indexes
        assert touched_ttls.keys() == appended_ttls.keys()
        for name, ttl in touched_ttls.items():
            assert abs(ttl - appended_ttls[name]) < 2_000, name
        views = [await store.recent("user-1", now_ms=NOW_MS) for store in stores]
        assert views[0] == views[1]
        assert ids(views[0] or []) == ["c2", "c1", "o1"]
    finally:
        for store in stores:
            await store.close()


async def test_one_slot_groups_lost_sentinel_loses_its_partition_alone(
    hot_store: RedisHotStore, raw: RedisClient
) -> None:
    """The sentinel check of many partitions in one script: a gone sentinel of one slot group
    of one partition is that partition's loss, and no other's."""
    partitions = [P, P + 1, P + 2]
    for partition in partitions:
        await hot_store.set_sentinel(partition)
    assert await hot_store.lost_partitions(partitions) == []
    await raw.delete(hot_store.keys.sentinel(P + 1, 7))
    assert await hot_store.lost_partitions(partitions) == [P + 1]
    assert not await hot_store.sentinel_ok(P + 1)
    assert await hot_store.sentinel_ok(P + 2)


async def test_appends_keep_each_members_lowest_offset_against_a_model(
    hot_store: RedisHotStore, raw: RedisClient
) -> None:
    """The append script's view, dirty set and dirty-offset index against what they must hold:
    random batches of clicks and orders, a member in several batches and twice in one, offsets
    in any order (each member keeps its lowest offset, the user its lowest over the set)."""
    rng = random.Random(15)
    await hot_store.set_sentinel(P)
    await hydrate(hot_store, "user-1", [], partition=P, now_ms=NOW_MS)
    items = [click(f"c{i}", NOW_MS - i) for i in range(12)]
    items += [order(f"o{i}", NOW_MS - 20 - i) for i in range(4)]
    lowest: dict[str, int] = {}
    for _ in range(25):
        batch = [(rng.choice(items), rng.randrange(1_000)) for _ in range(rng.randrange(1, 9))]
        appended = [hot(item, offset) for item, offset in batch]
        assert await hot_store.append(appended, now_ms=NOW_MS) == []
        for item, offset in batch:
            lowest[item.event_id] = min(offset, lowest.get(item.event_id, offset))
    found = await raw.zrange(hot_store.keys.user_keys("user-1")[1], 0, -1, withscores=True)
    assert {decode("user-1", member).event_id: int(score) for member, score in found} == lowest
    assert await hot_store.min_dirty_offsets([P]) == {P: min(lowest.values())}
    newest = sorted((i for i in items if i.event_id in lowest), key=lambda i: -i.ts_ms)
    kept: list[Interaction] = []
    for kind in ("click", "order"):  # each view trimmed to the newest N of its kind
        kept += [i for i in newest if i.kind == kind][: SESSION.last_n_per_kind]
    view = await hot_store.recent("user-1", limit=100, now_ms=NOW_MS)
    assert ids(view or []) == ids(sorted(kept, key=lambda i: -i.ts_ms))
