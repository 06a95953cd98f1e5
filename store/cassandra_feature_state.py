"""The durable copy of the aggregation state in Cassandra (``feature_state``, see its CQL).

Each row is written with ``USING TIMESTAMP <version>``: Cassandra keeps the cell with the highest
write time, so of two writes of one entity (two workers during a rebalance, a retry) the newer
version wins whatever order they arrive in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.cluster import Session

from store.driver_relay import relay_for
from store.feature_state import (
    ID_SEPARATOR,
    DurableStateStore,
    FeatureStateUnavailable,
    StateKey,
    StoredState,
)

SAVE_CQL = (
    "INSERT INTO {table} (shard, entity, entity_id, version, state) VALUES (?, ?, ?, ?, ?) "
    "USING TIMESTAMP ?"
)
LOAD_CQL = "SELECT entity, entity_id, version, state FROM {table} WHERE shard = ?"


class CassandraStateStore(DurableStateStore):
    """Built from a connected session the caller owns; prepares its statements here."""

    def __init__(self, session: Session, keyspace: str, *, concurrency: int = 64) -> None:
        if not keyspace.isidentifier():
            raise ValueError(f"keyspace name {keyspace!r} is not a valid CQL identifier")
        self._session = session
        self._limit = asyncio.Semaphore(concurrency)
        table = f"{keyspace}.feature_state"
        self._save = session.prepare(SAVE_CQL.format(table=table))
        self._save.consistency_level = ConsistencyLevel.LOCAL_QUORUM
        self._save.is_idempotent = True
        self._load = session.prepare(LOAD_CQL.format(table=table))
        self._load.consistency_level = ConsistencyLevel.LOCAL_QUORUM

    async def _execute(self, statement: Any, what: str) -> Any:
        async with self._limit:
            loop = asyncio.get_running_loop()
            done: asyncio.Future[Any] = loop.create_future()
            try:
                future = self._session.execute_async(statement)
            except Exception as exc:
                raise FeatureStateUnavailable(f"{what}: {exc}") from exc
            relay = relay_for(loop)
            future.add_callbacks(
                relay, relay, callback_args=(done, False), errback_args=(done, True)
            )
            try:
                return await done
            except Exception as exc:
                raise FeatureStateUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc

    async def save(self, states: Sequence[tuple[str, StateKey, StoredState]]) -> None:
        writes = [
            self._execute(
                self._save.bind(
                    (shard, key.entity, key.joined, state.version, state.blob, state.version)
                ),
                f"save of {key.entity} {key.joined!r}",
            )
            for shard, key, state in states
        ]
        results = await asyncio.gather(*writes, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def load(self, shard: str) -> list[tuple[StateKey, StoredState]]:
        loaded: list[tuple[StateKey, StoredState]] = []
        statement = self._load.bind((shard,))
        statement.fetch_size = 1000

        def fetch_all() -> list[Any]:
            return list(self._session.execute(statement))  # pages as it iterates

        try:
            for row in await asyncio.to_thread(fetch_all):
                key = StateKey(row.entity, tuple(row.entity_id.split(ID_SEPARATOR)))
                loaded.append((key, StoredState(row.version, row.state)))
        except Exception as exc:
            raise FeatureStateUnavailable(f"load of shard {shard}: {exc}") from exc
        return loaded
