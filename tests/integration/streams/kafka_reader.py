"""Read a whole topic back, to check what a producer wrote."""

from __future__ import annotations

import time

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from core.settings import KafkaSettings


def read_topic(kafka: KafkaSettings, topic: str, timeout_s: float = 60.0) -> list[Message]:
    """Every message in ``topic``, read from the beginning up to the high watermarks."""
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": f"{topic}-check",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(timeout=30).topics[topic].partitions
        ends = {}
        for partition in partitions:
            _, high = _high_watermark(consumer, TopicPartition(topic, partition))
            if high > 0:
                ends[partition] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        messages: list[Message] = []
        deadline = time.monotonic() + timeout_s
        while ends and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=1.0):
                error = message.error()
                if error is not None and error.code() != KafkaError._PARTITION_EOF:
                    raise AssertionError(f"consume error: {error}")
                if error is None:
                    messages.append(message)
                    partition, offset = message.partition(), message.offset()
                    if partition in ends and offset is not None and offset + 1 >= ends[partition]:
                        del ends[partition]
        assert not ends, f"partitions {sorted(ends)} not read to their end in {timeout_s}s"
        return messages
    finally:
        consumer.close()


_NOT_READY = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
    }
)


def _high_watermark(consumer: Consumer, partition: TopicPartition) -> tuple[int, int]:
    """Watermarks, retried while a fresh topic's partition leaders are still being elected."""
    deadline = time.monotonic() + 30
    while True:
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=10)
            return low, high
        except KafkaException as exc:
            if exc.args[0].code() not in _NOT_READY or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
