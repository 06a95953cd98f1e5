"""``BatchConsumer``'s assignments on the real broker.

Rebalanced while its partitions are paused (its buffer full): the partition it gets back is
consumed to its end. librdkafka keeps an application's pause across an eager reassignment, so a
consumer that paused a partition and started the new assignment as unpaused held the partition
without ever fetching it again.

Assigned: where each partition is consumed from (the group's commit, or the partition's first
offset) is handed over before any message, so the look-ahead can read a partition the stream
has not reached (librdkafka hands a backlog over partition after partition)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from confluent_kafka import Consumer, Producer, TopicPartition
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


def filled_topic(settings: Settings, topic_settings: TopicSettings) -> dict[str, str]:
    """The events topic made and filled (``PER_PARTITION`` messages per partition); a consumer
    configuration of a group of its own."""
    bootstrap = settings.kafka.bootstrap_servers
    topic = topic_settings.events
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap})
    for n in range(PARTITIONS * PER_PARTITION):
        producer.produce(topic, key=b"k", value=b"v", partition=n % PARTITIONS)
    assert producer.flush(30) == 0
    return {
        "bootstrap.servers": bootstrap, "group.id": f"{topic}-group",
        "auto.offset.reset": "earliest", "partition.assignment.strategy": "range",
    }  # fmt: skip


async def test_a_partition_paused_when_revoked_is_consumed_to_its_end_once_assigned_back(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    config = filled_topic(settings, topic_settings)
    topic = topic_settings.events
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


async def test_an_assignment_says_where_each_partition_starts_before_any_message_is_seen(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    config = filled_topic(settings, topic_settings)
    topic = topic_settings.events
    committed = 120
    committer = Consumer(config)
    committer.commit(offsets=[TopicPartition(topic, 0, committed)], asynchronous=False)
    committer.close()
    journal: list[tuple[str, object]] = []

    async def run_batch(messages: Sequence[RawMessage], ack: Ack) -> None:
        await ack()

    async def nothing(*_: object) -> None:
        pass

    handlers = BatchHandlers(
        lambda message: journal.append(("seen", (message.partition, message.offset))),
        run_batch, nothing, nothing,
        starts=lambda starts: journal.append(("starts", dict(starts))),
    )  # fmt: skip
    consumer = BatchConsumer(
        config, topic, batch_max=50, batch_within_s=0.01, commit_interval_s=0.2, buffer_max=100
    )
    await consumer.start(handlers)
    expected = PARTITIONS * PER_PARTITION - committed
    try:
        await until(lambda: len(journal) > expected, 60, "every message after the commit seen")
    finally:
        await consumer.stop()
    assert journal[0] == ("starts", {0: committed, 1: 0})
    seen = [where for name, where in journal if name == "seen"]
    assert len(seen) == expected
    assert min(seen) == (0, committed)
    assert min(w for w in seen if w[0] == 1) == (1, 0)
