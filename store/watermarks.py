"""Per-partition hot-tier watermarks: from which offset a partition must be replayed into the
cold tier if the hot tier loses its data. Kept in the cold tier, which survives that loss."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any

from cassandra.cluster import Session

from core.clock import wall_clock_ms
from store.errors import ColdStoreUnavailable


class WatermarkStore(ABC):
    @abstractmethod
    async def load(self, group: str, topic: str) -> dict[int, int]:
        """Partition -> lowest hot-only offset, for the partitions that have one."""

    @abstractmethod
    async def save(self, group: str, topic: str, partition: int, offset: int | None) -> None:
        """Record the partition's watermark; None: nothing of it is hot-only."""


class CassandraWatermarkStore(WatermarkStore):
    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        table = f"{keyspace}.hot_watermarks"
        self._select = session.prepare(
            f"SELECT partition, hot_from_offset FROM {table} "  # noqa: S608 - our keyspace name
            "WHERE consumer_group = ? AND topic = ?"
        )
        self._upsert = session.prepare(
            f"INSERT INTO {table} "  # noqa: S608 - our keyspace name
            "(consumer_group, topic, partition, hot_from_offset, updated_at) VALUES (?, ?, ?, ?, ?)"
        )

    async def load(self, group: str, topic: str) -> dict[int, int]:
        rows = await self._run(self._select, (group, topic), "load hot watermarks")
        return {
            row.partition: row.hot_from_offset for row in rows if row.hot_from_offset is not None
        }

    async def save(self, group: str, topic: str, partition: int, offset: int | None) -> None:
        now_ms = wall_clock_ms()
        await self._run(
            self._upsert, (group, topic, partition, offset, now_ms), "save a hot watermark"
        )

    async def _run(self, statement: object, values: tuple[object, ...], what: str) -> list[Any]:
        try:
            result = await asyncio.to_thread(self.session.execute, statement, values)
        except Exception as exc:
            raise ColdStoreUnavailable(f"cannot {what}: {exc}") from exc
        return list(result)
