"""The local stack is real: Kafka, Cassandra and Redis answer their own protocols."""

from __future__ import annotations

import time

import redis.asyncio as aioredis
from cassandra.cluster import Session
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from core.settings import Settings
from deploy.stack import LocalStack


def create_topic(settings: Settings, name: str, partitions: int = 3) -> None:
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(timeout=30)


def test_status_reports_every_service_ready(stack: LocalStack) -> None:
    statuses = {s.name: s for s in stack.status()}
    assert set(statuses) == {"kafka", "cassandra", "redis"}
    for status in statuses.values():
        assert status.state == "ready"
        assert status.pid is not None
        assert (status.rss_bytes or 0) > 0


def test_up_twice_is_harmless(stack: LocalStack) -> None:
    pids = {s.name: s.pid for s in stack.status()}
    results = stack.up()
    assert not any(r.started for r in results)
    assert {s.name: s.pid for s in stack.status()} == pids


def test_kafka_round_trip_with_confluent_kafka(
    stack: LocalStack, settings: Settings, unique_name: str
) -> None:
    create_topic(settings, unique_name)
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers, "acks": "all"})
    sent = {f"value-{i}".encode() for i in range(100)}
    for i, value in enumerate(sorted(sent)):
        producer.produce(unique_name, key=f"user-{i % 7}".encode(), value=value)
    assert producer.flush(30) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka.bootstrap_servers,
            "group.id": unique_name,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([unique_name])
    received: set[bytes] = set()
    deadline = time.monotonic() + 60
    try:
        while received != sent and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=100, timeout=1.0):
                assert message.error() is None
                received.add(message.value())
    finally:
        consumer.close()
    assert received == sent


def test_cql_write_read_with_ttl(stack: LocalStack, cql_session: Session, keyspace: str) -> None:
    table = f"{keyspace}.ttl_probe"
    cql_session.execute(f"CREATE TABLE {table} (k text PRIMARY KEY, v text)", timeout=60)
    cql_session.execute(f"INSERT INTO {table} (k, v) VALUES ('a', 'x') USING TTL 2")
    cql_session.execute(f"INSERT INTO {table} (k, v) VALUES ('b', 'y')")
    row = cql_session.execute(f"SELECT v, TTL(v) AS ttl FROM {table} WHERE k = 'a'").one()
    assert row.v == "x"
    assert 0 < row.ttl <= 2
    time.sleep(3)
    assert cql_session.execute(f"SELECT v FROM {table} WHERE k = 'a'").one() is None
    assert cql_session.execute(f"SELECT v FROM {table} WHERE k = 'b'").one().v == "y"


def test_project_schema_is_applied(cql_session: Session, keyspace: str) -> None:
    rows = cql_session.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (keyspace,)
    )
    assert "interactions" in {row.table_name for row in rows}


async def test_redis_pipeline(stack: LocalStack, settings: Settings, unique_name: str) -> None:
    client = aioredis.Redis.from_url(settings.redis.url)
    key = f"{{{unique_name}}}:list"
    try:
        async with client.pipeline(transaction=False) as pipe:
            for i in range(50):
                pipe.lpush(key, f"item-{i}")
            pipe.ltrim(key, 0, 9)
            pipe.expire(key, 60)
            pipe.lrange(key, 0, -1)
            results = await pipe.execute()
        assert results[-1] == [f"item-{i}".encode() for i in range(49, 39, -1)]
        assert 0 < await client.ttl(key) <= 60
        info = await client.config_get("maxmemory-policy")
        assert info["maxmemory-policy"] == "noeviction"
    finally:
        await client.delete(key)
        await client.aclose()
