"""Sessions in the worker on in-memory stores: routing, hydration, flushes, watermarks, recovery."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pytest

from core.settings import RetentionSettings, SessionSettings
from schemas.codec import default_codec, encode
from store.interactions import Interaction
from store.memory_cold import InMemoryColdStore
from store.memory_hot import InMemoryHotStore
from store.watermarks import InMemoryWatermarkStore
from streams.dead_letters import InMemoryDeadLetterSink
from streams.hot_recovery import HotRecovery
from streams.ingest import IngestPipeline, RetryPolicy
from streams.messages import RawMessage
from streams.metrics import WorkerMetrics
from streams.sessions import PartitionWatermarks, SessionRouter
from streams.tracker import InactivityTracker

NOW_MS = 1_750_000_000_000
IDLE_MS = 60_000
GROUP, TOPIC = "g", "events"


class Clock:
    def __init__(self) -> None:
        self.now = NOW_MS

    def __call__(self) -> int:
        return self.now


class ListReplayer:
    """Replays from a list of (partition, offset, interaction) instead of Kafka."""

    topic = TOPIC

    def __init__(self, cold: InMemoryColdStore) -> None:
        self.cold = cold
        self.log: list[tuple[int, int, Interaction]] = []

    async def replay(self, partition: int, from_offset: int) -> int:
        items = [i for p, o, i in self.log if p == partition and o >= from_offset]
        await self.cold.write_many(items)
        return len(items)


class World:
    """A worker's pipeline and session machinery over in-memory stores."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.cold = InMemoryColdStore(RetentionSettings(), clock=self.clock)
        self.hot = InMemoryHotStore(SessionSettings(), RetentionSettings(), clock=self.clock)
        self.marks = InMemoryWatermarkStore()
        metrics = WorkerMetrics()
        self.pipeline = IngestPipeline(
            default_codec(), self.cold, InMemoryDeadLetterSink(), metrics,
            retry=RetryPolicy(0.001, 0.002), clock_ms=self.clock,
        )  # fmt: skip
        self.watermarks = PartitionWatermarks(GROUP, TOPIC, self.marks)
        self.replayer = ListReplayer(self.cold)
        self.recovery = HotRecovery(self.hot, self.watermarks, self.replayer, metrics)
        self.pipeline.sessions = SessionRouter(
            self.hot, self.cold, self.watermarks, metrics,
            last_n=500, clock_ms=self.clock, write_cold=self.pipeline.write_until_done,
        )  # fmt: skip
        self.tracker = InactivityTracker(
            self.hot, self.pipeline.write_until_done, self.watermarks, self.recovery, metrics,
            idle_ms=IDLE_MS, max_session_ms=4 * 3_600_000, clock_ms=self.clock,
        )  # fmt: skip
        self.offsets = itertools.count()

    async def send(self, events: Sequence[tuple[str, dict[str, Any]]], partition: int = 0) -> None:
        messages = []
        for kind, record in events:
            offset = next(self.offsets)
            messages.append(RawMessage(TOPIC, partition, offset, b"u", encode(kind, record)))
            if kind != "app_open":
                self.replayer.log.append((partition, offset, Interaction.from_record(kind, record)))
        await self.recovery.ensure_intact({partition})
        await self.pipeline.process(messages)


def click(n: int, user: str = "u1") -> tuple[str, dict[str, Any]]:
    return "click", {
        "event_id": f"c{n}", "user_id": user, "ts": NOW_MS - 100_000 + n, "product_id": "p",
        "category_id": "c", "surface": "home", "position": n,
    }  # fmt: skip


def app_open(n: int, user: str = "u1") -> tuple[str, dict[str, Any]]:
    return "app_open", {"event_id": f"o{n}", "user_id": user, "ts": NOW_MS - 100_000 + n}


async def ids_in_cold(world: World, user: str = "u1") -> list[str]:
    return [i.event_id for i in await world.cold.recent(user, limit=1000, now_ms=NOW_MS)]


@pytest.fixture
def world() -> World:
    return World()


async def test_an_app_open_hydrates_and_later_clicks_stay_hot(world: World) -> None:
    await world.send([click(1), click(2), app_open(3), click(4), click(5)])
    assert await ids_in_cold(world) == ["c2", "c1"]  # before the app_open: straight to cold
    view = await world.hot.recent("u1", limit=100, now_ms=NOW_MS)
    assert [i.event_id for i in view or []] == ["c5", "c4", "c2", "c1"]  # hydrated + live
    assert world.marks.marks == {(GROUP, TOPIC, 0): 3}  # the first hot-only offset


async def test_the_idle_flush_writes_dirty_interactions_once_and_evicts(world: World) -> None:
    await world.send([app_open(1), click(2), click(3)])
    assert await ids_in_cold(world) == []
    assert await world.tracker.tick({0}) == 0  # not idle yet
    world.clock.now += IDLE_MS + 1
    assert await world.tracker.tick({0}) == 1
    assert await ids_in_cold(world) == ["c3", "c2"]
    assert await world.hot.live_users(["u1"]) == set()
    assert world.marks.marks == {}  # nothing hot-only any more


async def test_a_hand_over_flushes_dirty_data_and_keeps_the_session_live(world: World) -> None:
    await world.send([app_open(1), click(2), click(3)])
    await world.tracker.hand_over({0})
    assert await ids_in_cold(world) == ["c3", "c2"]
    assert await world.hot.live_users(["u1"]) == {"u1"}
    assert world.marks.marks == {}
    await world.send([click(4)])  # still live: goes hot again
    assert await ids_in_cold(world) == ["c3", "c2"]


async def test_lost_hot_data_is_replayed_from_the_watermark(world: World) -> None:
    await world.send([click(1), app_open(2), click(3), click(4)])
    world.hot.lose_everything()
    await world.send([click(5)])  # the next batch notices, recovers, then goes on
    assert await ids_in_cold(world) == ["c5", "c4", "c3", "c1"]
    assert await world.hot.live_users(["u1"]) == set()
    assert world.marks.marks == {}
