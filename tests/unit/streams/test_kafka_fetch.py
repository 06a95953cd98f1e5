"""``consume_available``: what is fetched now, without waiting for a full batch."""

from __future__ import annotations

from typing import Any, cast

from confluent_kafka import Consumer

from streams.kafka_fetch import consume_available


class QueueConsumer:
    """librdkafka's queue as a list; ``arriving`` shows up during the next wait."""

    def __init__(self, ready: list[int], arriving: list[int]) -> None:
        self.ready, self.arriving = ready, arriving
        self.calls: list[tuple[int, float]] = []

    def consume(self, num_messages: int, timeout: float) -> list[Any]:
        self.calls.append((num_messages, timeout))
        if timeout > 0 and not self.ready:
            self.ready, self.arriving = self.arriving, []
        taken, self.ready = self.ready[:num_messages], self.ready[num_messages:]
        return taken


def taken(consumer: QueueConsumer, most: int) -> list[Any]:
    return list(consume_available(cast(Consumer, consumer), most, 0.05))


def test_what_is_fetched_already_is_taken_without_waiting() -> None:
    consumer = QueueConsumer([1, 2, 3], [4])
    assert taken(consumer, 1000) == [1, 2, 3]
    assert consumer.calls == [(1000, 0)]


def test_with_nothing_fetched_it_waits_for_the_first_and_takes_what_came_with_it() -> None:
    consumer = QueueConsumer([], [4, 5, 6])
    assert taken(consumer, 1000) == [4, 5, 6]
    assert consumer.calls == [(1000, 0), (1, 0.05), (999, 0)]


def test_never_more_than_asked() -> None:
    consumer = QueueConsumer([], [4, 5, 6])
    assert taken(consumer, 2) == [4, 5]
    assert taken(consumer, 1) == [6]
    assert taken(consumer, 1) == []
