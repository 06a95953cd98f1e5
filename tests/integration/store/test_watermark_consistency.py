"""Hot-tier watermarks are read and written at the interactions' consistency (LOCAL_QUORUM by
default, configurable with it), not the driver's default LOCAL_ONE: with RF >= 3 a recovery
could read a stale watermark, skip its replay and lose hot-only events."""

from __future__ import annotations

from cassandra import ConsistencyLevel
from cassandra.cluster import Session
from cassandra.query import SimpleStatement

from core.settings import CassandraSettings
from store.watermarks import CassandraWatermarkStore


async def test_watermarks_are_read_and_written_at_local_quorum(
    cql_session: Session, keyspace: str
) -> None:
    store = CassandraWatermarkStore(cql_session, keyspace)
    await store.save("g", "t", 3, 42)
    assert await store.load("g", "t") == {3: 42}
    levels = {s.consistency_level for s in (store._select, store._upsert)}
    assert levels == {ConsistencyLevel.LOCAL_QUORUM}  # before: None (LOCAL_ONE)
    row = cql_session.execute(
        SimpleStatement(f"SELECT hot_from_offset FROM {keyspace}.hot_watermarks")
    ).one()
    assert row.hot_from_offset == 42


def test_the_consistency_is_one_setting_for_both() -> None:
    assert CassandraSettings().consistency == "LOCAL_QUORUM"
    chosen = CassandraSettings(consistency="QUORUM").consistency
    assert ConsistencyLevel.name_to_value[chosen] == ConsistencyLevel.QUORUM
