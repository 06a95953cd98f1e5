"""ensure_topics against the real broker: creates, is idempotent, refuses a wrong shape."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from core.settings import Settings, TopicSettings
from streams.topics import TopicError, describe_topics, ensure_topics, wait_until_led


def create(settings: Settings, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=30)
    wait_until_led(admin, [name], timeout_s=30)


def test_creates_both_topics_with_partitions_and_retention(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    created = ensure_topics(settings.kafka, topic_settings)
    assert created == [topic_settings.events, topic_settings.dead_letters]
    found = describe_topics(settings.kafka, created)
    events, dead = found[topic_settings.events], found[topic_settings.dead_letters]
    assert events is not None
    assert dead is not None
    assert (events.partitions, dead.partitions) == (12, 12)
    assert events.retention_ms == topic_settings.retention_ms
    assert dead.retention_ms == topic_settings.dead_letter_retention_ms
    assert events.cleanup_policy == dead.cleanup_policy == "delete"
    assert events.replication_factor == 1


def test_is_idempotent(settings: Settings, topic_settings: TopicSettings) -> None:
    ensure_topics(settings.kafka, topic_settings)
    assert ensure_topics(settings.kafka, topic_settings) == []
    found = describe_topics(settings.kafka, [topic_settings.events])[topic_settings.events]
    assert found is not None
    assert found.partitions == 12


def test_an_events_topic_with_another_partition_count_is_an_error(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    create(settings, topic_settings.events, 3)
    with pytest.raises(TopicError, match=r"has 3 partitions, the configuration says 12"):
        ensure_topics(settings.kafka, topic_settings)
    # Nothing was created on the way to the error.
    assert describe_topics(settings.kafka, [topic_settings.dead_letters]) == {
        topic_settings.dead_letters: None
    }


def test_a_dead_letter_topic_with_another_partition_count_is_tolerated(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    create(settings, topic_settings.dead_letters, 2)
    assert ensure_topics(settings.kafka, topic_settings) == [topic_settings.events]


def test_describe_says_none_for_a_missing_topic(
    settings: Settings, topic_settings: TopicSettings
) -> None:
    assert describe_topics(settings.kafka, [topic_settings.events]) == {topic_settings.events: None}
