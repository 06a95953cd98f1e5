"""Forgetting a user: every tier erased, a tombstone against resurrection, an audit entry.

Order: the tombstone first (from then on consumers that reload it skip the user's older events),
then the hot tier (the live session ends WITHOUT a flush, so nothing hot goes back to cold), then
the cold tier, then the user's features (``features.forgetting``, through ``FeatureEraser``).
Consumers reload tombstones every ``settle_s`` at most, and a session flush (or a features
batch) that read before the erase may still write: after ``settle_s`` every tier is erased a
second time, which catches what such a consumer wrote in between.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from cassandra import InvalidRequest
from cassandra.cluster import Session

from core.clock import Clock, wall_clock_ms
from core.settings import RetentionSettings
from store.audit import AuditLog
from store.cassandra_user_data import CassandraUserData
from store.errors import SchemaError
from store.redis_hot import RedisHotStore
from store.redis_user_data import RedisUserData
from store.tombstones import Tombstone, TombstoneTable

SETTLE_MARGIN_S = 1.0
"""Beyond the consumers' tombstone refresh interval, before the second erase."""


class FeatureEraser(Protocol):
    async def erase(self, user_id: str) -> int:
        """Erase the user's features; returns how many entity states were erased."""
        ...


@dataclass(frozen=True, slots=True)
class ForgetReport:
    user_id: str
    forgotten_at_ms: int
    reason: str
    cold_rows: dict[str, int]
    """Rows per kind in the cold tier before the erase."""
    was_live: bool
    hot_interactions: int
    """Interactions in the user's hot views and dirty set before the erase."""
    audit_id: str
    feature_states: int = 0
    """The user's entity states erased in the feature store (first pass)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Forgetter:
    def __init__(
        self,
        tombstones: TombstoneTable,
        cold: CassandraUserData,
        hot: RedisUserData,
        audit: AuditLog,
        *,
        settle_s: float,
        clock: Clock = wall_clock_ms,
        features: FeatureEraser | None = None,
    ) -> None:
        self.features = features
        self.tombstones = tombstones
        self.cold = cold
        self.hot = hot
        self.audit = audit
        self.settle_s = settle_s
        self.clock = clock

    async def forget(self, user_id: str, *, reason: str, actor: str) -> ForgetReport:
        if not user_id:
            raise ValueError("user_id must not be empty")
        at_ms = self.clock()
        await self.tombstones.record(Tombstone(user_id, at_ms, reason))
        cold_before = await self.cold.summary(user_id)
        hot_before = await self.hot.erase(user_id)
        await self.cold.erase(user_id)
        states = 0 if self.features is None else await self.features.erase(user_id)
        await asyncio.sleep(self.settle_s)
        await self.hot.erase(user_id)
        await self.cold.erase(user_id)
        if self.features is not None:
            await self.features.erase(user_id)
        cold_rows = {kind: s.count for kind, s in cold_before.items()}
        hot_count = hot_before.dirty + sum(count for count, _ in hot_before.views.values())
        detail = {
            "cold_rows": cold_rows, "was_live": hot_before.live, "hot": hot_count,
            "feature_states": states,
        }  # fmt: skip
        entry = await self.audit.record(
            "forget_user", user_id, actor=actor, reason=reason, detail=detail, at_ms=at_ms
        )
        return ForgetReport(
            user_id, at_ms, reason, cold_rows, hot_before.live, hot_count, str(entry), states
        )


def build_forgetter(
    session: Session,
    hot: RedisHotStore,
    *,
    keyspace: str,
    retention: RetentionSettings,
    tombstone_refresh_s: float,
    features: FeatureEraser | None = None,
) -> Forgetter:
    """The one way to build a Forgetter (the CLI, the API and the tests use it); it erases
    again ``SETTLE_MARGIN_S`` after the consumers' tombstone refresh interval. SchemaError if
    the keyspace lacks the tables of ``schemas/cql/005_forgotten_users.cql``."""
    try:
        return _forgetter(session, hot, keyspace, retention, tombstone_refresh_s, features)
    except InvalidRequest as exc:
        raise SchemaError(
            f"keyspace {keyspace} lacks the forgotten_users or audit_log table ({exc}): "
            "run `interstore schema apply`"
        ) from exc


def _forgetter(
    session: Session, hot: RedisHotStore, keyspace: str, retention: RetentionSettings,
    tombstone_refresh_s: float, features: FeatureEraser | None,
) -> Forgetter:  # fmt: skip
    return Forgetter(
        TombstoneTable(session, keyspace),
        CassandraUserData(session, keyspace, retention),
        RedisUserData(hot),
        AuditLog(session, keyspace),
        settle_s=tombstone_refresh_s + SETTLE_MARGIN_S,
        features=features,
    )
