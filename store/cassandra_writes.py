"""The requests a cold write sends: each interaction's INSERT bound (``USING TTL`` what it has
left of retention; None bound as UNSET: no nulls, no tombstones), the rows of one partition
together as UNLOGGED batches of at most ``MAX_BATCH_ROWS``, a row alone as itself."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, PreparedStatement, Statement

from core.settings import RetentionSettings
from store import cold
from store.buckets import bucket_of, span_days
from store.cassandra_errors import BIND_ERRORS
from store.errors import ColdWriteError
from store.interactions import Interaction

MAX_BATCH_ROWS = 100
"""Rows of one partition per UNLOGGED batch (~15 KB: under Scylla's and Cassandra's limits)."""

Request = tuple[Statement, Interaction]  # and the (first) interaction it writes, named in errors


class InsertRequests:
    """Binds ``inserts`` (per kind, ``cassandra_cql.insert_cql``) at ``consistency``."""

    def __init__(
        self,
        inserts: Mapping[str, PreparedStatement],
        retention: RetentionSettings,
        consistency: int,
    ) -> None:
        self._inserts = inserts
        self._retention = retention
        self._consistency = consistency

    def requests(
        self, items: Sequence[Interaction], now_ms: int, what: str
    ) -> tuple[list[Request], int]:
        """All bound before any is sent (a bad row fails the call up front), by partition; and
        how many were left out, already past their retention."""
        partitions: dict[tuple[str, str, int], list[Request]] = {}
        expired = 0
        for item in items:
            try:
                ttl = cold.ttl_seconds(self._retention.days(item.kind), item.ts_ms, now_ms)
                if ttl <= 0:
                    expired += 1
                    continue
                bucket = bucket_of(item.ts_ms, span_days(item.kind))
                statement = self._bind(item, bucket, ttl)
            except BIND_ERRORS as exc:
                where = f"{what}: event {item.event_id!r} of user {item.user_id!r}"
                raise ColdWriteError(f"{where} cannot be written: {exc}") from exc
            partitions.setdefault((item.user_id, item.kind, bucket), []).append((statement, item))
        requests = [request for rows in partitions.values() for request in self._batched(rows)]
        return requests, expired

    def _bind(self, item: Interaction, bucket: int, ttl: int) -> Statement:
        common = (item.user_id, item.kind, bucket, item.ts_ms, item.event_id, item.product_id)
        own = [UNSET_VALUE if v is None else v for v in item.kind_fields().values()]
        return self._inserts[item.kind].bind([*common, item.category_id, *own, ttl])

    def _batched(self, rows: list[Request]) -> Iterator[Request]:
        """The rows of one partition: alone as they are, together as UNLOGGED batches."""
        if len(rows) == 1:
            yield rows[0]
            return
        for start in range(0, len(rows), MAX_BATCH_ROWS):
            chunk = rows[start : start + MAX_BATCH_ROWS]
            batch = BatchStatement(BatchType.UNLOGGED, consistency_level=self._consistency)
            batch.is_idempotent = True
            for statement, _ in chunk:
                batch.add(statement)
            yield batch, chunk[0][1]
