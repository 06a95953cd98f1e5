"""When the hot tier has lost its data (Redis restarted empty, flushed): replay each affected
partition from its watermark into the cold tier, then mark the partition intact again.

A per-partition sentinel key in the hot tier tells: it is written when a worker takes care of
the partition and checked before every batch and on every tracker tick. Nothing is lost: every
interaction that was only in the hot tier has an offset at or after the saved watermark.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, TopicPartition

from core.settings import KafkaSettings
from schemas.codec import Codec
from schemas.errors import SchemaError
from schemas.intake import check_message
from schemas.validation import DEFAULT_LIMITS, ValidationLimits
from store.hot import HotStore
from store.interactions import Interaction
from store.tombstones import TombstoneCache
from streams.metrics import WorkerMetrics
from streams.sessions import PartitionWatermarks, Writer

log = logging.getLogger(__name__)
REPLAY_BATCH = 1000


class PartitionReplayer:
    """Reads one partition from an offset to its current end, and writes its interactions."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        codec: Codec,
        write: Writer,
        *,
        clock_ms: Callable[[], int],
        limits: ValidationLimits = DEFAULT_LIMITS,
        metrics: WorkerMetrics | None = None,
        tombstones: TombstoneCache | None = None,
    ) -> None:
        self.metrics = metrics
        self.tombstones = tombstones or TombstoneCache(None, refresh_s=1.0)
        self.kafka = kafka
        self.topic = topic
        self.codec = codec
        self.write = write
        self.clock_ms = clock_ms
        self.limits = limits

    async def replay(self, partition: int, from_offset: int) -> int:
        """Copy from ``from_offset`` (or the log start, if retention removed that offset: the
        records between are gone, counted in ``replay_truncated`` and logged) to the end the
        partition has now. Stops at that end, at end-of-partition or once the consumer's
        position passes it, whatever the last offsets hold (a transaction marker, an aborted
        record)."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.kafka.bootstrap_servers,
                "group.id": f"interstore-hot-recovery-{self.topic}-{partition}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
            }
        )
        where = TopicPartition(self.topic, partition)
        try:
            start, end = await asyncio.to_thread(consumer.get_watermark_offsets, where, 10.0)
            if from_offset < start:
                log.error(
                    "replay of %s[%d] wanted offset %d, the log starts at %d: the records "
                    "between are gone (retention) and cannot be replayed",
                    self.topic, partition, from_offset, start,
                )  # fmt: skip
                if self.metrics is not None:
                    self.metrics.replay_truncated.inc()
            start = max(start, from_offset)
            if start >= end:
                return 0
            consumer.assign([TopicPartition(self.topic, partition, start)])
            return await self._copy(consumer, where, end)
        finally:
            await asyncio.to_thread(consumer.close)

    async def _copy(self, consumer: Consumer, where: TopicPartition, end: int) -> int:
        written = 0
        done = False
        while not done:
            messages = await asyncio.to_thread(consumer.consume, REPLAY_BATCH, 1.0)
            batch: list[Interaction] = []
            for message in messages:
                error, position = message.error(), message.offset()
                if error is not None:
                    done = done or error.code() == KafkaError._PARTITION_EOF
                    continue
                if position is None or position >= end - 1:
                    done = True
                    if position is None or position >= end:
                        continue
                interaction = self._interaction(message.value(), message.key())
                if interaction is not None:
                    batch.append(interaction)
            if batch:
                await self.write(batch)
                written += len(batch)
            if not done and not messages:  # nothing came: past the end (markers only)?
                [now] = await asyncio.to_thread(consumer.position, [where])
                done = now.offset >= end
        return written

    def _interaction(self, value: bytes | None, key: bytes | None) -> Interaction | None:
        """The interaction in a message, or None (app_opens; bad messages were dead-lettered
        when first consumed)."""
        try:
            event = check_message(
                self.codec, value, key=key, now_ms=self.clock_ms(), limits=self.limits
            )
        except SchemaError:
            return None
        if event.kind == "app_open":
            return None
        interaction = Interaction.from_record(event.kind, event.record)
        if self.tombstones.is_forgotten(interaction.user_id, interaction.ts_ms):
            return None  # a forgotten user's event: never back into the cold tier
        return interaction


class Replayer(Protocol):
    topic: str

    async def replay(self, partition: int, from_offset: int) -> int:
        """Write the interactions of the partition from ``from_offset`` on to the cold tier."""


class HotRecovery:
    def __init__(
        self,
        hot: HotStore,
        watermarks: PartitionWatermarks,
        replayer: Replayer,
        metrics: WorkerMetrics,
    ) -> None:
        self.hot = hot
        self.watermarks = watermarks
        self.replayer = replayer
        self.metrics = metrics

    async def ensure_intact(self, partitions: Iterable[int]) -> None:
        """Recover every partition whose sentinel is gone; afterwards all are intact."""
        for partition in await self.hot.lost_partitions(partitions):  # one round trip
            await self.watermarks.load()
            start = self.watermarks.saved.get(partition)
            if start is not None:
                log.warning(
                    "hot tier lost its data: replaying %s[%d] from offset %d into the cold tier",
                    self.replayer.topic, partition, start,
                )  # fmt: skip
                count = await self.replayer.replay(partition, start)
                self.metrics.recoveries.inc()
                log.warning("replayed %d interactions of partition %d", count, partition)
            await self.hot.set_sentinel(partition)
            dirty = await self.hot.min_dirty_offsets([partition])
            await self.watermarks.advance(partition, dirty.get(partition))
