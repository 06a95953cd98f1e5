"""``interstore features rebuild`` end to end: the one factory of a rebuild's parts."""

from __future__ import annotations

import asyncio

from confluent_kafka import Consumer
from rich.console import Console
from rich.table import Table

from core.settings import Settings
from features.updater_factory import build_updater
from ops.features_rebuild import Rebuild, RebuildSummary
from ops.replay_command import open_consumer
from store.cassandra_session import open_session
from store.tombstones import TombstoneCache, TombstoneTable


def run_rebuild(
    settings: Settings, start_at: int | str, console: Console, *, rate: float | None = None
) -> RebuildSummary:
    """Rebuild the feature store from ``start_at`` (epoch ms or "earliest") with the
    definitions of ``settings.features.definitions_path``; print and return the summary."""
    session = open_session(settings.cassandra)
    try:
        updater, control = build_updater(settings, session, gated=False)
        table = TombstoneTable(session, settings.cassandra.keyspace)
        tombstones = TombstoneCache(table, refresh_s=settings.ops.tombstone_refresh_s)

        def consumer(group: str) -> Consumer:
            return open_consumer(settings, group)

        rebuild = Rebuild(settings, updater, control, tombstones, consumer, console, rate=rate)

        async def run() -> RebuildSummary:
            try:
                return await rebuild.run(start_at)
            finally:
                await control.client.aclose()

        summary = asyncio.run(run())
    finally:
        session.cluster.shutdown()
    print_summary(summary, console)
    return summary


def print_summary(summary: RebuildSummary, console: Console) -> None:
    table = Table(
        title=f"features rebuild: generation {summary.previous} -> {summary.generation} "
        f"(definitions {summary.definitions}), {summary.events:,} offsets in "
        f"{summary.elapsed_s:.1f}s, worker paused {summary.paused_s:.2f}s"
    )
    for column in ("applied", "duplicates", "late", "forgotten", "old keys dropped"):
        table.add_column(column, justify="right")
    f = summary.features
    table.add_row(
        *(f"{n:,}" for n in (f.applied, f.duplicates, f.late, f.forgotten, summary.dropped_keys))
    )
    console.print(table)
