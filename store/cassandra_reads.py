"""The interactions a cold read fetches from Cassandra: a kind's newest rows, or every kind's for
a hydration, bucket by bucket as ``store.bucket_walk`` plans (rows fetched stay near the limit).

``rows_fetched`` counts the interaction rows the driver returned, for tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from cassandra.query import PreparedStatement, Statement

from core.settings import RetentionSettings
from store.bucket_walk import by_bucket, newest_rows, probe_limit
from store.buckets import buckets_between, span_days
from store.cassandra_hydration import HydrationRead
from store.cold import gather_all, read_window
from store.interactions import INTERACTION_KINDS, ColdRow

Execute = Callable[[Statement], Awaitable[Any]]
_LAST = itemgetter(-1)


class InteractionRows:
    """Reads through ``execute`` (the store's bounded request path) with the store's prepared
    statements: ``selects`` per kind (``cassandra_cql.select_cql``: a ``ColdRow`` then the
    bucket), ``select_all`` (``cassandra_hydration.select_all_cql``)."""

    def __init__(
        self,
        execute: Execute,
        selects: Mapping[str, PreparedStatement],
        select_all: PreparedStatement,
        retention: RetentionSettings,
    ) -> None:
        self._execute = execute
        self._selects = selects
        self._select_all = select_all
        self._retention = retention
        self.rows_fetched = 0
        """Interaction rows the driver returned to reads, since the store was built."""

    async def _fetch(self, statement: Statement) -> list[tuple[Any, ...]]:
        statement.fetch_size = None  # every SELECT has a per-partition LIMIT: one page
        rows = list(await self._execute(statement) or ())
        self.rows_fetched += len(rows)
        return rows

    async def kind(
        self, user_id: str, kind: str, limit: int, since_ms: int | None, now_ms: int
    ) -> list[ColdRow]:
        """The kind's newest ``limit`` rows in its read window (and since ``since_ms``), newest
        first: one probe of every bucket, then the buckets it filled that are still needed."""
        oldest, newest = read_window(self._retention.days(kind), now_ms, since_ms)
        buckets = buckets_between(newest, oldest, span_days(kind))
        probed = await self._read(user_id, kind, buckets, (oldest, newest), probe_limit(limit))
        return await self._walk(user_id, kind, buckets, (oldest, newest), limit, probed)

    async def hydration(self, read: HydrationRead, user_id: str, limit: int) -> list[list[ColdRow]]:
        """Every kind's newest ``limit`` rows (``INTERACTION_KINDS`` order): the probe of every
        kind and bucket in ONE request, then each kind's walk (kinds concurrently)."""
        probe = self._select_all.bind(read.bind_values(user_id, probe_limit(limit)))
        probed = read.probed(await self._fetch(probe))
        return await gather_all(
            [
                self._walk(user_id, kind, read.buckets_of(kind), read.window_of(kind), limit, of)
                for kind, of in zip(INTERACTION_KINDS, probed, strict=True)
            ]
        )

    async def _read(
        self, user_id: str, kind: str, buckets: list[int], window: tuple[int, int], limit: int
    ) -> dict[int, list[ColdRow]]:
        """At most ``limit`` rows of each bucket, grouped by bucket (the bucket column left off)."""
        statement = self._selects[kind].bind([user_id, kind, buckets, *window, limit])
        grouped = by_bucket(await self._fetch(statement), _LAST)
        return {bucket: [row[:-1] for row in rows] for bucket, rows in grouped.items()}

    async def _walk(
        self,
        user_id: str,
        kind: str,
        buckets: Sequence[int],
        window: tuple[int, int],
        limit: int,
        probed: Mapping[int, list[ColdRow]],
    ) -> list[ColdRow]:
        async def read_bucket(bucket: int, missing: int) -> list[ColdRow]:
            rows = await self._read(user_id, kind, [bucket], window, missing)
            return rows.get(bucket, [])

        return await newest_rows(buckets, limit, probed, read_bucket)
