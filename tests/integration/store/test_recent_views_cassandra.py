"""The compact recent views on real Cassandra give the old path's hydration, and refresh to one
pack: generated histories (seeded, so a failure repeats), history older than the views, and a
partition with more packs than one read takes (its statements counted per table as Cassandra
counts them)."""

from __future__ import annotations

import random

from cassandra.cluster import Session

from store.cassandra_cold import CassandraColdStore
from store.cassandra_views import MAX_PACKS
from store.hot_codec import encode_row
from store.interactions import INTERACTION_KINDS, Interaction
from store.recent_views import HotMember, newest_first
from tests.store_contract import NOW_MS, RETENTION, FakeClock, click, order, wishlist

DAY_MS = 86_400_000
MAKERS = {"click": click, "order": order, "wishlist": wishlist}


def generated(rng: random.Random, now_ms: int, count: int) -> list[Interaction]:
    out = []
    for _ in range(count):
        kind = rng.choice(INTERACTION_KINDS)
        ts = now_ms - rng.randrange(-DAY_MS, 400 * DAY_MS, 60_000)
        out.append(MAKERS[kind](f"e{rng.randrange(40)}-{ts}", ts))
    return out


def by_kind(found: dict[str, list[HotMember]]) -> dict[str, list[HotMember]]:
    return {kind: sorted(of, key=newest_first) for kind, of in found.items()}


async def old_path(store: CassandraColdStore, limit: int) -> dict[str, list[HotMember]]:
    rows = await store.hydration_rows("user-1", limit=limit)
    return by_kind({k: [(r[3], encode_row(k, r)) for r in of] for k, of in rows.items()})


def packs(session: Session, keyspace: str) -> int:
    query = f"SELECT COUNT(*) FROM {keyspace}.recent_views WHERE user_id = 'user-1'"
    return int(session.execute(query).one()[0])


def coordinated(session: Session, keyspace: str, table: str) -> int:
    """Writes Cassandra coordinated for the table (a batch counts once)."""
    row = session.execute(
        "SELECT count FROM system_views.coordinator_write_latency"
        " WHERE keyspace_name = %s AND table_name = %s",
        (keyspace, table),
    ).one()
    return int(row[0]) if row is not None else 0


async def test_generated_histories_hydrate_as_the_old_path(
    cql_session: Session, keyspace: str
) -> None:
    clock = FakeClock()
    store = CassandraColdStore(cql_session, keyspace, RETENTION, concurrency=16, clock=clock)
    rng = random.Random(15)
    for round_ in range(12):
        await store.write_many(generated(rng, clock.now_ms, rng.randrange(0, 120)))
        limit = rng.choice((3, 10, 50))
        view = by_kind(await store.hydration_members("user-1", limit=limit))
        assert view == await old_path(store, limit), f"round {round_}, limit {limit}"
        await store.settle()
        assert packs(cql_session, keyspace) == 1
        clock.now_ms += rng.randrange(0, 60 * DAY_MS)  # time passes: rows expire
    await store.close()


async def test_history_older_than_the_views_is_read_from_rows_once(
    cql_session: Session, keyspace: str
) -> None:
    store = CassandraColdStore(
        cql_session, keyspace, RETENTION, views_complete=False, clock=FakeClock()
    )
    await store.write_many(generated(random.Random(7), NOW_MS, 300))
    cql_session.execute(f"TRUNCATE {keyspace}.recent_views")  # as if written before the views
    await store.write_many([click("late", NOW_MS - 1000)])  # a delta alone is not the truth
    expected = await old_path(store, 20)
    assert all(expected.values())  # every kind has history inside retention
    assert by_kind(await store.hydration_members("user-1", limit=20)) == expected
    await store.settle()
    assert packs(cql_session, keyspace) == 1  # the base, from the rows
    assert by_kind(await store.hydration_members("user-1", limit=20)) == expected
    assert by_kind(await store.hydration_members("user-1", limit=25)) == await old_path(store, 25)
    await store.close()


async def test_more_packs_than_one_read_takes(cql_session: Session, keyspace: str) -> None:
    store = CassandraColdStore(cql_session, keyspace, RETENTION, clock=FakeClock())
    for n in range(MAX_PACKS + 3):
        await store.write_many([order(f"o{n}", NOW_MS - n * 60_000)])
    assert packs(cql_session, keyspace) == MAX_PACKS + 3
    # One row and one delta each, counted apart, as Cassandra counts them per table
    # (`bench hydrate` checks the first against Cassandra's count).
    written = (store.statements_written, store.view_statements_written)
    assert written == (MAX_PACKS + 3, MAX_PACKS + 3)
    assert (coordinated(cql_session, keyspace, "interactions"), coordinated(
        cql_session, keyspace, "recent_views")) == written  # fmt: skip
    expected = await old_path(store, 50)
    assert by_kind(await store.hydration_members("user-1", limit=50)) == expected
    await store.settle()
    assert packs(cql_session, keyspace) == 4  # the base and the 3 packs it did not read
    assert by_kind(await store.hydration_members("user-1", limit=50)) == expected
    await store.settle()
    assert packs(cql_session, keyspace) == 1
    await store.close()
