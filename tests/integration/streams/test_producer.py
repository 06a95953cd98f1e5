"""EventProducer against the real broker: validated, keyed, delivered, failures reported."""

from __future__ import annotations

import pytest
from confluent_kafka import murmur2
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from core.settings import Settings, TopicSettings
from interstore.demo_events import generate_events
from schemas.codec import decode
from schemas.errors import InvalidEvent
from streams.producer import DeliveryFailed, EventProducer
from streams.topics import TopicError, ensure_topics, partition_counts, wait_until_led
from tests.integration.streams.kafka_reader import read_topic
from tests.unit.schemas.events import NOW_MS, sample


def test_events_arrive_once_keyed_by_user_with_the_java_partitioner(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    ensure_topics(settings.kafka, topic_settings)
    sent = list(generate_events(50, 2_000, seed=3, start_ms=NOW_MS - 3_600_000))
    with EventProducer(settings.kafka, topic_settings.events, clock=lambda: NOW_MS) as producer:
        for kind, record in sent:
            producer.send(kind, record)
        report = producer.flush()
    assert (report.sent, report.delivered, report.failed, report.pending) == (2_000, 2_000, 0, 0)

    messages = read_topic(settings.kafka, topic_settings.events)
    decoded = [decode(m.value() or b"") for m in messages]
    assert sorted(d.record["event_id"] for d in decoded) == sorted(r["event_id"] for _, r in sent)
    for message, event in zip(messages, decoded, strict=True):
        assert message.key() == event.record["user_id"].encode()
        assert message.partition() == murmur2(message.key() or b"", 12)
    # Within a partition, each user's events keep the order they were sent in.
    by_user: dict[str, list[str]] = {}
    for event in decoded:
        by_user.setdefault(event.record["user_id"], []).append(event.record["event_id"])
    expected: dict[str, list[str]] = {}
    for _, record in sent:
        expected.setdefault(record["user_id"], []).append(record["event_id"])
    assert by_user == expected


def test_an_invalid_event_raises_before_anything_is_sent(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    ensure_topics(settings.kafka, topic_settings)
    with EventProducer(settings.kafka, topic_settings.events, clock=lambda: NOW_MS) as producer:
        with pytest.raises(InvalidEvent) as caught:
            producer.send("order", sample("order", quantity=-1))
        assert caught.value.reason == "negative_quantity"
        with pytest.raises(InvalidEvent) as caught:
            producer.send("click", sample("click", position=2**40))
        assert caught.value.reason == "unencodable"
        assert producer.flush().sent == 0
    assert read_topic(settings.kafka, topic_settings.events) == []


def test_a_missing_topic_is_an_error_and_is_not_auto_created(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    with pytest.raises(TopicError, match="does not exist"):
        EventProducer(settings.kafka, topic_settings.events)
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    assert topic_settings.events not in partition_counts(admin)


def test_delivery_failures_are_counted_with_their_reasons(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    # The broker refuses every batch: the topic's size limit is below one event.
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    name = topic_settings.events
    topic = NewTopic(name, 3, 1, config={"max.message.bytes": "60"})
    admin.create_topics([topic])[name].result(timeout=30)
    wait_until_led(admin, [name], timeout_s=30)
    producer = EventProducer(settings.kafka, name, clock=lambda: NOW_MS)
    for i in range(5):
        producer.send("click", sample("click", event_id=f"e{i}", user_id=f"u{i}"))
    with pytest.raises(DeliveryFailed, match=r"5 of 5 events failed delivery") as caught:
        producer.close()
    report = caught.value.report
    assert (report.sent, report.delivered, report.failed) == (5, 0, 5)
    assert report.reasons == {"MSG_SIZE_TOO_LARGE": 5}
    assert sorted(f.event_id or "" for f in report.samples) == [f"e{i}" for i in range(5)]
    assert {f.key for f in report.samples} == {f"u{i}" for i in range(5)}


def test_a_full_local_queue_waits_instead_of_failing(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    ensure_topics(settings.kafka, topic_settings)
    tiny_queue = {"queue.buffering.max.messages": 10, "linger.ms": 50}
    sent = list(generate_events(20, 300, seed=4, start_ms=NOW_MS - 3_600_000))
    with EventProducer(
        settings.kafka, topic_settings.events, clock=lambda: NOW_MS, config=tiny_queue
    ) as producer:
        for kind, record in sent:
            producer.send(kind, record)
        assert producer.flush().delivered == 300
    assert len(read_topic(settings.kafka, topic_settings.events)) == 300
