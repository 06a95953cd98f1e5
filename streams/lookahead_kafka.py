"""The look-ahead's reader (``streams.lookahead.AheadReader``) on Kafka: an aiokafka consumer
with no group, assigned partitions and offsets by hand, committing nothing.

Its fetches are sized like the worker's (``streams.kafka_fetch.fetch_batching``): the broker
answers once it has ``kafka.fetch_min_bytes`` or after ``worker.fetch_wait_max_ms``. With
aiokafka's defaults (one byte) a reader at the head of the stream got an answer per message
that arrived: hundreds of fetches a second, each costing the broker and the worker CPU while a
partition is behind (DESIGN §15 has the measurement)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition

from core.settings import KafkaSettings, Settings
from streams.early_hydration import EarlyHydration
from streams.lookahead import LookAhead
from streams.messages import RawMessage

MAX_RECORDS = 2000
"""Records per fetch at most (the look-ahead indexes them between fetches)."""


class KafkaAheadReader:
    def __init__(self, kafka: KafkaSettings, topic: str, fetch_wait_max_ms: int) -> None:
        self.kafka = kafka
        self.topic = topic
        self.fetch_wait_max_ms = fetch_wait_max_ms
        self._consumer: AIOKafkaConsumer | None = None

    async def _started(self) -> AIOKafkaConsumer:
        """The consumer, made and started on first use (aiokafka needs the running loop)."""
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.kafka.bootstrap_servers,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                client_id="interstore-look-ahead",
                fetch_min_bytes=self.kafka.fetch_min_bytes,
                fetch_max_wait_ms=self.fetch_wait_max_ms,
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    def _tp(self, partition: int) -> TopicPartition:
        return TopicPartition(self.topic, partition)

    async def assign(self, starts: Mapping[int, int]) -> None:
        consumer = await self._started()
        consumer.assign([self._tp(p) for p in starts])
        for partition, offset in starts.items():
            consumer.seek(self._tp(partition), offset)

    def pause(self, partitions: Iterable[int]) -> None:
        if self._consumer is not None:
            self._consumer.pause(*(self._tp(p) for p in partitions))

    def resume(self, partitions: Iterable[int]) -> None:
        if self._consumer is not None:
            self._consumer.resume(*(self._tp(p) for p in partitions))

    def highwater(self, partition: int) -> int | None:
        if self._consumer is None or self._tp(partition) not in self._consumer.assignment():
            return None
        highwater: int | None = self._consumer.highwater(self._tp(partition))
        return highwater

    async def fetch(self, timeout_s: float) -> list[RawMessage]:
        if self._consumer is None or not self._consumer.assignment():
            return []
        batches = await self._consumer.getmany(
            timeout_ms=int(timeout_s * 1000), max_records=MAX_RECORDS
        )
        now = time.monotonic()
        out = []
        for records in batches.values():
            for r in records:
                value = r.value or b""
                out.append(
                    RawMessage(r.topic, r.partition, r.offset, r.key, value, now, r.timestamp)
                )
        return out

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


def kafka_lookahead(
    settings: Settings,
    early: EarlyHydration,
    owned: Callable[[], set[int]],
    highwater: Callable[[int], int | None],
) -> LookAhead | None:
    """The worker's look-ahead on the events topic (None when ``worker.lookahead`` is off):
    ``owned`` and ``highwater`` come from whichever consumer takes the topic."""
    worker = settings.worker
    if not worker.lookahead:
        return None
    return LookAhead(
        early,
        KafkaAheadReader(settings.kafka, settings.topics.events, worker.fetch_wait_max_ms),
        owned,
        highwater,
        min_lag=worker.lookahead_min_lag,
        max_held=worker.lookahead_max_held,
    )
