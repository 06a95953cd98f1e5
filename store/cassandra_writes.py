"""The requests a cold write sends: each interaction's INSERT bound (``USING TTL`` what it has
left of retention; None bound as UNSET: no nulls, no tombstones), grouped into as few requests as
the server takes without complaint.

A request costs the client far more than a row (the driver's per-request work, a callback, a
loop wake-up: ~60-75 us of CPU here, against ~10 us to bind a row) and costs the server a native
protocol message. So:

- the rows of one partition go together as UNLOGGED batches of at most ``MAX_BATCH_ROWS``;
- small partitions (at most ``MIXED_BATCH_ROWS`` rows: a user without a session has one or two
  rows per batch) go together with other small partitions *of the same replica* (the token owner
  of the first statement: the batch is routed there, so its coordinator holds every partition of
  it and nothing fans out), at most ``PARTITIONS_PER_BATCH`` partitions (Cassandra warns past 10
  partitions in an UNLOGGED batch) and ``MIXED_BATCH_ROWS`` rows (under the 5 KiB batch-size
  warning) per request;
- a request of one row is the row alone.

Every statement is idempotent (the event id is part of the key), so a failed request is retried
whole by the caller; an UNLOGGED batch is not atomic and needs not be.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from cassandra.cluster import Session
from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, Statement

from core.settings import RetentionSettings
from store import cold
from store.buckets import bucket_of, span_days
from store.cassandra_errors import BIND_ERRORS
from store.errors import ColdWriteError
from store.interactions import KIND_FIELDS, Interaction

MAX_BATCH_ROWS = 100
"""Rows of one partition per UNLOGGED batch (~15 KB: under Scylla's and Cassandra's limits)."""
MIXED_BATCH_ROWS = 20
"""Rows per batch of several partitions (~3 KB: under Cassandra's 5 KiB warning)."""
PARTITIONS_PER_BATCH = 10
"""Partitions per batch (Cassandra's ``unlogged_batch_across_partitions_warn_threshold``)."""


class Binds(Protocol):
    """A prepared INSERT's ``bind`` (``PreparedStatement``, or ``cassandra_bind.Binder``)."""

    def bind(self, values: Sequence[Any]) -> Statement: ...


Request = tuple[Statement, Interaction]  # and the (first) interaction it writes, named in errors
ReplicaOf = Callable[[Statement], Hashable]
"""Which replica a bound statement's partition lives on (statements of one go together)."""


def replica_of(session: Session, keyspace: str) -> ReplicaOf:
    """The first replica of a statement's routing key in ``keyspace``; None on one node (no
    token to compute: every partition is on it) and when the driver has no token map (then
    every partition is in one group)."""
    metadata = session.cluster.metadata

    def replica(statement: Statement) -> Hashable:
        token_map = metadata.token_map
        if token_map is None or len(metadata.all_hosts()) < 2:
            return None
        key = statement.routing_key
        if key is None:
            return None
        replicas = token_map.get_replicas(keyspace, token_map.token_class.from_key(key))
        return replicas[0] if replicas else None

    return replica


def one_group(statement: Statement) -> Hashable:
    return None


class InsertRequests:
    """Binds ``inserts`` (per kind, ``cassandra_cql.insert_cql``) at ``consistency``."""

    def __init__(
        self,
        inserts: Mapping[str, Binds],
        retention: RetentionSettings,
        consistency: int,
        replica: ReplicaOf = one_group,
    ) -> None:
        self._inserts = inserts
        self._retention = retention
        self._consistency = consistency
        self._replica = replica

    def requests(
        self, items: Sequence[Interaction], now_ms: int, what: str
    ) -> tuple[list[Request], list[Interaction]]:
        """All bound before any is sent (a bad row fails the call up front), grouped; and the
        interactions they write (those still inside their retention), in ``items``' order."""
        partitions: dict[tuple[str, str, int], list[Request]] = {}
        written: list[Interaction] = []
        days = self._retention.days
        for item in items:
            kind = item.kind
            try:
                ttl = cold.ttl_seconds(days(kind), item.ts_ms, now_ms)
                if ttl <= 0:
                    continue
                bucket = bucket_of(item.ts_ms, span_days(kind))
                statement = self._bind(item, bucket, ttl)
            except BIND_ERRORS as exc:
                where = f"{what}: event {item.event_id!r} of user {item.user_id!r}"
                raise ColdWriteError(f"{where} cannot be written: {exc}") from exc
            written.append(item)
            key = (item.user_id, kind, bucket)
            rows = partitions.get(key)
            if rows is None:
                partitions[key] = [(statement, item)]
            else:
                rows.append((statement, item))
        return list(self._grouped(partitions.values())), written

    def _bind(self, item: Interaction, bucket: int, ttl: int) -> Statement:
        own = [
            UNSET_VALUE if (v := getattr(item, f)) is None else v for f in KIND_FIELDS[item.kind]
        ]
        values = [item.user_id, item.kind, bucket, item.ts_ms, item.event_id, item.product_id]
        values += (item.category_id, *own, ttl)
        return self._inserts[item.kind].bind(values)

    def _grouped(self, partitions: Iterable[list[Request]]) -> Iterator[Request]:
        """Big partitions alone (in batches of ``MAX_BATCH_ROWS``); small ones together with
        others of the same replica."""
        open_groups: dict[Hashable, list[list[Request]]] = {}
        sizes: dict[Hashable, int] = {}
        for rows in partitions:
            if len(rows) > MIXED_BATCH_ROWS:
                yield from self._batched(rows)
                continue
            replica = self._replica(rows[0][0])
            group = open_groups.get(replica)
            if group is not None and (
                len(group) == PARTITIONS_PER_BATCH or sizes[replica] + len(rows) > MIXED_BATCH_ROWS
            ):
                yield self._together([row for part in group for row in part])
                group = None
            if group is None:
                open_groups[replica] = group = []
                sizes[replica] = 0
            group.append(rows)
            sizes[replica] += len(rows)
        for group in open_groups.values():
            yield self._together([row for part in group for row in part])

    def _batched(self, rows: list[Request]) -> Iterator[Request]:
        """The rows of one big partition, as UNLOGGED batches."""
        for start in range(0, len(rows), MAX_BATCH_ROWS):
            yield self._together(rows[start : start + MAX_BATCH_ROWS])

    def _together(self, rows: Sequence[Request]) -> Request:
        """One request for these rows: the row alone, or an UNLOGGED batch of them."""
        if len(rows) == 1:
            return rows[0]
        batch = BatchStatement(BatchType.UNLOGGED, consistency_level=self._consistency)
        batch.is_idempotent = True
        for statement, _ in rows:
            batch.add(statement)
        return batch, rows[0][1]
