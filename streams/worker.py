"""`interstore worker`: topics, a cold-tier connection, then the worker until stopped: on the batch
consumer (``streams.batch_worker``, the default) or as a Faust app (``streams.app``)."""

from __future__ import annotations

import asyncio
import logging
import sys
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
from streams.batch_worker import build_batch_worker
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
    stores = WorkerStores(cold, hot, watermarks, tombstones)
    try:
        if settings.worker.consumer == "faust":
            app = build_app(settings, stores, WorkerMetrics())
            faust.Worker(app, loglevel=settings.worker.log_level).execute_from_commandline()
        else:
            logging.basicConfig(
                level=settings.worker.log_level.upper(),
                format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
            )
            status = asyncio.run(_run_batch_worker(settings, stores))
            if status:
                sys.exit(status)
    finally:
        session.cluster.shutdown()


async def _run_batch_worker(settings: Settings, stores: WorkerStores) -> int:
    worker = build_batch_worker(settings, stores, WorkerMetrics())
    return await worker.run_until_signalled()
