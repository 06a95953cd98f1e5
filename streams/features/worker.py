"""`interstore features worker`: the catalogue, the state stores, then the Faust app."""

from __future__ import annotations

import faust
from cassandra import InvalidRequest
from cassandra.cluster import Session

from core.clock import wall_clock_ms
from core.settings import Settings
from features.catalogue import load_catalogue
from features.plan import plans_from_catalogue
from features.updater import FeatureUpdater
from store.cassandra_feature_state import CassandraStateStore
from store.errors import StoreError
from store.redis_feature_state import RedisStateStore
from streams.features.app import build_features_app
from streams.features.metrics import FeatureMetrics
from streams.topics import ensure_topics
from streams.worker import connect_cold_tier


def build_updater(settings: Settings, session: Session) -> FeatureUpdater:
    """The one factory of the updater (the worker's, and the tests' and benchmarks')."""
    catalogue = load_catalogue(settings.features.definitions_path)
    keyspace = settings.cassandra.keyspace
    try:
        durable = CassandraStateStore(session, keyspace)
    except InvalidRequest as exc:
        raise StoreError(
            f"the feature_state table in keyspace {keyspace} is missing ({exc}): "
            "run `interstore schema apply`"
        ) from exc
    return FeatureUpdater(
        catalogue,
        plans_from_catalogue(catalogue),
        RedisStateStore(settings.redis, settings.features.key_prefix),
        durable,
        key_prefix=settings.features.key_prefix,
        lateness_ms=settings.features_worker.lateness_s * 1000,
        clock=wall_clock_ms,
        state_cache_entries=settings.features_worker.state_cache_entries,
    )


def run_features_worker(settings: Settings) -> None:
    ensure_topics(settings.kafka, settings.topics)
    session = connect_cold_tier(settings)
    try:
        updater = build_updater(settings, session)
        app = build_features_app(settings, updater, FeatureMetrics())
        loglevel = settings.features_worker.log_level
        faust.Worker(app, loglevel=loglevel).execute_from_commandline()
    finally:
        session.cluster.shutdown()
