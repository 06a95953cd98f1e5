"""``BatchConsumer`` on the real broker, rebalanced while its partitions are paused (its buffer
full): the partition it gets back is consumed to its end. librdkafka keeps an application's
pause across an eager reassignment, so a consumer that paused a partition and started the new
assignment as unpaused held the partition without ever fetching it again."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from core.settings import Settings, TopicSettings
from streams.batch_consumer import BatchConsumer
from streams.batch_handlers import Ack, BatchHandlers
from streams.messages import RawMessage

PARTITIONS, PER_PARTITION = 2, 300


class SlowThenFast:
    """Batches that take ``batch_s`` (while the buffer fills and the partitions pause), recording
    every offset batched, per partition."""

    def __init__(self, batch_s: float) -> None:
        self.batch_s = batch_s
        self.batched: dict[int, set[int]] = {p: set() for p in range(PARTITIONS)}

    def handlers(self) -> BatchHandlers:
        return BatchHandlers(lambda message: None, self.run_batch, self.assigned, self.revoked)

    async def run_batch(self, messages: Sequence[RawMessage], ack: Ack) -> None:
        for message in messages:
            self.batched[message.partition].add(message.offset)
        await asyncio.sleep(self.batch_s)
        await ack()

    async def assigned(self) -> None:
        pass

    async def revoked(self, partitions: Iterable[int]) -> None:
        pass


def consuming_member(config: dict[str, str], topic: str, stop: threading.Event) -> None:
    """Another member of the group: takes its share of the partitions and keeps polling."""
    member = Consumer({**config, "client.id": "the-other-member"})
    member.subscribe([topic])
    try:
        while not stop.is_set():
            member.consume(100, 0.2)
    finally:
        member.close()


async def until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f}s waiting for {what}"
        await asyncio.sleep(0.1)


async def test_a_partition_paused_when_revoked_is_consumed_to_its_end_once_assigned_back(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    bootstrap = settings.kafka.bootstrap_servers
    topic = topic_settings.events
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap})
    for n in range(PARTITIONS * PER_PARTITION):
        producer.produce(topic, key=b"k", value=b"v", partition=n % PARTITIONS)
    assert producer.flush(30) == 0

    config = {
        "bootstrap.servers": bootstrap, "group.id": f"{topic}-group",
        "auto.offset.reset": "earliest", "partition.assignment.strategy": "range",
    }  # fmt: skip
    batches = SlowThenFast(batch_s=3.0)  # the buffer refills (and pauses) during each batch
    consumer = BatchConsumer(
        config, topic, batch_max=10, batch_within_s=0.01, commit_interval_s=0.2, buffer_max=20
    )
    await consumer.start(batches.handlers())
    stop = threading.Event()
    other = threading.Thread(target=consuming_member, args=(config, topic, stop))
    try:
        await until(lambda: consumer.owned() == {0, 1}, 60, "the first assignment")
        await until(lambda: any(batches.batched.values()), 30, "a first batch")
        other.start()  # a rebalance: the revocation waits for the batch in flight, which ends
        # with the buffer full again and the partitions paused
        await until(
            lambda: len(consumer.owned()) == 1 and not consumer.rebalancing, 60,
            "the partitions split between the two members",
        )  # fmt: skip
        batches.batch_s = 0.0
        [mine] = consumer.owned()
        await until(
            lambda: max(batches.batched[mine], default=-1) == PER_PARTITION - 1, 60,
            f"partition {mine} consumed to its end",
        )  # fmt: skip
    finally:
        stop.set()
        if other.is_alive():
            await asyncio.to_thread(other.join, 30)
        await consumer.stop()
