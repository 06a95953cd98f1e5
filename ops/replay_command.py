"""``interstore replay`` end to end: plan, dry run or run, summary. The one factory of a replay's
parts (tests and the benchmark build replays through it too)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, Producer
from rich.console import Console
from rich.table import Table

from core.settings import Settings
from features.updater_factory import build_updater
from ops.features_sink import FeatureSink
from ops.replay import Replay, ReplayError, ReplaySummary
from ops.replay_batch import COUNTS, BatchJudge
from ops.replay_plan import PartitionRange, group_name, plan_ranges, read_offsets_file
from ops.replay_progress import ReplayProgress
from schemas.codec import default_codec
from store.cassandra_cold import CassandraColdStore
from store.cassandra_session import open_session
from store.tombstones import TombstoneCache, TombstoneTable

TARGETS = ("cold", "features")
"""What a replay can rebuild: the cold tier, the feature store's current generation."""


@dataclass(frozen=True)
class ReplayRequest:
    topics: tuple[str, ...]
    start_at: int | str | None = "earliest"
    offsets_file: Path | None = None
    end_at: int | None = None
    users_file: Path | None = None
    targets: tuple[str, ...] = ("cold",)
    rate: float | None = None
    dry_run: bool = False
    dead_letters: bool = True
    group: str | None = None

    def users(self) -> frozenset[str] | None:
        if self.users_file is None:
            return None
        lines = self.users_file.read_text().splitlines()
        return frozenset(line.strip() for line in lines if line.strip())

    def group_for(self, settings: Settings) -> str:
        if self.group:
            return self.group
        key = {
            "topics": sorted(self.topics), "from": self.start_at, "to": self.end_at,
            "offsets": self.offsets_file.read_text() if self.offsets_file else None,
            "users": sorted(self.users() or ()), "targets": sorted(self.targets),
            "keyspace": settings.cassandra.keyspace,
        }  # fmt: skip
        return group_name(settings.ops.replay_group_prefix, key)


def open_consumer(settings: Settings, group: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": settings.kafka.bootstrap_servers,
            "group.id": group,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "fetch.max.bytes": 64 << 20,
            "max.partition.fetch.bytes": 8 << 20,
        }
    )


def plan(settings: Settings, request: ReplayRequest, consumer: Consumer) -> list[PartitionRange]:
    offsets = read_offsets_file(request.offsets_file) if request.offsets_file else None
    return plan_ranges(
        consumer, request.topics, start_at=request.start_at, end_at=request.end_at,
        offsets=offsets,
    )  # fmt: skip


@contextmanager
def replay_parts(settings: Settings, request: ReplayRequest) -> Iterator[Replay]:
    """A Replay over the settings' keyspace; closes what it opened."""
    unknown = sorted(set(request.targets) - set(TARGETS))
    if unknown:
        raise ReplayError(f"unknown replay targets {unknown}; available: {list(TARGETS)}")
    session = open_session(settings.cassandra)
    producer = None
    try:
        cold = None
        if "cold" in request.targets:
            cold = CassandraColdStore(
                session, settings.cassandra.keyspace, settings.retention,
                concurrency=settings.ops.replay_write_concurrency,
            )  # fmt: skip
        features = None
        if "features" in request.targets:
            updater, control = build_updater(settings, session)
            features = FeatureSink(
                updater, settings.topics.partitions, users_only=request.users_file is not None,
                control=control,
            )  # fmt: skip
        table = TombstoneTable(session, settings.cassandra.keyspace)
        tombstones = TombstoneCache(table, refresh_s=settings.ops.tombstone_refresh_s)
        judge = BatchJudge(
            default_codec(), settings.retention, tombstones,
            dead_letter_topic=settings.topics.dead_letters, users=request.users(),
            cold=cold is not None, features=features is not None,
        )  # fmt: skip
        if request.dead_letters:
            producer = Producer(
                {"bootstrap.servers": settings.kafka.bootstrap_servers,
                 "enable.idempotence": True, "acks": "all", "linger.ms": 5}
            )  # fmt: skip
        yield Replay(
            settings, cold, judge, tombstones, dead_letters=producer, rate=request.rate,
            features=features,
        )  # fmt: skip
    finally:
        if producer is not None:
            producer.flush(30)
        session.cluster.shutdown()


def run_replay(settings: Settings, request: ReplayRequest, console: Console) -> ReplaySummary:
    """Plan; print the plan (and stop there for a dry run); replay; print the summary."""
    group = request.group_for(settings)
    consumer = open_consumer(settings, group)
    try:
        ranges = plan(settings, request, consumer)
        console.print(
            f"checkpoint: committed offsets of Kafka consumer group [bold]{group}[/] "
            "(rerun the same command to resume)", highlight=False,
        )  # fmt: skip
        print_plan(ranges, console)
        if request.dry_run:
            return ReplaySummary(group)
        with replay_parts(settings, request) as replay:
            every = settings.ops.replay_progress_s
            with ReplayProgress(ranges, console, every_s=every) as progress:
                summary = asyncio.run(replay.run(consumer, ranges, group, progress))
        print_summary(summary, console)
        return summary
    finally:
        consumer.close()


def print_plan(ranges: list[PartitionRange], console: Console) -> None:
    table = Table(title="replay plan (offsets: start, end exclusive, next to read)")
    for column in ("topic", "partition", "start", "end", "next", "done", "to read"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    for r in ranges:
        done = r.position - r.start
        table.add_row(
            r.topic, str(r.partition), f"{r.start:,}", f"{r.end:,}", f"{r.position:,}",
            f"{done:,}", f"{r.remaining:,}",
        )  # fmt: skip
    total = sum(r.remaining for r in ranges)
    table.add_row("all", "", "", "", "", f"{sum(r.total for r in ranges) - total:,}", f"{total:,}")
    console.print(table)


def print_summary(summary: ReplaySummary, console: Console) -> None:
    table = Table(title=f"replay summary: {summary.offsets:,} offsets in {summary.elapsed_s:.1f}s "
                        f"({summary.events_per_s:,.0f} events/s)")  # fmt: skip
    table.add_column("kind")
    for name in COUNTS:
        table.add_column(name.replace("_", " "), justify="right")
    for kind, counts in summary.per_kind().items():
        table.add_row(kind, *(f"{counts[name]:,}" for name in COUNTS))
    console.print(table)
    if summary.features is not None:
        console.print(
            "features: " + ", ".join(f"{n} {v:,}" for n, v in summary.features.items()),
            highlight=False,
        )
