"""Cold reads on real Cassandra fetch rows near the limit, not buckets x limit
(``store.bucket_walk``), and answer what the one-request read answered."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cassandra.cluster import Session

from store.bucket_walk import PROBE_ROWS
from store.buckets import DAY_MS
from store.cassandra_cold import CassandraColdStore
from store.interactions import Interaction
from tests.store_contract import NOW_MS, RETENTION, FakeClock, click, ids, order

WEEKS = 12
PER_WEEK = 250


@pytest.fixture
async def cold_store(cql_session: Session, keyspace: str) -> AsyncIterator[CassandraColdStore]:
    store = CassandraColdStore(cql_session, keyspace, RETENTION, concurrency=16, clock=FakeClock())
    yield store
    await store.close()


def history(user: str) -> list[Interaction]:
    """``PER_WEEK`` clicks in each of the last ``WEEKS`` weeks (a click bucket each) and an
    order a week: a long history, every bucket fuller than any limit read below."""
    clicks = [
        click(f"c-{w}-{n}", NOW_MS - w * 7 * DAY_MS - n * 1000, user_id=user)
        for w in range(WEEKS)
        for n in range(PER_WEEK)
    ]
    orders = [order(f"o-{w}", NOW_MS - w * 7 * DAY_MS - 5, user_id=user) for w in range(WEEKS)]
    return clicks + orders


def newest(items: list[Interaction], limit: int) -> list[str]:
    return ids(sorted(items, key=lambda i: (-i.ts_ms, i.event_id, i.kind))[:limit])


async def test_a_long_history_fetches_near_the_limit_not_buckets_times_it(
    cold_store: CassandraColdStore,
) -> None:
    written = history("heavy")
    await cold_store.write_many(written)
    clicks = [i for i in written if i.kind == "click"]

    before = cold_store.rows_fetched
    found = await cold_store.recent("heavy", kinds=("click",), limit=200)
    fetched = cold_store.rows_fetched - before
    assert ids(found) == newest(clicks, 200)
    # The one-request read fetched every bucket x limit: 12 x 200 = 2,400 rows here.
    assert fetched <= 200 + 14 * PROBE_ROWS

    before = cold_store.rows_fetched
    rows = await cold_store.hydration_rows("heavy", limit=300)
    fetched = cold_store.rows_fetched - before
    assert sorted(row[0] for row in rows["click"]) == sorted(newest(clicks, 300))
    assert sorted(row[0] for row in rows["order"]) == sorted(f"o-{w}" for w in range(WEEKS))
    assert rows["wishlist"] == []
    # Before: every kind x bucket x 300 (12 x 300 clicks + 12 orders = 3,612 rows).
    assert fetched <= 300 + 3 * 29 * PROBE_ROWS


async def test_a_sparse_or_empty_history_reads_every_row_it_has(
    cold_store: CassandraColdStore,
) -> None:
    sparse = [click(f"s-{w}", NOW_MS - w * 7 * DAY_MS, user_id="sparse") for w in range(13)]
    await cold_store.write_many(sparse)
    assert ids(await cold_store.recent("sparse", limit=100)) == newest(sparse, 100)
    assert ids(await cold_store.recent("sparse", limit=5)) == newest(sparse, 5)
    assert await cold_store.recent("nobody", limit=100) == []
    since = NOW_MS - 20 * DAY_MS
    assert ids(await cold_store.recent("sparse", limit=100, since_ms=since)) == newest(
        [i for i in sparse if i.ts_ms >= since], 100
    )
