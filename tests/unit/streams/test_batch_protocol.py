"""The worker's batch protocol (``BatchRunner``) and rebalance hand-over, through the worker's
own factory on in-memory stores: lock, hot tier intact, process, mark handled, then ack; what
happens when each step fails."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from core.retry import RetryPolicy
from core.settings import RetentionSettings
from store.errors import ColdStoreUnavailable
from store.hot import HotStoreUnavailable, Item
from store.interactions import ColdRow
from streams.dead_letters import DeadLetter, DeadLetterSink
from streams.messages import RawMessage
from tests.support.memory_cold import InMemoryColdStore
from tests.support.memory_hot import InMemoryHotStore
from tests.unit.streams.world import (
    IDLE_MS,
    NOW_MS,
    TOPIC,
    World,
    app_open,
    click,
    ids_in_cold,
)


class AppendFailsOnce(InMemoryHotStore):
    """Redis going away in the middle of a batch: after the batch's recovery check passed."""

    failures = 1

    async def append(self, items: Sequence[Item], now_ms: int) -> list[Item]:
        if self.failures:
            self.failures -= 1
            raise HotStoreUnavailable("append: unavailable on demand")
        return await super().append(items, now_ms)


class HydrationReadFailsOnce(InMemoryColdStore):
    """Cassandra timing out on a hydration's read (after the batch's direct writes)."""

    failures = 1

    async def hydration_rows(
        self, user_id: str, *, limit: int, now_ms: int | None = None
    ) -> dict[str, list[ColdRow]]:
        if self.failures:
            self.failures -= 1
            raise ColdStoreUnavailable("hydration read: unavailable on demand")
        return await super().hydration_rows(user_id, limit=limit, now_ms=now_ms)


class BrokenSink(DeadLetterSink):
    """A dead-letter topic that refuses for good (not a store outage: nothing retries it)."""

    async def send_many(self, letters: Sequence[DeadLetter]) -> None:
        raise RuntimeError("dead-letter topic refused the batch")


async def wait_a_little() -> None:
    await asyncio.sleep(0.02)  # many retry delays of the test settings (1-2 ms)


@pytest.fixture
def world() -> World:
    return World()


async def test_the_ack_comes_after_the_batch_is_written_and_marked_handled(world: World) -> None:
    batch = world.messages([click(1), click(2)], key=None)
    for message in batch:
        world.services.early.seen(message)
    seen_at_ack: list[object] = []

    async def ack() -> None:
        seen_at_ack.append(await ids_in_cold(world))
        seen_at_ack.append(world.services.early.unhandled())
        seen_at_ack.append(world.services.lock.locked())

    await world.services.batches.run(batch, ack)
    assert seen_at_ack == [["c2", "c1"], [], False]  # written, handled, lock released


async def test_a_batch_waits_for_the_worker_lock(world: World) -> None:
    async with world.services.lock:  # a tracker tick or a hand-over is running
        running = asyncio.create_task(world.send([click(1)]))
        await wait_a_little()
        assert await ids_in_cold(world) == []
        assert world.acked == []
    await running
    assert await ids_in_cold(world) == ["c1"]
    assert world.acked == [0]


async def test_an_unavailable_hot_tier_holds_the_batch_unacked_until_it_is_back(
    world: World,
) -> None:
    world.hot.available = False  # the recovery check (step 2) fails: nothing is processed
    running = asyncio.create_task(world.send([click(1), app_open(2), click(3)]))
    await wait_a_little()
    assert world.acked == []
    assert await ids_in_cold(world) == []
    assert not world.services.lock.locked()  # the lock is free between attempts
    world.hot.available = True
    await running
    assert world.acked == [0, 1, 2]
    assert await ids_in_cold(world) == ["c1"]
    assert [i.event_id for i in await world.hot.recent("u1", now_ms=world.clock()) or []] == [
        "c3",
        "c1",
    ]


async def test_a_hot_tier_outage_mid_batch_reruns_the_whole_batch_without_doubles() -> None:
    world = World(hot=AppendFailsOnce)
    await world.send([app_open(1)])
    await world.send([click(2), click(3)])  # the append fails once, then the batch reruns
    assert world.acked == [0, 1, 2]
    dirty = await world.hot.dirty(["u1"])
    assert [i.event_id for i in dirty["u1"].interactions] == ["c2", "c3"]  # each once
    assert world.marks.marks == {("g", "events", 0): 1}


