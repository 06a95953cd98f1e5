"""What the API talks to, opened once per process (in the lifespan) and closed with it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from cassandra import ConsistencyLevel
from cassandra.cluster import NoHostAvailable, Session
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from core.errors import InterstoreError
from core.settings import Settings
from features.catalogue import load_catalogue
from features.forgetting import UserFeatureEraser
from features.reader import FeatureReader, build_feature_reader
from features.updater_factory import build_updater
from store.cassandra_cold import CassandraColdStore
from store.cassandra_session import open_session
from store.errors import StoreError
from store.forgetting import Forgetter, build_forgetter
from store.read_path import InteractionReader
from store.redis_features import RedisFeatureStore
from store.redis_hot import RedisHotStore

log = logging.getLogger("interstore.api")


class BackendsUnavailable(InterstoreError):
    """The API could not open its clients at start-up."""


class ApiBackends(Protocol):
    """What the routes use: the read paths, readiness checks, and closing."""

    @property
    def reader(self) -> InteractionReader: ...

    @property
    def features(self) -> FeatureReader: ...

    async def readiness(self, timeout_s: float) -> dict[str, str]: ...

    async def close(self) -> None: ...


@dataclass
class Backends:
    """The real ones: Redis, Cassandra and Kafka clients."""

    reader: InteractionReader
    features: FeatureReader
    feature_store: RedisFeatureStore
    hot: RedisHotStore
    cold: CassandraColdStore
    session: Session
    kafka: AdminClient
    events_topic: str
    forgetter: Forgetter

    @classmethod
    async def open(cls, settings: Settings) -> Backends:
        """Connect to Cassandra (blocking, so in a thread) and prepare; Redis connects lazily.
        DefinitionError if the feature definition file is invalid."""
        catalogue = load_catalogue(settings.features.definitions_path)
        try:
            session = await asyncio.to_thread(
                open_session, settings.cassandra, settings.cassandra.keyspace
            )
        except NoHostAvailable as exc:
            raise BackendsUnavailable(
                f"cannot reach Cassandra at {settings.cassandra.contact_points}:"
                f"{settings.cassandra.port}: {exc}"
            ) from exc
        try:
            cold = CassandraColdStore(
                session,
                settings.cassandra.keyspace,
                settings.retention,
                concurrency=settings.api.cold_concurrency,
                consistency=ConsistencyLevel.name_to_value[settings.cassandra.consistency],
            )
        except StoreError:
            session.cluster.shutdown()
            raise
        hot = RedisHotStore(settings.redis, settings.session, settings.retention)
        reader = InteractionReader(hot, cold, timeout_s=settings.api.read_timeout_s)
        feature_store = RedisFeatureStore(settings.redis, settings.features)
        features = build_feature_reader(settings, feature_store, reader, catalogue=catalogue)
        kafka = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
        updater, control = build_updater(settings, session, catalogue=catalogue)
        forgetter = build_forgetter(
            session, hot, keyspace=settings.cassandra.keyspace, retention=settings.retention,
            tombstone_refresh_s=settings.ops.tombstone_refresh_s,
            features=UserFeatureEraser(updater, control, settings.topics.partitions),
        )  # fmt: skip
        return cls(
            reader, features, feature_store, hot, cold, session, kafka, settings.topics.events,
            forgetter,
        )  # fmt: skip

    async def close(self) -> None:
        await self.feature_store.close()
        await self.hot.close()
        await self.cold.close()
        await asyncio.to_thread(self.session.cluster.shutdown)

    async def readiness(self, timeout_s: float) -> dict[str, str]:
        """Each dependency: "ok", or why not (checked concurrently, each within ``timeout_s``)."""
        checks: dict[str, Callable[[], Awaitable[None]]] = {
            "kafka": lambda: asyncio.to_thread(self._kafka_ping, timeout_s),
            "cassandra": self.cold.ping,
            "redis": self.hot.ping,
        }
        results = await asyncio.gather(
            *(_bounded(check(), timeout_s) for check in checks.values()), return_exceptions=True
        )
        return {
            name: "ok" if result is None else f"{type(result).__name__}: {result}"[:300]
            for name, result in zip(checks, results, strict=True)
        }

    def _kafka_ping(self, timeout_s: float) -> None:
        # Metadata of every topic: asking for the one topic would have a broker that allows it
        # auto-create it, with the broker's default partition count (not the events topic's).
        metadata = self.kafka.list_topics(timeout=timeout_s)
        topic = metadata.topics.get(self.events_topic)
        if topic is None:
            raise KafkaException(f"topic {self.events_topic} is missing")
        if topic.error is not None:
            raise KafkaException(f"topic {self.events_topic}: {topic.error}")


async def _bounded(check: Awaitable[None], timeout_s: float) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            await check
    except TimeoutError:
        raise TimeoutError(f"no answer within {timeout_s:g}s") from None
