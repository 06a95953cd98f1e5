"""The deferred durable copy: newest version per entity, written on flush, kept on failure,
flushed before a load; generations share the buffer."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from store.deferred_feature_state import DeferredStateStore
from store.feature_state import FeatureStateUnavailable, StateKey, StoredState
from tests.support.memory_feature_state import MemoryDurable

A = StateKey("user", ("a",))
B = StateKey("product", ("p",))


class Failing(MemoryDurable):
    """Refuses the next ``failures`` saves, like an unreachable Cassandra."""

    failures = 0
    saves = 0

    def for_generation(self, generation: int) -> Failing:
        sibling = Failing(generation, self)
        sibling.failures = self.failures
        return sibling

    async def save(self, states: Sequence[tuple[str, StateKey, StoredState]]) -> None:
        if self.failures:
            self.failures -= 1
            raise FeatureStateUnavailable("down")
        Failing.saves += 1
        await super().save(states)


async def test_rows_are_held_until_flush_and_only_the_newest_version_is_written() -> None:
    inner = MemoryDurable()
    store = DeferredStateStore(inner)
    await store.save([("u1", A, StoredState(1, b"a1")), ("e2", B, StoredState(1, b"b1"))])
    await store.save([("u1", A, StoredState(2, b"a2"))])
    assert inner.rows == {}
    assert store.held == 2
    assert await store.flush() == 2
    assert inner.rows == {("u1", A): StoredState(2, b"a2"), ("e2", B): StoredState(1, b"b1")}
    assert store.held == 0
    assert await store.flush() == 0


async def test_a_failed_flush_keeps_its_rows_and_a_newer_save_wins() -> None:
    inner = Failing()
    inner.failures = 1
    store = DeferredStateStore(inner)
    await store.save([("u1", A, StoredState(1, b"a1"))])
    with pytest.raises(FeatureStateUnavailable):
        await store.flush()
    assert store.held == 1
    await store.save([("u1", A, StoredState(2, b"a2"))])
    await store.flush()
    assert inner.rows == {("u1", A): StoredState(2, b"a2")}


async def test_loads_see_the_held_rows_and_generations_share_one_buffer() -> None:
    inner = MemoryDurable()
    store = DeferredStateStore(inner)
    await store.for_generation(3).save([("u1", A, StoredState(5, b"g3"))])
    await store.save([("u1", A, StoredState(1, b"g0"))])
    assert store.held == 2
    assert await store.for_generation(3).load("u1") == [(A, StoredState(5, b"g3"))]
    assert store.held == 0
    assert await store.load("u1") == [(A, StoredState(1, b"g0"))]
    assert inner.rows[("u1~g3", A)] == StoredState(5, b"g3")
