"""A hot-tier recovery's partition replay always ends: when the partition's last offsets are a
transaction marker or aborted records (before: ``while offset < end`` never finished, under the
worker's batch lock), and when the watermark is older than the log start (before: the consumer
reset to the end and waited forever). The second case is counted and logged: records are gone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from core.clock import wall_clock_ms
from core.settings import Settings, TopicSettings
from schemas.codec import default_codec, encode
from store.interactions import Interaction
from streams.hot_recovery import PartitionReplayer
from streams.metrics import WorkerMetrics

NOW_MS = int(time.time() * 1000)


def click(n: int) -> bytes:
    return encode(
        "click",
        {"event_id": f"e{n}", "user_id": "u1", "ts": NOW_MS - 1000 + n, "product_id": "p",
         "category_id": "c", "surface": "home", "position": n},
    )  # fmt: skip


def one_partition_topic(settings: Settings, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    for future in admin.create_topics([NewTopic(name, 1, 1)]).values():
        future.result(timeout=30)


def replayer(
    settings: Settings, topic: str, got: list[str]
) -> tuple[PartitionReplayer, WorkerMetrics]:
    async def write(items: Sequence[Interaction]) -> None:
        got.extend(item.event_id for item in items)

    metrics = WorkerMetrics()
    made = PartitionReplayer(
        settings.kafka, topic, default_codec(), write, clock_ms=wall_clock_ms, metrics=metrics
    )
    return made, metrics


async def test_a_replay_ends_when_the_last_offsets_are_markers_and_aborted_records(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    topic = topic_settings.events
    one_partition_topic(settings, topic)
    producer = Producer(
        {"bootstrap.servers": settings.kafka.bootstrap_servers, "transactional.id": topic}
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    for n in range(5):
        producer.produce(topic, key=b"u1", value=click(n))
    producer.commit_transaction(30)
    producer.begin_transaction()
    for n in range(5, 8):
        producer.produce(topic, key=b"u1", value=click(n))
    producer.flush(30)
    producer.abort_transaction(30)

    got: list[str] = []
    made, _ = replayer(settings, topic, got)
    count = await asyncio.wait_for(made.replay(0, 0), 60)
    assert count == 5
    assert got == [f"e{n}" for n in range(5)]


async def test_a_watermark_older_than_the_log_start_replays_what_is_left_and_says_so(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    topic = topic_settings.events
    one_partition_topic(settings, topic)
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    for n in range(10):
        producer.produce(topic, key=b"u1", value=click(n))
    assert producer.flush(30) == 0
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    for future in admin.delete_records([TopicPartition(topic, 0, 6)]).values():
        future.result(timeout=30)  # retention removed offsets 0-5

    got: list[str] = []
    made, metrics = replayer(settings, topic, got)
    count = await asyncio.wait_for(made.replay(0, 2), 60)
    assert count == 4
    assert got == [f"e{n}" for n in range(6, 10)]
    assert metrics.replay_truncated._value.get() == 1
