"""The one factory of a ``FeatureUpdater`` on the real stores (Redis working copy, Cassandra
durable copy): the features worker's, the replay's, the rebuild's and the forgetter's."""

from __future__ import annotations

from cassandra import InvalidRequest
from cassandra.cluster import Session

from core.clock import wall_clock_ms
from core.settings import Settings
from features.catalogue import Catalogue, load_catalogue
from features.plan import plans_from_catalogue
from features.updater import FeatureUpdater
from store.cassandra_feature_state import CassandraStateStore
from store.deferred_feature_state import DeferredStateStore
from store.errors import StoreError
from store.feature_generations import GenerationControl
from store.feature_state import DurableStateStore
from store.redis_feature_state import RedisStateStore
from store.tombstones import TombstoneCache, TombstoneTable


def build_updater(
    settings: Settings,
    session: Session,
    *,
    catalogue: Catalogue | None = None,
    deferred_durable: bool = False,
) -> tuple[FeatureUpdater, GenerationControl]:
    """An updater of generation 0 that skips events of forgotten users (``for_generation``
    for the others), and the generation control on its Redis client (the live worker wraps
    both in ``features.generation_gate.GatedUpdater``). The catalogue from
    ``settings.features.definitions_path`` unless given. ``deferred_durable``: the durable copy
    holds its rows until ``durable.flush()`` (the live worker, which holds its acknowledgements
    until then: ``store.deferred_feature_state``); else every ``apply`` writes them before it
    returns."""
    catalogue = catalogue or load_catalogue(settings.features.definitions_path)
    keyspace = settings.cassandra.keyspace
    durable: DurableStateStore
    try:
        durable = CassandraStateStore(session, keyspace)
        table = TombstoneTable(session, keyspace)
    except InvalidRequest as exc:
        raise StoreError(
            f"the feature_state or forgotten_users table in keyspace {keyspace} is missing "
            f"({exc}): run `interstore schema apply`"
        ) from exc
    if deferred_durable:
        durable = DeferredStateStore(durable)
    prefix = settings.features.key_prefix
    working = RedisStateStore(settings.redis, prefix)
    control = GenerationControl(working.client, prefix)
    updater = FeatureUpdater(
        catalogue,
        plans_from_catalogue(catalogue),
        working,
        durable,
        key_prefix=prefix,
        lateness_ms=settings.features_worker.lateness_s * 1000,
        clock=wall_clock_ms,
        state_cache_entries=settings.features_worker.state_cache_entries,
        tombstones=TombstoneCache(table, refresh_s=settings.ops.tombstone_refresh_s),
    )
    return updater, control
