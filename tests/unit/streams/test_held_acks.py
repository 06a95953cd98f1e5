"""Held acknowledgements: batches are acked only after a durable flush that covers them, in the
order they were applied; a failed flush keeps them; bounded by count and age."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import pytest

from store.deferred_feature_state import DeferredStateStore
from store.feature_state import FeatureStateUnavailable, StateKey, StoredState
from streams.features.held_acks import HeldAcks
from tests.support.memory_feature_state import MemoryDurable

KEY = StateKey("user", ("a",))


class Stream:
    """Records the events acknowledged, as the hosts' acks do."""

    def __init__(self) -> None:
        self.acked: list[int] = []

    def batch(self, events: list[int]) -> tuple[Callable[[], Awaitable[None]], int]:
        """A batch's ack and its size (``HeldAcks.add``'s arguments)."""

        async def ack() -> None:
            self.acked.extend(events)

        return ack, len(events)


class Unreachable(MemoryDurable):
    down = True

    async def save(self, states: Sequence[tuple[str, StateKey, StoredState]]) -> None:
        if Unreachable.down:
            raise FeatureStateUnavailable("down")
        await super().save(states)


async def test_events_are_acked_in_order_only_once_their_states_are_durable() -> None:
    inner = MemoryDurable()
    durable = DeferredStateStore(inner)
    held = HeldAcks(durable, interval_s=60, max_events=100)
    stream = Stream()
    await durable.save([("u1", KEY, StoredState(1, b"s"))])
    await held.add(*stream.batch([1, 2]))
    await held.add(*stream.batch([3]))
    assert stream.acked == []
    assert inner.rows == {}
    assert held.count == 3
    assert await held.flush() == 3
    assert stream.acked == [1, 2, 3]
    assert inner.rows == {("u1", KEY): StoredState(1, b"s")}


async def test_the_bound_flushes_from_add() -> None:
    held = HeldAcks(DeferredStateStore(MemoryDurable()), interval_s=60, max_events=3)
    stream = Stream()
    await held.add(*stream.batch([1, 2]))
    assert stream.acked == []
    await held.add(*stream.batch([3]))
    assert stream.acked == [1, 2, 3]
    assert held.count == 0


async def test_a_failed_flush_keeps_the_events_for_the_next() -> None:
    Unreachable.down = True
    durable = DeferredStateStore(Unreachable())
    held = HeldAcks(durable, interval_s=60, max_events=100)
    stream = Stream()
    await durable.save([("u1", KEY, StoredState(1, b"s"))])
    await held.add(*stream.batch([1]))
    with pytest.raises(FeatureStateUnavailable):
        await held.flush()
    await held.add(*stream.batch([2]))
    assert stream.acked == []
    assert held.count == 2
    Unreachable.down = False
    await held.flush()
    assert stream.acked == [1, 2]


async def test_the_service_flushes_an_idle_stream_on_its_interval() -> None:
    held = HeldAcks(DeferredStateStore(MemoryDurable()), interval_s=0.05, max_events=100)
    stream = Stream()
    await held.start()
    try:
        await held.add(*stream.batch([1]))
        for _ in range(100):
            if stream.acked:
                break
            await asyncio.sleep(0.01)
        assert stream.acked == [1]
    finally:
        await held.stop()
