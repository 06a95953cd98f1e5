"""The hot-store contract on the in-memory store, and its failures on demand."""

from __future__ import annotations

import pytest

from store.hot import HotStoreUnavailable
from tests.hot_store_contract import SESSION, Expire, HotStoreContract, Lose, hydrate
from tests.store_contract import NOW_MS, RETENTION, FakeClock
from tests.support.memory_hot import InMemoryHotStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hot_store(clock: FakeClock) -> InMemoryHotStore:
    return InMemoryHotStore(SESSION, RETENTION, clock=clock)


@pytest.fixture
def lose_everything(hot_store: InMemoryHotStore) -> Lose:
    async def lose() -> None:
        hot_store.lose_everything()

    return lose


@pytest.fixture
def expire_user(hot_store: InMemoryHotStore) -> Expire:
    async def expire(user_id: str) -> None:
        hot_store.expire_user(user_id)

    return expire


class TestInMemoryHotStore(HotStoreContract):
    pass


async def test_unavailable_fails_reads_and_writes(hot_store: InMemoryHotStore) -> None:
    await hydrate(hot_store, "user-1", [], partition=0, now_ms=NOW_MS)
    hot_store.available = False
    with pytest.raises(HotStoreUnavailable):
        await hot_store.recent("user-1")
    with pytest.raises(HotStoreUnavailable):
        await hydrate(hot_store, "user-2", [], partition=0, now_ms=NOW_MS)
    hot_store.available = True
    assert await hot_store.recent("user-1") == []
