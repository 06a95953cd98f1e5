"""Scratch resources: the topics, keyspace and Redis key prefix one measurement uses, created
for it and removed afterwards (``scratch_resources``, ``scratch_keyspace``, ``delete_hot_keys``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

from cassandra.cluster import Session

from benchmarks.harness.errors import BenchError
from core.settings import Settings
from store.cassandra_session import open_session
from store.cql_schema import apply_schema
from streams.topics import TopicError, delete_topics_with_prefixes, ensure_topics

COUNT_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class Scratch:
    """The names one measurement uses, all starting with ``prefix``."""

    prefix: str
    partitions: int

    @property
    def events_topic(self) -> str:
        return f"{self.prefix}.events"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.prefix}.dlq"

    @property
    def keyspace(self) -> str:
        return self.prefix

    @property
    def hot_prefix(self) -> str:
        """Start of every hot-tier (Redis) key the worker writes."""
        return self.prefix

    @property
    def group(self) -> str:
        """Consumer group, and the worker's app id (Faust's group id is its app id)."""
        return f"{self.prefix}-group"

    def worker_env(self) -> dict[str, str]:
        """The environment of an ``interstore worker`` (or ``api``) on this run's names."""
        return {
            **os.environ,
            "INTERSTORE_TOPICS_EVENTS": self.events_topic,
            "INTERSTORE_TOPICS_DEAD_LETTERS": self.dead_letter_topic,
            "INTERSTORE_TOPICS_PARTITIONS": str(self.partitions),
            "INTERSTORE_CASSANDRA_KEYSPACE": self.keyspace,
            "INTERSTORE_WORKER_APP_ID": self.group,
            "INTERSTORE_WORKER_WEB_BIND": "127.0.0.1",
            "INTERSTORE_REDIS_KEY_PREFIX": self.hot_prefix,
        }

    def settings(self, base: Settings) -> Settings:
        topics = base.topics.model_copy(
            update={
                "events": self.events_topic,
                "dead_letters": self.dead_letter_topic,
                "partitions": self.partitions,
            }
        )
        return base.model_copy(update={"topics": topics})


@contextlib.contextmanager
def scratch_resources(
    base: Settings, session: Session, scratch: Scratch, *, keyspace: bool = True
) -> Iterator[Settings]:
    """Create the topics (and the keyspace with the schema); drop them all on the way out."""
    settings = scratch.settings(base)
    try:
        ensure_topics(settings.kafka, settings.topics)
        if keyspace:
            apply_schema(session, scratch.keyspace, base.cassandra.replication_factor)
        yield settings
    finally:
        try:
            if keyspace:
                session.execute(f"DROP KEYSPACE IF EXISTS {scratch.keyspace}", timeout=120)
        finally:
            delete_topics(base, scratch.prefix)


@contextlib.contextmanager
def scratch_keyspace(settings: Settings, name: str) -> Iterator[str]:
    """A keyspace of the run's own with the schema applied, dropped at the end: an API a
    benchmark starts opens the cold tier at start-up, and a fresh stack has no other keyspace
    (``make bench`` does not apply the schema)."""
    session = open_session(settings.cassandra)
    try:
        apply_schema(session, name, settings.cassandra.replication_factor)
        yield name
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)
        session.cluster.shutdown()


def delete_hot_keys(settings: Settings, prefix: str) -> int:
    """Delete the hot-tier keys a benchmark wrote (all start with ``prefix:``)."""
    import redis

    client = redis.Redis.from_url(settings.redis.url)
    deleted = 0
    try:
        keys: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            keys.append(key)
            if len(keys) >= 1000:
                deleted += int(client.unlink(*keys))
                keys.clear()
        if keys:
            deleted += int(client.unlink(*keys))
    finally:
        client.close()
    return deleted


def delete_topics(settings: Settings, prefix: str) -> list[str]:
    """Delete every topic whose name starts with ``prefix`` (Faust's own topics included)."""
    try:
        return delete_topics_with_prefixes(settings.kafka, [prefix])
    except TopicError as exc:
        raise BenchError(str(exc)) from exc


def count_rows(session: Session, keyspace: str) -> int:
    """Rows in the keyspace's interactions table."""
    row = session.execute(
        f"SELECT COUNT(*) FROM {keyspace}.interactions",  # noqa: S608 - our own keyspace name
        timeout=COUNT_TIMEOUT_S,
    ).one()
    return int(row[0])
