"""One user's whole cold-tier data, for operators: how much there is, and erasing it.

The user's partitions are (user, kind, bucket) for every bucket from the kind's retention
horizon to a day ahead (rows older than retention have expired; rows further ahead are refused
by validation). Counting and deleting name them all in one request per kind (``bucket IN ?``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from cassandra.cluster import Session

from core.clock import Clock, wall_clock_ms
from core.settings import RetentionSettings
from store.buckets import buckets_between, span_days
from store.cold import read_window
from store.interactions import INTERACTION_KINDS


@dataclass(frozen=True, slots=True)
class KindSummary:
    count: int
    newest_ms: int | None


class CassandraUserData:
    def __init__(
        self,
        session: Session,
        keyspace: str,
        retention: RetentionSettings,
        *,
        clock: Clock = wall_clock_ms,
    ) -> None:
        if not keyspace.isidentifier():
            raise ValueError(f"keyspace name {keyspace!r} is not a valid CQL identifier")
        self._session = session
        self._retention = retention
        self._clock = clock
        table = f"{keyspace}.interactions"
        where = " WHERE user_id = ? AND kind = ? AND bucket IN ?"
        self._count = session.prepare(f"SELECT COUNT(*), MAX(ts) FROM {table}{where}")  # noqa: S608
        self._delete = session.prepare(f"DELETE FROM {table}{where}")  # noqa: S608
        views = (
            f"{keyspace}.recent_views"  # the compact copies hydration reads (store/recent_views)
        )
        self._delete_views = session.prepare(f"DELETE FROM {views} WHERE user_id = ?")  # noqa: S608

    def _buckets(self, kind: str) -> list[int]:
        oldest, newest = read_window(self._retention.days(kind), self._clock(), None)
        return buckets_between(newest, oldest, span_days(kind))

    async def _each_kind(self, run: Callable[[str], object]) -> list[object]:
        return list(await asyncio.gather(*(asyncio.to_thread(run, k) for k in INTERACTION_KINDS)))

    async def summary(self, user_id: str) -> dict[str, KindSummary]:
        """Per kind: rows stored (inside retention) and the newest ``ts``."""

        def count(kind: str) -> KindSummary:
            row = self._session.execute(self._count, (user_id, kind, self._buckets(kind))).one()
            newest = row[1]
            if isinstance(newest, datetime):
                newest = int(newest.replace(tzinfo=newest.tzinfo or UTC).timestamp() * 1000)
            return KindSummary(int(row[0]), newest)

        found = await self._each_kind(count)
        return dict(zip(INTERACTION_KINDS, found, strict=True))  # type: ignore[arg-type]

    async def erase(self, user_id: str) -> None:
        """Delete every interaction of the user (each kind's partitions in one request) and the
        user's compact recent views, which a later hydration would otherwise serve again."""

        def delete(kind: str) -> None:
            self._session.execute(self._delete, (user_id, kind, self._buckets(kind)))

        await self._each_kind(delete)
        await asyncio.to_thread(self._session.execute, self._delete_views, (user_id,))