async def test_a_cold_read_that_fails_reruns_the_batch_and_its_cold_writes_are_idempotent() -> None:
    world = World(cold=HydrationReadFailsOnce(RetentionSettings(), clock=lambda: NOW_MS))
    await world.send([click(1), app_open(2)])  # c1 is written, the hydration's read fails
    assert world.acked == [0, 1]  # once, after the rerun
    assert await ids_in_cold(world) == ["c1"]
    assert world.cold.row_count() == 1  # the rerun rewrote the same row
    assert await world.hot.live_users(["u1"]) == {"u1"}


async def test_a_failure_retrying_cannot_fix_acks_nothing_and_leaves_the_batch_in_flight() -> None:
    world = World(dead_letters=BrokenSink())
    batch = [*world.messages([click(1)]), RawMessage(TOPIC, 0, 1, b"u1", b"garbage")]
    for message in batch:
        world.services.early.seen(message)
    with pytest.raises(RuntimeError, match="refused"):
        await world.run(batch)
    assert world.acked == []  # the worker stops; the next start resumes from the last commit
    assert world.services.early.unhandled() == [(0, 0), (0, 1)]  # not marked handled
    assert not world.services.lock.locked()


async def test_a_rebalance_hands_over_dirty_sessions_and_forgets_what_was_seen(
    world: World,
) -> None:
    await world.send([app_open(1), click(2)])
    world.services.early.seen(world.messages([click(3)], key=None)[0])
    await world.services.rebalance.revoked({0})
    assert await ids_in_cold(world) == ["c2"]  # flushed: nothing of it is at risk
    assert await world.hot.live_users(["u1"]) == {"u1"}  # and still live for the next owner
    assert world.services.early.unhandled() == []
    assert world.marks.marks == {}


async def test_a_rebalance_of_other_topics_partitions_does_nothing(world: World) -> None:
    await world.send([app_open(1), click(2)])
    await world.services.rebalance.revoked([])
    assert await ids_in_cold(world) == []


async def test_assigned_partitions_reload_their_watermarks(world: World) -> None:
    await world.marks.save("g", "events", 5, 42)  # another worker saved it
    await world.services.rebalance.assigned()
    assert world.services.watermarks.saved == {5: 42}


async def test_a_tracker_tick_with_a_store_down_is_skipped(world: World) -> None:
    await world.send([app_open(1), click(2)])
    world.clock.now += IDLE_MS + 1
    world.cold.available = False
    world.hot.available = False
    await world.services.tick({0})  # logged and skipped: the next tick retries
    world.hot.available = True
    world.cold.available = True
    await world.services.tick({0})
    assert await ids_in_cold(world) == ["c2"]
    assert await world.hot.live_users(["u1"]) == set()


async def test_the_retry_policy_backs_off_to_its_cap() -> None:
    delays = RetryPolicy(0.5, 3.0).delays()
    assert [next(delays) for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    attempts = []

    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ColdStoreUnavailable("down")
        return "done"

    tiny = RetryPolicy(0.001, 0.001)
    assert await tiny.until_done(flaky, retry_on=(ColdStoreUnavailable,), on_retry=print) == "done"
    assert len(attempts) == 3
    with pytest.raises(ValueError, match="no"):
        await tiny.until_done(_fails, retry_on=(ColdStoreUnavailable,), on_retry=print)


async def test_bounded_attempts_raise_the_last_error() -> None:
    attempts: list[str] = []
    retried: list[float] = []

    async def down() -> None:
        attempts.append("tried")
        raise ColdStoreUnavailable(f"down {len(attempts)}")

    tiny = RetryPolicy(0.001, 0.001)
    with pytest.raises(ColdStoreUnavailable, match="down 3"):
        await tiny.until_done(
            down, retry_on=(ColdStoreUnavailable,), on_retry=lambda _, d: retried.append(d),
            attempts=3,
        )  # fmt: skip
    assert len(attempts) == 3
    assert len(retried) == 2


async def _fails() -> None:
    raise ValueError("no retry for this")
