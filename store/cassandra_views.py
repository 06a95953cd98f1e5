"""The compact recent views (``store.recent_views``) on Cassandra: statements and their values.

One partition per user (``recent_views``, ``schemas/cql/006_recent_views.cql``): a write appends
one delta pack per user (small deltas of several users of one replica go together as UNLOGGED
batches: one request, not one per user), a hydration reads the whole
partition in one request (at most ``MAX_PACKS`` packs: a user with more is read from the
individual rows) and replaces the packs it read with one base pack in one single-partition batch
(atomic: a reader sees the packs before or after it; the packs read are the partition's first,
so one range delete removes exactly them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any

from cassandra.cluster import Session
from cassandra.query import BatchStatement, BatchType, PreparedStatement, Statement

from core.settings import RetentionSettings
from store import cold
from store.cassandra_bind import Binder
from store.cassandra_writes import ReplicaOf, one_group
from store.interactions import INTERACTION_KINDS, Interaction
from store.recent_views import HotMember, Window, pack_base, pack_delta

MAX_PACKS = 256
"""Packs read per hydration; a partition holding more is read the old way (and refreshed)."""
DELTAS_PER_BATCH = 10
"""Users' delta packs per request (Cassandra warns past 10 partitions in one UNLOGGED batch)."""
BATCH_BYTES = 24 * 1024
"""Packed bytes per multi-user batch (under Cassandra's 50 KiB fail threshold); a bigger pack
goes alone (one partition: no batch limit)."""
ENTRIES_PER_DELTA = 2_000
"""Interactions per delta pack (a bulk write of one user's history makes several)."""


class ViewStatements:
    """Prepared once (blocking: at start-up), bound per call."""

    def __init__(
        self,
        session: Session,
        keyspace: str,
        retention: RetentionSettings,
        consistency: int,
        replica: ReplicaOf = one_group,
    ) -> None:
        """``replica``: small packs of users on one replica go together (``cassandra_writes``)."""
        self.retention = retention
        self.replica = replica
        self.consistency = consistency
        table = f"{keyspace}.recent_views"
        self.insert = self._prepare(
            session,
            f"INSERT INTO {table} (user_id, part, packed) VALUES (?, now(), ?) USING TTL ?",  # noqa: S608
        )
        self.delta = Binder(self.insert)
        self.select = self._prepare(
            session,
            f"SELECT part, packed FROM {table} WHERE user_id = ? LIMIT {MAX_PACKS}",  # noqa: S608
        )
        self.delete = self._prepare(
            session,
            f"DELETE FROM {table} WHERE user_id = ? AND part <= ?",  # noqa: S608
        )

    def _prepare(self, session: Session, cql: str) -> PreparedStatement:
        prepared = session.prepare(cql)
        prepared.consistency_level = self.consistency
        prepared.is_idempotent = True
        prepared.fetch_size = None
        return prepared

    def windows(self, now_ms: int) -> dict[str, Window]:
        return {
            kind: cold.read_window(self.retention.days(kind), now_ms, None)
            for kind in INTERACTION_KINDS
        }

    def deltas(self, written: Sequence[Interaction], now_ms: int) -> Iterator[Statement]:
        """Delta packs of ``written`` (rows already inside retention): per user, one pack per
        ``ENTRIES_PER_DELTA`` interactions; small packs of several users of one replica go
        together (at most ``DELTAS_PER_BATCH`` of them and ``BATCH_BYTES`` of packs: Cassandra
        refuses a batch of several partitions past ``batch_size_fail_threshold``, 50 KiB by
        default)."""
        by_user: dict[str, list[Interaction]] = {}
        for item in written:
            by_user.setdefault(item.user_id, []).append(item)
        open_batches: dict[Hashable, tuple[list[Statement], int]] = {}  # per replica
        for user, items in by_user.items():
            for start in range(0, len(items), ENTRIES_PER_DELTA):
                chunk = items[start : start + ENTRIES_PER_DELTA]
                packed = pack_delta(chunk)
                statement = self.delta.bind([user, packed, self._ttl(chunk, now_ms)])
                if len(packed) > BATCH_BYTES:
                    yield statement
                    continue
                replica = self.replica(statement)
                batch, size = open_batches.get(replica, ([], 0))
                if len(batch) == DELTAS_PER_BATCH or size + len(packed) > BATCH_BYTES:
                    yield self._together(batch)
                    batch, size = [], 0
                batch.append(statement)
                open_batches[replica] = (batch, size + len(packed))
        for batch, _ in open_batches.values():
            yield self._together(batch)

    def _together(self, statements: list[Statement]) -> Statement:
        if len(statements) == 1:
            return statements[0]
        batch = BatchStatement(BatchType.UNLOGGED, consistency_level=self.consistency)
        batch.is_idempotent = True
        for statement in statements:
            batch.add(statement)
        return batch

    def _ttl(self, items: Sequence[Interaction], now_ms: int) -> int:
        return max(
            cold.ttl_seconds(self.retention.days(item.kind), item.ts_ms, now_ms) for item in items
        )

    def refresh(
        self,
        user_id: str,
        parts: Sequence[Any],
        keep: int,
        base: Mapping[str, Sequence[HotMember]],
        now_ms: int,
    ) -> Statement:
        """Replace the packs ``parts`` (read in part order: the first ones of the partition)
        with one base pack, in one single-partition batch: one range tombstone up to the last
        part read, so packs written since stay."""
        ttls = [  # a kind's longest-lived entry is its newest: ttl_seconds grows with ts
            cold.ttl_seconds(self.retention.days(kind), max(of)[0], now_ms)
            for kind, of in base.items()
            if of
        ]
        longest = max(self.retention.days(kind) for kind in INTERACTION_KINDS)
        ttl = max(ttls, default=min(longest * 86_400, cold.MAX_TTL_S))  # an empty base too
        batch = BatchStatement(BatchType.UNLOGGED, consistency_level=self.consistency)
        batch.is_idempotent = True
        if parts:
            batch.add(self.delete.bind([user_id, parts[-1]]))
        batch.add(self.insert.bind([user_id, pack_base(keep, base), max(1, ttl)]))
        return batch


class Background:
    """Requests sent without waiting (view refreshes): kept until they settle, their errors
    retrieved and dropped (a refresh that failed leaves packs that merge to the same answer)."""

    def __init__(self, execute: Callable[[Statement], Awaitable[Any]]) -> None:
        self._execute = execute
        self._pending: set[asyncio.Future[Any]] = set()

    def send(self, statement: Statement) -> None:
        task = asyncio.ensure_future(self._execute(statement))
        self._pending.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, done: asyncio.Future[Any]) -> None:
        self._pending.discard(done)
        if not done.cancelled():
            done.exception()

    async def settle(self) -> None:
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
