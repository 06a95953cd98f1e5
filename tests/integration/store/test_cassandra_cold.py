"""The cold-store contract on real Cassandra, plus what only a real backend can show."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from cassandra.cluster import Session

from core.settings import Settings
from store.buckets import DAY_MS, bucket_of
from store.cassandra_cold import CassandraColdStore
from store.cassandra_session import open_session
from store.errors import ColdReadError, ColdStoreUnavailable, ColdWriteError
from tests.store_contract import (
    NOW_MS,
    RETENTION,
    ColdStoreContract,
    FakeClock,
    click,
    ids,
    order,
    wishlist,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def cold_store(
    cql_session: Session, keyspace: str, clock: FakeClock
) -> AsyncIterator[CassandraColdStore]:
    store = CassandraColdStore(cql_session, keyspace, RETENTION, concurrency=16, clock=clock)
    yield store
    await store.close()


class TestCassandraColdStore(ColdStoreContract):
    pass


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


async def test_unreachable_cassandra_raises_instead_of_empty(
    settings: Settings, keyspace: str, clock: FakeClock
) -> None:
    session = open_session(settings.cassandra)  # its own cluster: the shared one stays up
    store = CassandraColdStore(session, keyspace, RETENTION, clock=clock)
    await store.write_many([click("c1", NOW_MS)])
    assert ids(await store.recent("user-1")) == ["c1"]
    session.cluster.shutdown()
    with pytest.raises(ColdStoreUnavailable, match=r"read of recent .* of user 'user-1'"):
        await store.recent("user-1")
    with pytest.raises(ColdStoreUnavailable, match=r"first event 'c2' of user 'user-1'"):
        await store.write_many([click("c2", NOW_MS)])


async def test_bucket_boundaries_read_back_in_order(
    cold_store: CassandraColdStore, cql_session: Session, keyspace: str, clock: FakeClock
) -> None:
    jan_1 = ms(2026, 1, 1)  # day 20454: starts a 7-day bucket
    clock.now_ms = jan_1 + 12 * 3_600_000
    written = [
        click("new-year", jan_1),
        click("old-year", jan_1 - 1),
        order("o-new-year", jan_1 + 1),
        order("o-old-year", jan_1 - 28 * DAY_MS),  # the previous 28-day order bucket
        wishlist("w-a-week-ago", jan_1 - 7 * DAY_MS),
    ]
    await cold_store.write_many(written)
    found = await cold_store.recent("user-1")
    assert ids(found) == ["o-new-year", "new-year", "old-year", "w-a-week-ago", "o-old-year"]
    rows = cql_session.execute(f"SELECT bucket, event_id FROM {keyspace}.interactions")
    buckets = {row.event_id: row.bucket for row in rows}
    assert buckets["new-year"] == buckets["old-year"] + 1 == bucket_of(jan_1)
    assert buckets["o-new-year"] == buckets["o-old-year"] + 1 == bucket_of(jan_1, 28)


async def test_ttl_is_what_is_left_of_retention(
    cold_store: CassandraColdStore, cql_session: Session, keyspace: str
) -> None:
    await cold_store.write_many(
        [click("c1", NOW_MS - 89 * DAY_MS), order("o1", NOW_MS - 89 * DAY_MS)]
    )
    rows = cql_session.execute(
        f"SELECT event_id, TTL(product_id) AS ttl, TTL(price) AS price_ttl "
        f"FROM {keyspace}.interactions"
    )
    ttls = {row.event_id: (row.ttl, row.price_ttl) for row in rows}
    assert set(ttls) == {"c1", "o1"}
    assert 86_400 - 60 < ttls["c1"][0] <= 86_400
    assert ttls["c1"][1] is None  # no value for another kind's column
    assert 276 * 86_400 - 60 < ttls["o1"][0] <= 276 * 86_400


async def test_an_invalid_value_fails_the_batch_before_anything_is_sent(
    cold_store: CassandraColdStore,
) -> None:
    bad = click("c-bad", NOW_MS, position="third")
    with pytest.raises(ColdWriteError, match="event 'c-bad' of user 'user-1' cannot be written"):
        await cold_store.write_many([click("c1", NOW_MS), bad])
    assert await cold_store.recent("user-1") == []


async def test_a_refused_statement_is_not_reported_as_unavailable(
    cql_session: Session, keyspace: str, clock: FakeClock
) -> None:
    store = CassandraColdStore(cql_session, keyspace, RETENTION, clock=clock)
    cql_session.execute(f"DROP TABLE {keyspace}.interactions", timeout=60)
    with pytest.raises(ColdReadError, match="user-1"):
        await store.recent("user-1")
    with pytest.raises(ColdWriteError, match="first event 'c1'"):
        await store.write_many([click("c1", NOW_MS)])
