"""Tombstones of forgotten users: the durable record (Cassandra) and the cache consumers check.

A user forgotten at ``T`` stays forgotten for every event with ``ts <= T``: the worker and the
replay drop those (a late event, a redelivery, a replay of old offsets), while events newer than
``T`` (the user came back) are stored as usual. Consumers hold a ``TombstoneCache``, reloaded
from the table at most every ``refresh_s`` seconds; ``store.forgetting`` erases twice, the
second time after that interval, so an event a consumer let through before it saw a new tombstone
is erased too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cassandra import DriverException
from cassandra.cluster import NoHostAvailable, Session

from store.errors import ColdStoreUnavailable, StoreError

log = logging.getLogger(__name__)
DRIVER_ERRORS = (DriverException, NoHostAvailable, OSError)


@dataclass(frozen=True, slots=True)
class Tombstone:
    user_id: str
    forgotten_at_ms: int
    reason: str


def _ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


class TombstoneTable:
    """The ``forgotten_users`` table of a keyspace (``schemas/cql/004_forgotten_users.cql``)."""

    def __init__(self, session: Session, keyspace: str) -> None:
        if not keyspace.isidentifier():
            raise ValueError(f"keyspace name {keyspace!r} is not a valid CQL identifier")
        self._session = session
        table = f"{keyspace}.forgotten_users"
        self._insert = session.prepare(
            f"INSERT INTO {table} (user_id, forgotten_at, reason) VALUES (?, ?, ?)"  # noqa: S608
        )
        self._select = session.prepare(
            f"SELECT user_id, forgotten_at, reason FROM {table} WHERE user_id = ?"  # noqa: S608
        )
        self._scan = f"SELECT user_id, forgotten_at FROM {table}"  # noqa: S608

    async def record(self, tombstone: Tombstone) -> None:
        at = datetime.fromtimestamp(tombstone.forgotten_at_ms / 1000, UTC)
        values = (tombstone.user_id, at, tombstone.reason)
        await asyncio.to_thread(self._session.execute, self._insert, values)

    async def get(self, user_id: str) -> Tombstone | None:
        rows = await asyncio.to_thread(self._session.execute, self._select, (user_id,))
        row = rows.one()
        if row is None:
            return None
        return Tombstone(row.user_id, _ms(row.forgotten_at), row.reason or "")

    async def all(self) -> dict[str, int]:
        """Every forgotten user -> forgotten_at (epoch ms)."""

        def scan() -> dict[str, int]:
            return {r.user_id: _ms(r.forgotten_at) for r in self._session.execute(self._scan)}

        try:
            return await asyncio.to_thread(scan)
        except DRIVER_ERRORS as exc:
            raise ColdStoreUnavailable(f"reading forgotten users: {exc}") from exc


class TombstoneSource(Protocol):
    async def all(self) -> dict[str, int]:
        """Every forgotten user -> forgotten_at (epoch ms)."""


class TombstoneCache:
    """What a consumer checks per event: the source's content (``TombstoneTable``), at most
    ``refresh_s`` old. Without a source it knows no forgotten user."""

    def __init__(
        self,
        table: TombstoneSource | None,
        *,
        refresh_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table
        self._refresh_s = refresh_s
        self._monotonic = monotonic
        self._loaded_at: float | None = None
        self.forgotten: Mapping[str, int] = {}

    async def refresh_if_due(self) -> None:
        """Reload from the table when the copy is older than ``refresh_s`` (or never loaded)."""
        if self._table is None:
            return
        now = self._monotonic()
        if self._loaded_at is not None and now - self._loaded_at < self._refresh_s:
            return
        try:
            self.forgotten = await self._table.all()
        except StoreError as exc:  # the cold tier is down: its writes wait anyway; retry soon
            log.warning("forgotten users not reloaded, keeping %d: %s", len(self.forgotten), exc)
            return
        self._loaded_at = now

    def is_forgotten(self, user_id: str, ts_ms: int) -> bool:
        """Whether an event of ``user_id`` at ``ts_ms`` belongs to forgotten data."""
        at = self.forgotten.get(user_id)
        return at is not None and ts_ms <= at
