"""``interstore features rebuild`` end to end: the one factory of a rebuild's parts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from confluent_kafka import Consumer
from rich.console import Console
from rich.table import Table

from core.settings import Settings
from features.catalogue import load_catalogue
from features.updater_factory import build_updater
from ops.features_rebuild import Rebuild, RebuildSummary
from ops.features_rebuild_groups import rebuilt_entities
from ops.replay_command import open_consumer
from store.cassandra_session import open_session
from store.tombstones import TombstoneCache, TombstoneTable


def run_rebuild(
    settings: Settings,
    start_at: int | str,
    console: Console,
    *,
    rate: float | None = None,
    groups: list[str] | None = None,
) -> RebuildSummary:
    """Rebuild the feature store from ``start_at`` (epoch ms or "earliest") with the
    definitions of ``settings.features.definitions_path``; print and return the summary.
    ``groups``: only those groups' entities (names checked before anything is opened), the
    others carried over; with ``start_at`` a time, the recomputed ones from that time on."""
    catalogue = load_catalogue(settings.features.definitions_path)
    if groups is not None:
        rebuilt_entities(catalogue, groups)  # UnknownGroups before anything is written
    session = open_session(settings.cassandra)
    try:
        updater, control = build_updater(settings, session, catalogue=catalogue)
        table = TombstoneTable(session, settings.cassandra.keyspace)
        tombstones = TombstoneCache(table, refresh_s=settings.ops.tombstone_refresh_s)

        def consumer(group: str) -> Consumer:
            return open_consumer(settings, group)

        rebuild = Rebuild(
            settings, updater, control, tombstones, consumer, console, rate=rate, groups=groups
        )

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
    recomputed = ", ".join(summary.groups) if summary.groups else "all groups"
    if summary.from_ms is not None:
        since = datetime.fromtimestamp(summary.from_ms / 1000, UTC).isoformat(timespec="seconds")
        console.print(
            f"{recomputed} recomputed from events at or after {since} ({summary.from_ms}): "
            "their windows hold no older event (a window of N days is complete N days after "
            "it)" + ("; the other groups were carried over whole" if summary.groups else ""),
            highlight=False,
        )
    table = Table(
        title=f"features rebuild ({recomputed}): generation {summary.previous} -> "
        f"{summary.generation} (definitions {summary.definitions}), {summary.events:,} offsets "
        f"in {summary.elapsed_s:.1f}s, worker paused {summary.paused_s:.2f}s"
    )
    columns = ("applied", "duplicates", "late", "forgotten", "old keys dropped")
    carry = ("states carried over", "their events skipped", "events before --from")
    for column in (*columns, *carry):
        table.add_column(column, justify="right")
    f, c = summary.features, summary.carried
    numbers = (f.applied, f.duplicates, f.late, f.forgotten, summary.dropped_keys)
    table.add_row(*(f"{n:,}" for n in (*numbers, c.states, c.skipped_events, c.before_from)))
    console.print(table)
