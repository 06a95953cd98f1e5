"""Integration fixtures: the real local stack, started once per session (or reused if running).

Each test gets its own topic names and its own keyspace, so tests never see each other's data.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator

import pytest
from cassandra.cluster import Session
from confluent_kafka import KafkaException

from core.settings import RedisSettings, Settings, load_settings
from deploy.stack import LocalStack
from store.cassandra_session import open_session
from store.cql_schema import apply_schema
from streams.topics import TopicError, delete_topics_with_prefixes
from tests.integration.private_redis_cluster import PrivateRedisCluster, private_redis_cluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[LocalStack]:
    """Bring the stack up once; stop at the end only what this session started."""
    local = LocalStack(settings.stack)
    results = local.up()
    yield local
    if any(r.started for r in results):
        local.down()


@pytest.fixture(scope="session")
def names_used(stack: LocalStack, settings: Settings) -> Iterator[set[str]]:
    """Every ``unique_name`` of the session; at its end, the Kafka topics named after them go
    (events, dead letters, feature topics, Faust's own), so that a shared stack's broker does
    not gather thousands of partitions over test runs (the benchmarks run on it next). It
    needs the stack, so it ends before a stack the session started is stopped."""
    names: set[str] = set()
    yield names
    if names:
        try:
            delete_topics_with_prefixes(settings.kafka, names)
        except (TopicError, KafkaException) as exc:  # the broker stopped meanwhile: nothing to keep
            warnings.warn(f"test topics not deleted: {exc}", stacklevel=1)


@pytest.fixture
def unique_name(names_used: set[str]) -> str:
    name = f"t{uuid.uuid4().hex[:12]}"
    names_used.add(name)
    return name


@pytest.fixture(scope="session")
def cql_session(stack: LocalStack, settings: Settings) -> Iterator[Session]:
    session = open_session(settings.cassandra)
    yield session
    session.cluster.shutdown()


@pytest.fixture
def keyspace(cql_session: Session, unique_name: str) -> Iterator[str]:
    """A fresh keyspace with the project's schema applied, dropped afterwards."""
    apply_schema(cql_session, unique_name, replication_factor=1)
    yield unique_name
    cql_session.execute(f"DROP KEYSPACE IF EXISTS {unique_name}", timeout=60)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedisCluster]:
    """A private 3-primary Redis Cluster for this test session (free ports, its own folder)."""
    with private_redis_cluster(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster


@pytest.fixture(params=["node", "cluster"])
def hot_redis(request: pytest.FixtureRequest, settings: Settings) -> RedisSettings:
    """The Redis of the hot tier and the feature store, once as the stack's single node and once
    as a private Redis Cluster: tests that take it run on both."""
    if request.param == "node":
        request.getfixturevalue("stack")
        return settings.redis
    cluster: PrivateRedisCluster = request.getfixturevalue("redis_cluster")
    return cluster.settings()
