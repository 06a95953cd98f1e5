"""A backlog on several partitions is handed over interleaved, on the real broker.

librdkafka hands a fetched partition's messages over together. With the workers' old fetch of
8 MiB per partition, a backlog of a few MiB per partition came out one partition after another:
the first quarter of it was all one partition's (measured: this test fails with 8 MiB). The
workers' fetch sizing (``streams.kafka_fetch.fetch_batching``) caps each partition's share of a
fetch, so every partition shows up early (with 8 MiB: only one partition in the first quarter;
with 256 KiB: each partition 1,040-1,984 of its 6,000)."""

from __future__ import annotations

from collections import Counter

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from core.settings import Settings, TopicSettings
from streams.batch_worker import consumer_config
from streams.kafka_fetch import PARTITION_FETCH_MAX_BYTES, consume_available

PARTITIONS, PER_PARTITION, VALUE_BYTES = 4, 6_000, 500
"""3 MB per partition: over 10 of the capped fetches, within one fetch of the old 8 MiB."""


def backlog(settings: Settings, topic: str) -> None:
    bootstrap = settings.kafka.bootstrap_servers
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(timeout=30)
    # Record batches of 16 KiB, as a steady stream makes them: the broker hands out whole
    # batches, so a batch is the finest share of a fetch (1 MB batches interleave by 1 MB).
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 16384})
    value = b"v" * VALUE_BYTES
    for partition in range(PARTITIONS):
        for _ in range(PER_PARTITION):
            producer.produce(topic, key=b"k", value=value, partition=partition)
            producer.poll(0)
    assert producer.flush(60) == 0


def test_the_first_quarter_of_a_backlog_holds_every_partition(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    topic = topic_settings.events
    backlog(settings, topic)
    assert PER_PARTITION * VALUE_BYTES > 10 * PARTITION_FETCH_MAX_BYTES
    config = {
        **consumer_config(settings),
        "group.id": f"{topic}-fairness",
        "client.id": f"{topic}-fairness",
    }
    consumer = Consumer(config)
    consumer.subscribe([topic])
    first_quarter = PARTITIONS * PER_PARTITION // 4
    seen: list[int] = []
    try:
        while len(seen) < first_quarter:
            messages = consume_available(consumer, 500, 10.0)
            assert messages, "no message within 10 s"
            seen += [m.partition() or 0 for m in messages if m.error() is None]
    finally:
        consumer.close()
    shares = Counter(seen[:first_quarter])
    assert set(shares) == set(range(PARTITIONS)), f"partitions in the first quarter: {shares}"
    assert min(shares.values()) >= first_quarter // (4 * PARTITIONS), shares
