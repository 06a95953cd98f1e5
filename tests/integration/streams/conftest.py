"""Per-test topic names (deleted at the session's end with every ``unique_name``'s topics)."""

from __future__ import annotations

import pytest

from core.settings import TopicSettings
from deploy.stack import LocalStack


@pytest.fixture
def topic_settings(stack: LocalStack, unique_name: str) -> TopicSettings:
    return TopicSettings(events=f"{unique_name}.events", dead_letters=f"{unique_name}.dlq")
