"""Per-partition offsets of the batch consumer (``streams.batch_consumer``): where batching
stands, what was acked and committed, and how far behind each partition is."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from confluent_kafka import Consumer, TopicPartition

from streams.messages import RawMessage

BROKER_TIMEOUT_S = 5.0
"""Offsets the consumer does not know yet are asked of the broker, waiting this long at most."""


class PartitionOffsets:
    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.next: dict[int, int] = {}
        """The offset of the next message to go into a batch (once one was fetched)."""
        self.acked: dict[int, int] = {}
        """The next offset to commit: every event before it is safe."""
        self.committed: dict[int, int] = {}

    def fetched(self, message: RawMessage) -> None:
        self.next.setdefault(message.partition, message.offset)

    def batched(self, batch: Sequence[RawMessage]) -> None:
        for message in batch:
            self.next[message.partition] = message.offset + 1

    def ack(self, batch: Sequence[RawMessage]) -> None:
        for message in batch:  # in offset order per partition: no gaps
            self.acked[message.partition] = message.offset + 1

    def to_commit(self, owned: Iterable[int]) -> list[TopicPartition]:
        """The acked offsets of ``owned`` partitions not committed yet."""
        held = set(owned)
        return [
            TopicPartition(self.topic, partition, offset)
            for partition, offset in self.acked.items()
            if partition in held and self.committed.get(partition) != offset
        ]

    def commit_sent(self, offsets: Iterable[TopicPartition]) -> None:
        self.committed.update({tp.partition: tp.offset for tp in offsets})

    def commit_failed(self) -> None:
        self.committed.clear()  # the next commit sends every acked offset again

    def assigned(self) -> None:
        self.next.clear()

    def revoked(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self.next.pop(partition, None)
            self.acked.pop(partition, None)
            self.committed.pop(partition, None)

    def backlog(
        self,
        consumer: Consumer,
        partitions: Sequence[int],
        highwater: Callable[[int], int | None],
    ) -> dict[int, int]:
        """Per partition, the messages not yet in a batch (buffered, fetched by librdkafka or
        not fetched yet): the high watermark minus the next offset to batch (the committed
        offset where nothing was fetched yet). Blocking: asks the broker what is not known."""
        starts = {p: self.next[p] for p in partitions if p in self.next}
        starts |= self.starts(consumer, [p for p in partitions if p not in starts])
        backlog = {}
        for partition, start in starts.items():
            high = highwater(partition)
            if high is None:
                tp = TopicPartition(self.topic, partition)
                _, high = consumer.get_watermark_offsets(tp, timeout=BROKER_TIMEOUT_S)
            backlog[partition] = max(0, high - start)
        return backlog

    def starts(self, consumer: Consumer, partitions: Sequence[int]) -> dict[int, int]:
        """Where a consumer of the group starts each partition: its committed offset, or its
        first offset where nothing is committed (``auto.offset.reset`` is ``earliest``).
        Blocking: asks the broker."""
        starts = {}
        asked = [TopicPartition(self.topic, p) for p in partitions]
        for tp in consumer.committed(asked, timeout=BROKER_TIMEOUT_S) if asked else []:
            if tp.offset < 0:  # nothing committed yet: the partition's start
                tp.offset, _ = consumer.get_watermark_offsets(tp, timeout=BROKER_TIMEOUT_S)
            starts[tp.partition] = tp.offset
        return starts
