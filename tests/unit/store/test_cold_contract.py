"""The cold-store contract on the in-memory store, and its failures on demand."""

from __future__ import annotations

import pytest

from store.errors import ColdStoreError, ColdStoreUnavailable
from tests.store_contract import NOW_MS, RETENTION, ColdStoreContract, FakeClock, click, ids
from tests.support.memory_cold import InMemoryColdStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cold_store(clock: FakeClock) -> InMemoryColdStore:
    return InMemoryColdStore(RETENTION, clock=clock)


class TestInMemoryColdStore(ColdStoreContract):
    pass


async def test_unavailable_fails_reads_and_writes(cold_store: InMemoryColdStore) -> None:
    await cold_store.write_many([click("c1", NOW_MS)])
    cold_store.available = False
    with pytest.raises(ColdStoreUnavailable):
        await cold_store.write_many([click("c2", NOW_MS)])
    with pytest.raises(ColdStoreUnavailable, match="user-1"):
        await cold_store.recent("user-1")
    cold_store.available = True
    assert ids(await cold_store.recent("user-1")) == ["c1"]


async def test_fail_next_counts_calls(cold_store: InMemoryColdStore) -> None:
    cold_store.fail_next(2)
    for _ in range(2):
        with pytest.raises(ColdStoreUnavailable):
            await cold_store.recent("user-1")
    assert await cold_store.recent("user-1") == []


async def test_partial_write_then_retry_leaves_no_duplicates(
    cold_store: InMemoryColdStore,
) -> None:
    batch = [click(f"c{i}", NOW_MS - i) for i in range(5)]
    cold_store.fail_next(1, after_rows=3)
    with pytest.raises(ColdStoreUnavailable, match="after 3 rows"):
        await cold_store.write_many(batch)
    assert cold_store.row_count() == 3
    await cold_store.write_many(batch)
    assert cold_store.row_count() == 5
    assert ids(await cold_store.recent("user-1")) == ids(batch)


async def test_closed_store_refuses(cold_store: InMemoryColdStore) -> None:
    await cold_store.close()
    with pytest.raises(ColdStoreError, match="closed"):
        await cold_store.recent("user-1")
    with pytest.raises(ColdStoreError, match="closed"):
        await cold_store.write_many([])


async def test_limit_out_of_range(cold_store: InMemoryColdStore) -> None:
    with pytest.raises(ValueError, match="limit"):
        await cold_store.recent("user-1", limit=-1)
    with pytest.raises(ValueError, match="not the string"):
        await cold_store.recent("user-1", kinds="click")
