"""`interstore worker`: topics, a cold-tier connection, then the Faust worker until stopped."""

from __future__ import annotations

import time

import faust
from cassandra import ConsistencyLevel, InvalidRequest
from cassandra.cluster import Session

from core.settings import Settings
from store.cassandra_cold import CassandraColdStore
from store.cassandra_session import open_session
from store.errors import StoreError
from store.redis_hot import RedisHotStore
from store.tombstones import TombstoneCache, TombstoneTable
from store.watermarks import CassandraWatermarkStore
from streams.app import build_app
from streams.metrics import WorkerMetrics
from streams.services import WorkerStores
from streams.topics import ensure_topics

CONNECT_ATTEMPTS = 30


def connect_cold_tier(settings: Settings) -> Session:
    """Connect to Cassandra, retrying for a while: the worker may start before the database."""
    last: Exception | None = None
    for _ in range(CONNECT_ATTEMPTS):
        try:
            return open_session(settings.cassandra, settings.cassandra.keyspace)
        except Exception as exc:  # noqa: BLE001 - any failure to connect is retried
            last = exc
            time.sleep(2)
    raise StoreError(f"cannot connect to the cold tier at {settings.cassandra.hosts}: {last}")


def run_worker(settings: Settings) -> None:
    ensure_topics(settings.kafka, settings.topics)
    session = connect_cold_tier(settings)
    keyspace = settings.cassandra.keyspace
    try:
        consistency = ConsistencyLevel.name_to_value[settings.cassandra.consistency]
        cold = CassandraColdStore(
            session,
            keyspace,
            settings.retention,
            concurrency=settings.worker.write_concurrency,
            views_complete=settings.cassandra.recent_views_complete,
            consistency=consistency,
        )
        watermarks = CassandraWatermarkStore(session, keyspace, consistency=consistency)
        tombstones = TombstoneCache(
            TombstoneTable(session, keyspace), refresh_s=settings.ops.tombstone_refresh_s
        )
    except InvalidRequest as exc:
        session.cluster.shutdown()
        raise StoreError(
            f"the cold tier's schema in keyspace {keyspace} is missing or out of date "
            f"({exc}): run `interstore schema apply`"
        ) from exc
    hot = RedisHotStore(settings.redis, settings.session, settings.retention)
    app = build_app(settings, WorkerStores(cold, hot, watermarks, tombstones), WorkerMetrics())
    try:
        faust.Worker(app, loglevel=settings.worker.log_level).execute_from_commandline()
    finally:
        session.cluster.shutdown()
