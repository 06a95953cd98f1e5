"""Per-test topic names, deleted afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient

from core.settings import Settings, TopicSettings
from deploy.stack import LocalStack


@pytest.fixture
def topic_settings(
    stack: LocalStack, settings: Settings, unique_name: str
) -> Iterator[TopicSettings]:
    topics = TopicSettings(events=f"{unique_name}.events", dead_letters=f"{unique_name}.dlq")
    yield topics
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    existing = admin.list_topics(timeout=30).topics
    doomed = [name for name in (topics.events, topics.dead_letters) if name in existing]
    for future in admin.delete_topics(doomed).values() if doomed else ():
        future.result(timeout=30)
