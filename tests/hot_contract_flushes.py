"""The hot-store contract, part two: flushes, dirty offsets, sentinels (``HotStoreContract``)."""

from __future__ import annotations

import pytest

from store.hot import Dirty, HotDataLost, HotStore
from tests.hot_contract_support import (
    NOW_MS,
    Expire,
    Lose,
    P,
    dirty_of,
    hot,
    hydrate,
    recent_ids,
)
from tests.store_contract import click, ids, order


class HotFlushesContract:
    async def test_sessions_to_flush(self, hot_store: HotStore) -> None:
        for minute, user in enumerate(["a", "b", "c"]):
            await hydrate(hot_store, user, [], partition=P, now_ms=NOW_MS + minute * 60_000)
        await hydrate(hot_store, "other", [], partition=P + 1, now_ms=NOW_MS)
        await hot_store.append([hot(click("x", NOW_MS, "a"), 1)], now_ms=NOW_MS + 300_000)
        assert await hot_store.touch({P: ["b", "zed"]}, now_ms=NOW_MS + 200_000) == {"b"}
        assert await hot_store.touch({P: ["b"], P + 1: ["other"]}, now_ms=NOW_MS + 200_000) == {
            "b",
            "other",
        }
        assert await hot_store.live_users(["zed"]) == set()

        async def due(idle_before: int, started_before: int, limit: int = 10) -> list[str]:
            return await hot_store.sessions_to_flush(
                P, idle_before_ms=idle_before, started_before_ms=started_before, limit=limit
            )

        assert await due(NOW_MS + 250_000, 0) == ["c", "b"]  # longest idle first
        assert await due(NOW_MS + 200_000, 0) == ["c"]  # strictly before
        assert await due(0, NOW_MS + 60_001) == ["a", "b"]  # too long, however active
        assert await due(NOW_MS + 250_000, NOW_MS + 1, limit=2) == ["c", "b"]
        assert await due(NOW_MS + 250_000, NOW_MS + 1) == ["c", "b", "a"]
        sessions = await hot_store.sessions_of([P, P + 1, P + 2])
        expected = {P: ["a", "b", "c"], P + 1: ["other"], P + 2: []}
        assert {p: sorted(users) for p, users in sessions.items()} == expected

    async def test_evict_a_flushed_session(self, hot_store: HotStore) -> None:
        await hot_store.set_sentinel(P)
        await hydrate(hot_store, "user-1", [click("c0", NOW_MS - 9)], partition=P, now_ms=NOW_MS)
        await hydrate(hot_store, "clean", [], partition=P, now_ms=NOW_MS)
        dirtied = [hot(click("c1", NOW_MS), 41), hot(order("o1", NOW_MS), 40)]
        await hot_store.append(dirtied, now_ms=NOW_MS)
        assert await hot_store.min_dirty_offsets([P]) == {P: 40}
        flushed = await hot_store.dirty(["user-1", "clean"])
        assert await hot_store.release_flushed(P, flushed, evict=True) == {"user-1", "clean"}
        assert await hot_store.live_users(["user-1", "clean"]) == set()
        assert await hot_store.recent("user-1") is None
        assert await dirty_of(hot_store, "user-1") == []
        assert await hot_store.sessions_of([P]) == {P: []}
        assert await hot_store.min_dirty_offsets([P]) == {}
        assert hot_store.vanished_sessions == 0

    async def test_evict_keeps_what_became_dirty_meanwhile(self, hot_store: HotStore) -> None:
        await hot_store.set_sentinel(P)
        await hydrate(hot_store, "user-1", [], partition=P, now_ms=NOW_MS)
        await hot_store.append([hot(click("c1", NOW_MS), 10)], now_ms=NOW_MS)
        flushed = await hot_store.dirty(["user-1"])
        await hot_store.append([hot(click("c2", NOW_MS + 1), 20)], now_ms=NOW_MS + 1)
        assert await hot_store.release_flushed(P, flushed, evict=True) == set()
        assert ids(await dirty_of(hot_store, "user-1")) == ["c2"]
        assert await recent_ids(hot_store, "user-1") == ["c2", "c1"]
        assert await hot_store.min_dirty_offsets([P]) == {P: 20}
        assert await hot_store.release_flushed(
            P, await hot_store.dirty(["user-1"]), evict=True
        ) == {"user-1"}
        assert await hot_store.live_users(["user-1"]) == set()

    async def test_a_release_without_evicting_keeps_the_session_live(
        self, hot_store: HotStore
    ) -> None:
        await hot_store.set_sentinel(P)
        await hydrate(hot_store, "user-1", [], partition=P, now_ms=NOW_MS)
        await hydrate(hot_store, "clean", [], partition=P, now_ms=NOW_MS)
        dirtied = [hot(click("c1", NOW_MS), 10), hot(click("c2", NOW_MS + 1), 11)]
        await hot_store.append(dirtied, now_ms=NOW_MS)
        flushed = await hot_store.dirty(["user-1", "clean"])
        await hot_store.append([hot(click("c3", NOW_MS + 2), 12)], now_ms=NOW_MS + 2)
        await hot_store.release_flushed(P, flushed, evict=False)
        assert ids(await dirty_of(hot_store, "user-1")) == ["c3"]
        assert await hot_store.min_dirty_offsets([P]) == {P: 12}
        await hot_store.release_flushed(P, await hot_store.dirty(["user-1"]), evict=False)
        assert await hot_store.min_dirty_offsets([P]) == {}
        assert await hot_store.live_users(["user-1", "clean"]) == {"user-1", "clean"}
        assert await recent_ids(hot_store, "user-1") == ["c3", "c2", "c1"]
        assert sorted((await hot_store.sessions_of([P]))[P]) == ["clean", "user-1"]

    async def test_min_dirty_offsets_per_partition(self, hot_store: HotStore) -> None:
        for partition in (0, 1, 2):
            await hot_store.set_sentinel(partition)
        for user, partition in (("a", 0), ("b", 0), ("c", 1)):
            await hydrate(hot_store, user, [], partition=partition, now_ms=NOW_MS)
        batch = [
            hot(click("a1", NOW_MS, "a"), 15, 0),
            hot(click("b1", NOW_MS, "b"), 12, 0),
            hot(click("b2", NOW_MS, "b"), 30, 0),
            hot(click("c1", NOW_MS, "c"), 7, 1),
        ]
        await hot_store.append(batch, now_ms=NOW_MS)
        assert await hot_store.min_dirty_offsets([0, 1, 2]) == {0: 12, 1: 7}
        await hot_store.release_flushed(
            0, {"b": Dirty.of([click("b1", NOW_MS, "b")])}, evict=True
        )  # b2 stays dirty
        assert await hot_store.min_dirty_offsets([0]) == {0: 15}
        await hot_store.release_flushed(0, {"a": Dirty.of([click("a1", NOW_MS, "a")])}, evict=True)
        assert await hot_store.min_dirty_offsets([0]) == {0: 30}

    async def test_sentinels_tell_data_loss(
        self, hot_store: HotStore, lose_everything: Lose
    ) -> None:
        assert not await hot_store.sentinel_ok(P)  # never set: not known complete
        with pytest.raises(HotDataLost) as lost:
            await hot_store.min_dirty_offsets([P + 1, P])
        assert lost.value.partitions == [P, P + 1]
        await hot_store.set_sentinel(P + 1)
        assert await hot_store.lost_partitions([P + 2, P + 1, P, P + 2]) == [P, P + 2]
        await hot_store.set_sentinel(P)
        assert await hot_store.sentinel_ok(P)
        assert await hot_store.lost_partitions([P + 1, P]) == []
        await hydrate(hot_store, "user-1", [], partition=P, now_ms=NOW_MS)
        await hot_store.append([hot(click("c1", NOW_MS), 5)], now_ms=NOW_MS)
        assert await hot_store.min_dirty_offsets([P, P + 1]) == {P: 5}
        await lose_everything()
        assert not await hot_store.sentinel_ok(P)
        assert not await hot_store.sentinel_ok(P + 1)
        assert await hot_store.lost_partitions([P, P + 1]) == [P, P + 1]
        with pytest.raises(HotDataLost):
            await hot_store.min_dirty_offsets([P])
        assert await hot_store.live_users(["user-1"]) == set()
        await hot_store.set_sentinel(P)  # recovered: replayed from the durable watermark
        assert await hot_store.min_dirty_offsets([P]) == {}

    async def test_expired_session_is_cleaned_and_counted(
        self, hot_store: HotStore, expire_user: Expire
    ) -> None:
        await hot_store.set_sentinel(P)
        for user in ("dirty", "clean"):
            await hydrate(hot_store, user, [], partition=P, now_ms=NOW_MS)
        await hot_store.append([hot(click("c1", NOW_MS, "dirty"), 5)], now_ms=NOW_MS)
        await expire_user("dirty")
        await expire_user("clean")
        assert await hot_store.live_users(["dirty", "clean"]) == set()
        assert await hot_store.min_dirty_offsets([P]) == {P: 5}  # still held
        due = await hot_store.sessions_to_flush(
            P, idle_before_ms=NOW_MS + 1, started_before_ms=0, limit=10
        )
        assert sorted(due) == ["clean", "dirty"]
        flushed = await hot_store.dirty(due)
        assert flushed == {"dirty": Dirty([], []), "clean": Dirty([], [])}
        assert await hot_store.release_flushed(P, flushed, evict=True) == {"dirty", "clean"}
        assert hot_store.vanished_sessions == 1
        assert await hot_store.sessions_of([P]) == {P: []}
        assert not await hot_store.sentinel_ok(P)  # unflushed interactions were lost
        with pytest.raises(HotDataLost):
            await hot_store.min_dirty_offsets([P])
