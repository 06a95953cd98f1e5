"""``CassandraStateStore.save`` on the real Cassandra: a shard's rows go in one request (split
only past ``BATCH_BYTES``), every row lands once, a lone row is a plain write, and an older
version never replaces a newer one, whatever the batching."""

from __future__ import annotations

from typing import Any

from cassandra.cluster import Session

from store.cassandra_bind import Binder
from store.cassandra_feature_state import BATCH_BYTES, SAVE_CQL, CassandraStateStore
from store.feature_state import StateKey, StoredState


def rows(
    shard: str, count: int, version: int, size: int
) -> list[tuple[str, StateKey, StoredState]]:
    return [(shard, key(i), StoredState(version, bytes([i % 251]) * size)) for i in range(count)]


def key(i: int) -> StateKey:
    return StateKey("user_category", (f"u{i}", f"c{i % 7}"))


def by_key(found: list[tuple[StateKey, StoredState]]) -> dict[StateKey, StoredState]:
    return dict(found)


class Counting:
    """Counts the requests a session sends, through the driver's request listener."""

    def __init__(self, session: Session) -> None:
        self.requests = 0
        self.session = session

    def __enter__(self) -> Counting:
        self.session.add_request_init_listener(self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.remove_request_init_listener(self._count)

    def _count(self, response_future: Any) -> None:
        self.requests += 1


async def test_a_shard_goes_in_one_request_until_its_bound(
    cql_session: Session, keyspace: str
) -> None:
    store = CassandraStateStore(cql_session, keyspace)
    small = rows("u1", 600, 4, 80)  # ~84 KiB: one request, past the 50 KiB failure threshold
    # of a batch over several partitions (refused if Cassandra applied it to one partition)
    big = rows("u2", 700, 4, 500)  # ~390 KiB: two requests
    lone = rows("e3", 1, 4, 10)
    with Counting(cql_session) as counting:
        await store.save([*small, *big, *lone])
    assert BATCH_BYTES < 700 * (500 + 64)
    assert counting.requests == 1 + 2 + 1
    for shard, saved in (("u1", small), ("u2", big), ("e3", lone)):
        loaded = await store.load(shard)
        assert len(loaded) == len(saved)
        assert by_key(loaded) == {k: s for _, k, s in saved}


async def test_an_older_version_never_replaces_a_newer_one(
    cql_session: Session, keyspace: str
) -> None:
    store = CassandraStateStore(cql_session, keyspace)
    await store.save(rows("u1", 50, 7, 30))
    await store.save(rows("u1", 50, 5, 40))  # late, older: ignored row by row
    assert by_key(await store.load("u1")) == {k: s for _, k, s in rows("u1", 50, 7, 30)}
    sibling = store.for_generation(2)  # another generation's partition: its own rows
    await sibling.save(rows("u1", 3, 1, 5))
    assert len(await sibling.load("u1")) == 3
    assert len(await store.load("u1")) == 50


def test_the_save_statement_binds_the_drivers_bytes(cql_session: Session, keyspace: str) -> None:
    prepared = cql_session.prepare(SAVE_CQL.format(table=f"{keyspace}.feature_state"))
    binder = Binder(prepared)
    for values in (
        ("u3~g0", "user", "u1", 12, b"\x93\x01", 12),
        ("e0", "user_category", "üser\x1fc-ß", 2**62, b"", 2**62),
    ):
        ours, theirs = binder.bind(values), prepared.bind(values)
        assert ours.values == theirs.values
        assert ours.routing_key == theirs.routing_key
