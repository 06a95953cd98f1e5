"""The router's logic under a full hot tier (in-memory stores; the real Redis OOM is in
tests/integration/worker/test_worker_redis_faults.py): a batch whose appends, hydrations and
last-seen refreshes are refused goes through, its live users' interactions written through to
the cold tier, and nothing is lost or doubled once the session is flushed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from store.hot import HotStoreFull
from tests.support.memory_hot import InMemoryHotStore
from tests.unit.streams.world import IDLE_MS, NOW_MS, World, app_open, click


class FullHotStore(InMemoryHotStore):
    """Refuses every write that needs memory while ``full`` is set (as Redis under OOM)."""

    full = False

    async def append(self, items: Sequence[Any], now_ms: int) -> list[Any]:
        if self.full:
            raise HotStoreFull("OOM command not allowed")
        return await super().append(items, now_ms)

    async def touch(self, users: Mapping[int, Iterable[str]], *, now_ms: int) -> set[str]:
        if self.full:
            raise HotStoreFull("OOM command not allowed")
        return await super().touch(users, now_ms=now_ms)


async def test_a_full_hot_tier_writes_live_users_through_to_cold_and_loses_nothing() -> None:
    world = World(hot=FullHotStore)
    hot = world.hot
    assert isinstance(hot, FullHotStore)
    await world.send([app_open(0), click(1)])  # u1 live, c1 in its session
    hot.full = True
    await world.send([click(2), app_open(3), click(4)])  # refused appends and refresh
    assert world.acked[-3:] == [2, 3, 4]  # the batch went through
    cold = [i.event_id for i in await world.cold.recent("u1", limit=100, now_ms=NOW_MS)]
    assert sorted(cold) == ["c2", "c4"]  # written through
    assert world.metrics.write_through._value.get() == 2
    hot.full = False
    world.clock.now += IDLE_MS + 1
    await world.tracker.tick({0})
    cold = [i.event_id for i in await world.cold.recent("u1", limit=100, now_ms=world.clock.now)]
    assert sorted(cold) == ["c1", "c2", "c4"]  # each once


async def test_a_session_past_the_dirty_bound_is_flushed_early_and_stays_live() -> None:
    world = World()  # max_dirty_items: the default, 5,000
    await world.send([app_open(0)])
    await world.send([click(n) for n in range(1, 5001)])
    flushes = world.metrics.flushes.labels("dirty_bound")._value.get()
    assert flushes == 1
    cold = await world.cold.recent("u1", limit=1000, now_ms=NOW_MS)
    assert len(cold) == 1000  # flushed long before the session idles
    assert await world.hot.live_users(["u1"]) == {"u1"}
    assert (await world.hot.dirty(["u1"]))["u1"].interactions == []
