"""The audit trail of operator actions on user data: a log line and a row of ``audit_log``."""

from __future__ import annotations

import asyncio
import logging
import uuid

import orjson
from cassandra.cluster import Session
from cassandra.util import uuid_from_time

from store.buckets import DAY_MS

log = logging.getLogger("interstore.audit")


class AuditLog:
    def __init__(self, session: Session, keyspace: str) -> None:
        if not keyspace.isidentifier():
            raise ValueError(f"keyspace name {keyspace!r} is not a valid CQL identifier")
        self._session = session
        self._insert = session.prepare(
            f"INSERT INTO {keyspace}.audit_log"  # noqa: S608 - identifiers
            " (day, at, action, user_id, actor, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        self._recent = session.prepare(
            f"SELECT at, action, user_id, actor, reason, detail FROM {keyspace}.audit_log"  # noqa: S608
            " WHERE day = ? LIMIT ?"
        )

    async def record(
        self, action: str, user_id: str, *, actor: str, reason: str, detail: dict[str, object],
        at_ms: int,
    ) -> uuid.UUID:  # fmt: skip
        """Log and store one entry; returns its id (a time UUID of ``at_ms``)."""
        entry_id: uuid.UUID = uuid_from_time(at_ms / 1000)
        text = orjson.dumps(detail).decode()
        log.warning("AUDIT %s user=%r actor=%s reason=%r %s", action, user_id, actor, reason, text)
        values = (at_ms // DAY_MS, entry_id, action, user_id, actor, reason, text)
        await asyncio.to_thread(self._session.execute, self._insert, values)
        return entry_id

    async def of_day(self, day: int, limit: int = 100) -> list[dict[str, object]]:
        rows = await asyncio.to_thread(self._session.execute, self._recent, (day, limit))
        return [
            {"id": str(r.at), "action": r.action, "user_id": r.user_id, "actor": r.actor,
             "reason": r.reason, "detail": orjson.loads(r.detail or "{}")}
            for r in rows
        ]  # fmt: skip
