"""A worker's services over in-memory stores, built by the worker's own factory
(``streams.services.build_worker``): what the unit tests of the worker drive."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from core.settings import (
    RetentionSettings,
    SessionSettings,
    Settings,
    TopicSettings,
    WorkerSettings,
)
from schemas.codec import encode
from store.interactions import Interaction
from store.tombstones import TombstoneCache
from streams.dead_letters import DeadLetterSink
from streams.messages import RawMessage
from streams.metrics import WorkerMetrics
from streams.services import WorkerStores, build_worker
from tests.support.memory_cold import InMemoryColdStore
from tests.support.memory_dead_letters import InMemoryDeadLetterSink
from tests.support.memory_hot import InMemoryHotStore
from tests.support.memory_watermarks import InMemoryWatermarkStore

NOW_MS = 1_750_000_000_000
IDLE_MS = 60_000
GROUP, TOPIC = "g", "events"


class Clock:
    def __init__(self) -> None:
        self.now = NOW_MS

    def __call__(self) -> int:
        return self.now


class ListReplayer:
    """Replays from a list of (partition, offset, interaction) instead of Kafka."""

    topic = TOPIC

    def __init__(self, cold: InMemoryColdStore) -> None:
        self.cold = cold
        self.log: list[tuple[int, int, Interaction]] = []

    async def replay(self, partition: int, from_offset: int) -> int:
        items = [i for p, o, i in self.log if p == partition and o >= from_offset]
        await self.cold.write_many(items)
        return len(items)


def worker_settings() -> Settings:
    return Settings(
        worker=WorkerSettings(app_id=GROUP, retry_initial_s=0.001, retry_max_s=0.002),
        topics=TopicSettings(events=TOPIC),
        session=SessionSettings(idle_s=IDLE_MS // 1000, max_session_s=4 * 3600),
        retention=RetentionSettings(),
    )


class Forgotten:
    """Tombstones as a fixed mapping (the worker reads ``store.tombstones.TombstoneTable``)."""

    def __init__(self, forgotten: dict[str, int] | None) -> None:
        self.forgotten = dict(forgotten or {})

    async def all(self) -> dict[str, int]:
        return dict(self.forgotten)


class World:
    """The worker's services (``services``) over in-memory stores, and their stores."""

    def __init__(
        self,
        *,
        behind: bool = False,
        cold: InMemoryColdStore | None = None,
        hot: type[InMemoryHotStore] = InMemoryHotStore,
        dead_letters: DeadLetterSink | None = None,
        forgotten: dict[str, int] | None = None,
    ) -> None:
        settings = worker_settings()
        self.clock = Clock()
        self.cold = cold or InMemoryColdStore(settings.retention, clock=self.clock)
        self.hot = hot(settings.session, settings.retention, clock=self.clock)
        self.marks = InMemoryWatermarkStore()
        self.dead_letters = InMemoryDeadLetterSink()
        self.replayer = ListReplayer(self.cold)
        self.services = build_worker(
            settings,
            WorkerStores(
                self.cold, self.hot, self.marks, TombstoneCache(Forgotten(forgotten), refresh_s=1)
            ),
            WorkerMetrics(),
            dead_letters=dead_letters or self.dead_letters,
            replayer=self.replayer,
            behind=lambda _: behind,
            clock_ms=self.clock,
        )
        self.pipeline = self.services.pipeline
        self.tracker = self.services.tracker
        self.recovery = self.services.recovery
        self.metrics = self.services.metrics
        self.offsets = itertools.count()
        self.acked: list[int] = []

    def messages(
        self,
        events: Sequence[tuple[str, dict[str, Any]]],
        *,
        partition: int = 0,
        key: bytes | None = b"u",
        consumed_s: float | None = None,
    ) -> list[RawMessage]:
        """Messages of these events at the next offsets (the replayer's log gets their
        interactions); ``key=None``: each keyed by its user id."""
        out = []
        for kind, record in events:
            offset = next(self.offsets)
            k = record["user_id"].encode() if key is None else key
            value = encode(kind, record)
            out.append(RawMessage(TOPIC, partition, offset, k, value, consumed_s))
            if kind != "app_open":
                self.replayer.log.append((partition, offset, Interaction.from_record(kind, record)))
        return out

    async def run(self, messages: Sequence[RawMessage]) -> None:
        """One batch through the worker's batch protocol; records the offsets acked."""

        async def ack() -> None:
            self.acked.extend(m.offset for m in messages)

        await self.services.batches.run(messages, ack)

    async def send(self, events: Sequence[tuple[str, dict[str, Any]]], partition: int = 0) -> None:
        await self.run(self.messages(events, partition=partition))


def stage_count(metrics: WorkerMetrics, stage: str) -> float:
    """Observations of a worker stage (``interstore_stage_seconds``) so far."""
    return sum(
        sample.value
        for metric in metrics.registry.collect()
        for sample in metric.samples
        if sample.name == "interstore_stage_seconds_count" and sample.labels["stage"] == stage
    )


def click(n: int, user: str = "u1") -> tuple[str, dict[str, Any]]:
    return "click", {
        "event_id": f"c{n}", "user_id": user, "ts": NOW_MS - 100_000 + n, "product_id": "p",
        "category_id": "c", "surface": "home", "position": n,
    }  # fmt: skip


def app_open(n: int, user: str = "u1") -> tuple[str, dict[str, Any]]:
    return "app_open", {"event_id": f"o{n}", "user_id": user, "ts": NOW_MS - 100_000 + n}


async def ids_in_cold(world: World, user: str = "u1") -> list[str]:
    return [i.event_id for i in await world.cold.recent(user, limit=1000, now_ms=NOW_MS)]
