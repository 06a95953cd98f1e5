"""The durable copy of the aggregation state in Cassandra (``feature_state``, see its CQL).

Each row is written with ``USING TIMESTAMP <version>``: Cassandra keeps the cell with the highest
write time, so of two writes of one entity (two workers during a rebalance, a retry) the newer
version wins whatever order they arrive in.

A save groups its rows by shard (the table's partition key) into unlogged batches: a batch
within one partition is one mutation, applied atomically, and Cassandra checks a batch's size
against its warning and failure thresholds (5 KiB, 50 KiB) only when it spans more than one
mutation, so a shard's rows go in one request (split only past ``BATCH_BYTES``, a bound on one
request): a durable flush of ~9,000 rows costs a few dozen requests. Each shard's statement
is built in its own write task (the event loop runs other work between shards) with
``store.cassandra_bind.Binder`` (the driver's bytes at a fraction of its cost).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.cluster import Session
from cassandra.query import BatchStatement, BatchType

from store.cassandra_bind import Binder
from store.driver_relay import relay_for
from store.feature_generations import durable_shard
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
LOAD_USER_CQL = (
    "SELECT entity, entity_id, version, state FROM {table} "
    "WHERE shard = ? AND entity = ? AND entity_id >= ? AND entity_id < ?"
)
DROP_CQL = "DELETE FROM {table} WHERE shard = ?"
BATCH_BYTES = 256 * 1024
"""At most this many bytes of rows per batch (one shard's rows: no size threshold applies), far
under a request's and a mutation's limits (16 MiB by default); a bigger single row goes alone."""
ROW_OVERHEAD = 64  # keys, version and timestamp of a row, roughly


class CassandraStateStore(DurableStateStore):
    """Built from a connected session the caller owns; prepares its statements here. Shards
    are stored under their generation's partition (``store.feature_generations``)."""

    def __init__(self, session: Session, keyspace: str, *, concurrency: int = 64) -> None:
        if not keyspace.isidentifier():
            raise ValueError(f"keyspace name {keyspace!r} is not a valid CQL identifier")
        self._session = session
        self._limit = asyncio.Semaphore(concurrency)
        self.generation = 0
        table = f"{keyspace}.feature_state"
        self._save = session.prepare(SAVE_CQL.format(table=table))
        self._save.consistency_level = ConsistencyLevel.LOCAL_QUORUM
        self._save.is_idempotent = True
        self._bind_save = Binder(self._save)
        self._load = session.prepare(LOAD_CQL.format(table=table))
        self._load.consistency_level = ConsistencyLevel.LOCAL_QUORUM
        self._load_user = session.prepare(LOAD_USER_CQL.format(table=table))
        self._load_user.consistency_level = ConsistencyLevel.LOCAL_QUORUM
        self._drop = session.prepare(DROP_CQL.format(table=table))
        self._drop.consistency_level = ConsistencyLevel.LOCAL_QUORUM

    def for_generation(self, generation: int) -> CassandraStateStore:
        """The same session, statements and concurrency limit, another generation."""
        sibling = copy.copy(self)
        sibling.generation = generation
        return sibling

    def _partition(self, shard: str) -> str:
        return durable_shard(shard, self.generation)

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
        writes = [self._save_shard(shard, rows) for shard, rows in self._by_shard(states).items()]
        results = await asyncio.gather(*writes, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    @staticmethod
    def _by_shard(
        states: Sequence[tuple[str, StateKey, StoredState]],
    ) -> dict[str, list[tuple[StateKey, StoredState]]]:
        by_shard: dict[str, list[tuple[StateKey, StoredState]]] = {}
        for shard, key, state in states:
            rows = by_shard.get(shard)
            if rows is None:
                rows = by_shard[shard] = []
            rows.append((key, state))
        return by_shard

    async def _save_shard(self, shard: str, rows: list[tuple[StateKey, StoredState]]) -> None:
        """A shard's rows: one unlogged batch per ``BATCH_BYTES`` (a lone row: a plain write),
        built here, so the event loop runs other work between shards."""
        for statement, count in self._statements(self._partition(shard), rows):
            await self._execute(statement, f"save of {count} states of shard {shard}")

    def _statements(
        self, partition: str, rows: list[tuple[StateKey, StoredState]]
    ) -> list[tuple[Any, int]]:
        bind = self._bind_save.bind
        out: list[tuple[Any, int]] = []
        chunk: list[Any] = []
        size = 0
        for key, state in rows:
            row = len(state.blob) + ROW_OVERHEAD
            if chunk and size + row > BATCH_BYTES:
                out.append((self._statement(chunk), len(chunk)))
                chunk, size = [], 0
            version = state.version
            chunk.append(bind((partition, key.entity, key.joined, version, state.blob, version)))
            size += row
        out.append((self._statement(chunk), len(chunk)))
        return out

    @staticmethod
    def _statement(bound: list[Any]) -> Any:
        if len(bound) == 1:
            return bound[0]
        batch = BatchStatement(
            batch_type=BatchType.UNLOGGED, consistency_level=ConsistencyLevel.LOCAL_QUORUM
        )
        for statement in bound:
            batch.add(statement)
        batch.is_idempotent = True
        return batch

    async def load(self, shard: str) -> list[tuple[StateKey, StoredState]]:
        return await self._fetch(self._load.bind((self._partition(shard),)), f"load of {shard}")

    async def load_user(
        self, shard: str, entity: str, user_id: str
    ) -> list[tuple[StateKey, StoredState]]:
        # entity_id is the keys joined by ID_SEPARATOR (0x1f): the user alone, or the user,
        # 0x1f and the other keys; 0x20 is the next character, so the range is exactly these.
        bounds = (self._partition(shard), entity, user_id, user_id + chr(ord(ID_SEPARATOR) + 1))
        found = await self._fetch(self._load_user.bind(bounds), f"load of {user_id} in {shard}")
        return [(k, s) for k, s in found if k.ids[0] == user_id]

    async def drop(self, shards: Sequence[str]) -> None:
        drops = [
            self._execute(self._drop.bind((self._partition(shard),)), f"drop of shard {shard}")
            for shard in shards
        ]
        for result in await asyncio.gather(*drops, return_exceptions=True):
            if isinstance(result, BaseException):
                raise result

    async def _fetch(self, statement: Any, what: str) -> list[tuple[StateKey, StoredState]]:
        loaded: list[tuple[StateKey, StoredState]] = []
        statement.fetch_size = 1000

        def fetch_all() -> list[Any]:
            return list(self._session.execute(statement))  # pages as it iterates

        try:
            for row in await asyncio.to_thread(fetch_all):
                key = StateKey(row.entity, tuple(row.entity_id.split(ID_SEPARATOR)))
                loaded.append((key, StoredState(row.version, row.state)))
        except Exception as exc:
            raise FeatureStateUnavailable(f"{what}: {exc}") from exc
        return loaded
