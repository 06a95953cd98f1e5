"""A batch's cold write runs without the worker lock (``streams.batch_runner``, step 4): an
early hydration round that comes meanwhile does not wait for it, the views stay complete, and a
flush meanwhile is counted as a flush, not as the batch's direct write."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from core.settings import RetentionSettings
from deploy.scrape import metric_value
from store.interactions import Interaction
from tests.support.memory_cold import InMemoryColdStore
from tests.unit.streams.world import IDLE_MS, NOW_MS, World, app_open, click


class GatedCold(InMemoryColdStore):
    """A cold tier whose writes wait for ``gate`` once ``closed`` (a slow Cassandra)."""

    def __init__(self, retention: RetentionSettings) -> None:
        super().__init__(retention, clock=lambda: NOW_MS)
        self.closed = False
        self.gate = asyncio.Event()
        self.writing = asyncio.Event()

    async def write_many(self, interactions: Sequence[Interaction]) -> int:
        if self.closed:
            self.writing.set()
            await self.gate.wait()
        return await super().write_many(interactions)


def gated_world() -> tuple[World, GatedCold]:
    cold = GatedCold(RetentionSettings())
    return World(cold=cold), cold


async def view(world: World, user: str = "u1") -> list[str] | None:
    found = await world.hot.recent(user, limit=100, now_ms=NOW_MS)
    return None if found is None else [item.event_id for item in found]


async def test_a_round_hydrates_while_a_batch_writes_to_cold_with_its_in_flight_rows() -> None:
    world, cold = gated_world()
    early = world.services.early
    batch = world.messages([click(1), click(2, "u2")], key=None)
    later = world.messages([click(3), app_open(4)], key=None)  # the next batch's
    for message in batch:
        early.seen(message)
    cold.closed = True
    running = asyncio.create_task(world.run(batch))
    await cold.writing.wait()  # the batch is in its cold write, holding no lock
    for message in later:
        early.seen(message)
    await asyncio.wait_for(early.wait(), 5)  # the round did not wait for the write
    assert await view(world) == ["c3", "c1"]  # c1 is in no tier yet: in flight
    assert not running.done()
    cold.gate.set()
    await running
    await world.run(later)
    assert await view(world) == ["c3", "c1"]
    assert [i.event_id for i in await cold.recent("u1", limit=10, now_ms=NOW_MS)] == ["c1"]
    assert world.acked == [0, 1, 2, 3]


async def test_an_app_open_in_the_writing_batch_hydrated_by_a_round_meanwhile_stays_whole() -> None:
    world, cold = gated_world()
    early = world.services.early
    batch = world.messages([click(1), app_open(2), click(3)], key=None)
    cold.closed = True
    running = asyncio.create_task(world.run(batch))  # routed unseen: c1 to cold, u1 hydrates
    await cold.writing.wait()
    for message in batch:  # the round comes during the write
        early.seen(message)
    await asyncio.wait_for(early.wait(), 5)
    assert await view(world) == ["c1"]
    cold.gate.set()
    await running  # hydrates u1 again (merged), appends c3
    assert await view(world) == ["c3", "c1"]
    dirty = await world.hot.dirty(["u1"])
    assert [i.event_id for i in dirty["u1"].interactions] == ["c3"]


class CountingCold(GatedCold):
    """Sends one statement per interaction (as a Cassandra store would count them); while
    ``closed``, only ``gated_user``'s writes wait for the gate."""

    gated_user = "u2"

    async def write_many(self, interactions: Sequence[Interaction]) -> int:
        if self.closed and any(i.user_id == self.gated_user for i in interactions):
            self.writing.set()
            await self.gate.wait()
        await InMemoryColdStore.write_many(self, interactions)
        self.statements_written += len(interactions)
        return len(interactions)


async def test_a_flush_during_a_batch_cold_write_is_not_counted_as_the_batch_direct_write() -> None:
    cold = CountingCold(RetentionSettings())
    world = World(cold=cold)
    await world.send([app_open(1), click(2), click(3)])  # u1 live, two dirty clicks
    cold.closed = True
    running = asyncio.create_task(world.run(world.messages([click(4, "u2")], key=None)))
    await cold.writing.wait()  # u2's direct write waits, holding no lock
    world.clock.now += IDLE_MS + 1
    assert await world.tracker.tick({0}) == 1  # u1's session flushed meanwhile: 2 statements
    cold.gate.set()
    await running
    text = world.pipeline.metrics.exposition().decode()
    name = "interstore_cold_write_statements_total"
    assert metric_value(text, name, path="direct") == 1
    assert metric_value(text, name, path="flush") == 2
