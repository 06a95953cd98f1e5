"""``interstore inspect user``: one user across the tiers, as JSON-ready data and as a table."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from cassandra import InvalidRequest
from rich.console import Console
from rich.table import Table

from core.clock import wall_clock_ms
from core.settings import Settings
from features.catalogue import load_catalogue
from ops.inspect_features import user_features
from store.cassandra_session import open_session
from store.cassandra_user_data import CassandraUserData
from store.errors import SchemaError
from store.redis_features import RedisFeatureStore
from store.redis_hot import RedisHotStore
from store.redis_user_data import RedisUserData
from store.tombstones import TombstoneTable


async def gather_report(
    user_id: str, hot: RedisUserData, cold: CassandraUserData, tombstones: TombstoneTable,
    features: Awaitable[dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    state, summary, tombstone, values = await asyncio.gather(
        hot.state(user_id), cold.summary(user_id), tombstones.get(user_id), features
    )
    return {
        "user_id": user_id,
        "live": state.live,
        "session": None if not state.live else {
            "started_ms": state.started_ms, "last_seen_ms": state.seen_ms,
            "dirty": state.dirty, "partition": state.partition,
        },
        "kinds": {
            kind: {
                "hot": state.views[kind][0], "hot_newest_ms": state.views[kind][1],
                "cold": s.count, "cold_newest_ms": s.newest_ms,
            }
            for kind, s in summary.items()
        },
        "features": values,
        "tombstone": None if tombstone is None else {
            "forgotten_at_ms": tombstone.forgotten_at_ms, "reason": tombstone.reason,
        },
        "at_ms": wall_clock_ms(),
    }  # fmt: skip


def inspect_user_report(settings: Settings, user_id: str) -> dict[str, Any]:
    catalogue = load_catalogue(settings.features.definitions_path)
    session = open_session(settings.cassandra)
    hot = RedisHotStore(settings.redis, settings.session, settings.retention)
    keyspace = settings.cassandra.keyspace

    try:
        tombstones = TombstoneTable(session, keyspace)
        cold = CassandraUserData(session, keyspace, settings.retention)
    except InvalidRequest as exc:
        session.cluster.shutdown()
        raise SchemaError(f"keyspace {keyspace}: {exc}: run `interstore schema apply`") from exc

    async def run() -> dict[str, Any]:
        feature_store = RedisFeatureStore(settings.redis, settings.features)
        values = user_features(
            catalogue, feature_store, settings.features.key_prefix, user_id, wall_clock_ms()
        )
        try:
            return await gather_report(
                user_id, RedisUserData(hot), cold, tombstones, values,
            )  # fmt: skip
        finally:
            await hot.close()
            await feature_store.close()

    try:
        return asyncio.run(run())
    finally:
        session.cluster.shutdown()


def _when(ms: int | None, now_ms: int) -> str:
    if ms is None:
        return "-"
    text = datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{text} ({(now_ms - ms) / 1000:,.0f}s ago)"


def print_report(report: dict[str, Any], console: Console) -> None:
    now = report["at_ms"]
    console.print(f"[bold]{report['user_id']}[/]", highlight=False)
    session = report["session"]
    if session is None:
        console.print("live: no (not in a session)")
    else:
        console.print(
            f"live: yes, since {_when(session['started_ms'], now)}, last seen "
            f"{_when(session['last_seen_ms'], now)}, {session['dirty']} dirty, "
            f"partition {session['partition']}", highlight=False,
        )  # fmt: skip
    table = Table("kind", "hot", "hot newest", "cold", "cold newest")
    for kind, k in report["kinds"].items():
        table.add_row(
            kind, str(k["hot"]), _when(k["hot_newest_ms"], now), str(k["cold"]),
            _when(k["cold_newest_ms"], now),
        )  # fmt: skip
    console.print(table)
    for group, found in report["features"].items():
        if found is None or "values" not in found:
            console.print(f"features {group}: {'none' if found is None else found['error']}")
            continue
        values = ", ".join(f"{name}={value!r}" for name, value in found["values"].items())
        console.print(
            f"features {group} (newest event {found['newest_event_age_s']:,}s ago, computed "
            f"{found['computed_age_s']:,}s ago): {values}", highlight=False,
        )  # fmt: skip
    tombstone = report["tombstone"]
    if tombstone is None:
        console.print("tombstone: none")
    else:
        console.print(
            f"tombstone: forgotten {_when(tombstone['forgotten_at_ms'], now)}, "
            f"reason {tombstone['reason']!r}", highlight=False,
        )  # fmt: skip
