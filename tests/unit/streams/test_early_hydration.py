"""Early hydration on in-memory stores: an app_open hydrates as it is consumed, before its
batch, which then finds a live user; nothing is lost or doubled, failures fall back to the batch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest

from streams.early_rounds import ROUND_MAX
from streams.messages import RawMessage
from tests.unit.streams.world import IDLE_MS, NOW_MS, World, app_open, click, stage_count

Event = tuple[str, dict[str, Any]]


class Early:
    """A World whose messages are seen one by one (as the agent's processor sees them) before
    their batch is processed."""

    def __init__(self, behind: bool = False, forgotten: dict[str, int] | None = None) -> None:
        self.world = World(behind=behind, forgotten=forgotten)
        self.early = self.world.services.early
        self.lock = self.world.services.lock
        self.metrics = self.world.metrics

    def messages(
        self, events: Sequence[Event], *, consumed_s: float | None = None
    ) -> list[RawMessage]:
        return self.world.messages(events, key=None, consumed_s=consumed_s)

    def see(self, messages: Sequence[RawMessage]) -> None:
        for message in messages:
            self.early.seen(message)

    async def process(self, messages: Sequence[RawMessage]) -> None:
        await self.world.run(messages)

    async def view(self, user: str = "u1") -> list[str] | None:
        found = await self.world.hot.recent(user, limit=100, now_ms=NOW_MS)
        return None if found is None else [item.event_id for item in found]

    async def cold(self, user: str = "u1") -> list[str]:
        found = await self.world.cold.recent(user, limit=100, now_ms=NOW_MS)
        return [item.event_id for item in found]

    def count(self, outcome: str) -> float:
        return self.metrics.early_hydrations.labels(outcome)._value.get()  # type: ignore[no-any-return]


@pytest.fixture
def e() -> Early:
    return Early()


async def test_the_app_open_hydrates_before_its_batch_with_what_is_in_flight(e: Early) -> None:
    await e.process(e.messages([click(0)]))  # an earlier batch: in cold
    batch = e.messages([click(1), app_open(2), click(3), click(4, "u2")])
    e.see(batch)
    await e.early.wait()
    assert await e.view() == ["c1", "c0"]  # live before its batch: cold + in flight (c1)
    assert await e.cold() == ["c0"]
    await e.process(batch)
    assert await e.view() == ["c3", "c1", "c0"]
    assert e.count("hydrated") == 1
    assert e.metrics.hydrations._value.get() == 1  # the batch did not hydrate again
    e.world.clock.now += IDLE_MS + 1
    await e.world.tracker.tick({0})
    assert await e.cold() == ["c3", "c1", "c0"]  # each once, c1 and c3 by the flush
    assert await e.cold("u2") == ["c4"]
    assert e.world.marks.marks == {}


async def test_a_live_users_app_open_only_refreshes(e: Early) -> None:
    first = e.messages([app_open(1), click(2)])
    await e.process(first)
    e.see(first)  # seen after its batch (a redelivery, say): the user is live by then
    await e.early.wait()
    again = e.messages([app_open(3), click(4)])
    e.see(again)
    await e.early.wait()
    await e.process(again)
    assert e.count("live") == 2
    assert e.count("hydrated") == 0
    assert await e.view() == ["c4", "c2"]


async def test_an_invalid_app_open_starts_nothing(e: Early) -> None:
    kind, record = app_open(1)
    bad = e.messages([(kind, {**record, "ts": 1})])  # before 2000: dead-lettered by its batch
    e.see(bad)
    await e.early.wait()
    assert await e.view() is None
    await e.process(bad)
    assert await e.view() is None
    assert e.count("hydrated") + e.count("live") + e.count("failed") == 0


async def test_a_failed_early_hydration_is_left_to_the_batch(e: Early) -> None:
    batch = e.messages([click(1), app_open(2), click(3)])
    e.world.hot.available = False
    e.see(batch)
    await e.early.wait()
    assert e.count("failed") == 1
    e.world.hot.available = True
    await e.process(batch)
    assert await e.view() == ["c3", "c1"]
    assert await e.cold() == ["c1"]  # the batch path: before the app_open, straight to cold


async def test_hydration_is_timed_from_consumption(e: Early) -> None:
    batch = e.messages([app_open(1)], consumed_s=time.monotonic() - 0.5)
    e.see(batch)
    await e.early.wait()
    assert e.metrics.hydration_seconds._sum.get() >= 0.5
    assert e.metrics.hydration_work_seconds._sum.get() < 0.5


async def test_a_rebalance_forgets_the_partitions_taken_away(e: Early) -> None:
    async with e.lock:  # a batch is running: the early hydration waits
        e.see(e.messages([click(1), app_open(2)]))
        e.early.forget({0})
    await e.early.wait()
    assert await e.view() is None
    assert e.early.unhandled() == []
    assert e.count("hydrated") + e.count("live") + e.count("failed") == 0


async def test_behind_a_backlog_the_app_open_still_hydrates_before_its_batches() -> None:
    e = Early(behind=True)
    backlog = [
        e.messages([click(n, "u2") for n in range(100, 150)] + [click(1)]),
        e.messages([click(n, "u3") for n in range(200, 250)] + [click(2)]),
        e.messages([click(3), app_open(4), click(5)]),
    ]
    for batch in backlog:
        e.see(batch)
    await e.early.wait()  # not one batch of the backlog has run
    assert await e.view() == ["c3", "c2", "c1"]  # live, with everything consumed before it
    assert e.count("behind") == 1
    assert e.count("hydrated") == 1
    for batch in backlog:
        await e.process(batch)
    assert await e.view() == ["c5", "c3", "c2", "c1"]
    assert await e.cold() == []  # the user was live when their batches ran: dirty, not cold
    e.world.clock.now += IDLE_MS + 1
    await e.world.tracker.tick({0})
    assert await e.cold() == ["c5", "c3", "c2", "c1"]  # each once


async def test_a_cold_write_that_finishes_after_the_early_read_started_is_read_again(
    e: Early,
) -> None:
    """The read runs outside the worker lock: a session flush that writes the user's
    interactions to cold after it (before the round) must not be missed."""
    await e.process(e.messages([click(0)]))  # in cold
    first = e.messages([app_open(1), click(2)])
    e.see(first)
    await e.early.wait()
    await e.process(first)  # live, c2 dirty (hot only)
    e.world.clock.now += IDLE_MS + 1  # the session is idle now
    async with e.lock:  # a batch runs: the new app_open queues and its read starts
        e.see(e.messages([app_open(3)]))
        for _ in range(5):
            await asyncio.sleep(0)  # the early read (in memory) is done: c0 only
        await e.world.tracker.tick({0})  # the session ends: c2 to cold, u1 not live
        assert await e.view() is None
    await e.early.wait()
    assert await e.view() == ["c2", "c0"]  # read again under the lock, c2 not missed
    assert e.count("hydrated") == 2


async def test_a_round_takes_at_most_round_max_app_opens_then_the_next_batch_may_run() -> None:
    e = Early()
    users = [f"user{n}" for n in range(ROUND_MAX + 6)]
    async with e.lock:  # a batch runs meanwhile: every app_open queues
        e.see(e.messages([app_open(n, user) for n, user in enumerate(users)]))
    await e.early.wait()
    assert e.count("hydrated") == len(users)
    # a round takes those whose reads are done, <= 64
    assert stage_count(e.metrics, "hydration_read") >= 2


async def test_a_round_is_bounded_by_the_members_it_writes_and_a_waiting_batch_goes_next() -> None:
    """Users of 3 members each, rounds of at most 6 members: 2 users a round. A batch step that
    waits for the lock runs after the round holding it, before the next round."""
    e = Early()
    users = [f"user{n}" for n in range(6)]
    await e.process(
        e.messages([click(10 * n + k, u) for n, u in enumerate(users) for k in range(3)])
    )
    e.early.round_members = 6
    hydrated_when_the_batch_ran: list[float] = []

    async def batch_step() -> None:
        async with e.lock:
            hydrated_when_the_batch_ran.append(e.count("hydrated"))

    async with e.lock:  # a batch step runs: every app_open queues, the reads finish
        e.see(e.messages([app_open(n, user) for n, user in enumerate(users)]))
        for _ in range(10):
            await asyncio.sleep(0)  # the round waits for the lock, its reads done
        assert all(e.early.reads.size(user) == 3 for user in users)
        step = asyncio.create_task(batch_step())  # the next batch step waits behind the round
        await asyncio.sleep(0)
    await step
    assert hydrated_when_the_batch_ran == [2]  # one round of 2 users (6 members), not all 6
    await e.early.wait()
    assert e.count("hydrated") == len(users)
    assert stage_count(e.metrics, "round") == 3
    assert await e.view("user5") == ["c52", "c51", "c50"]


async def test_a_forgotten_users_old_app_open_hydrates_nothing() -> None:
    e = Early(forgotten={"u1": NOW_MS})  # everything of u1 here is older than its tombstone
    batch = e.messages([click(1), app_open(2), click(3), click(4, "u2")])
    e.see(batch)
    await e.early.wait()
    await e.process(batch)
    assert await e.view() is None  # never live
    assert await e.cold() == []
    assert await e.cold("u2") == ["c4"]
