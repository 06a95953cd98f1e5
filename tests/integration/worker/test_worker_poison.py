"""Poison records on the real stack: a tombstone (null value), an empty value and a record
without a key are dead-lettered with their own reasons, the events around them are stored, and
the worker keeps committing (before, a tombstone restarted the agent and commits stopped)."""

from __future__ import annotations

import time
from collections.abc import Callable

from cassandra.cluster import Session
from confluent_kafka import Consumer, Producer, TopicPartition

from core.settings import Settings
from schemas.codec import encode
from streams.dead_letters import HEADER_REASON
from tests.integration.worker.conftest import Pipeline, WorkerProcess, consume_all, wait_for
from tests.integration.worker.test_worker_ingest import events, interaction_ids, wait_for_rows

StartWorker = Callable[[str], WorkerProcess]


def committed_at_end(settings: Settings, pipeline: Pipeline) -> bool:
    """Whether the worker's group has committed every partition of the events topic to its end."""
    group = pipeline.env["INTERSTORE_WORKER_APP_ID"]
    consumer = Consumer({"bootstrap.servers": settings.kafka.bootstrap_servers, "group.id": group})
    try:
        partitions = [TopicPartition(pipeline.events_topic, p) for p in range(4)]
        committed = consumer.committed(partitions, timeout=10)
        for tp in committed:
            _, end = consumer.get_watermark_offsets(tp, timeout=10)
            if end > 0 and tp.offset < end:
                return False
        return True
    finally:
        consumer.close()


def test_tombstones_empty_values_and_keyless_records_are_dead_lettered_and_commits_go_on(
    settings: Settings, pipeline: Pipeline, start_worker: StartWorker, cql_session: Session
) -> None:
    worker = start_worker("worker")
    before, after = events(count=300, users=6, seed=11), events(count=300, users=6, seed=12)
    user = before[0][1]["user_id"]
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})

    def send(batch: list[tuple[str, dict[str, object]]]) -> None:
        for kind, record in batch:
            key = str(record["user_id"])
            producer.produce(pipeline.events_topic, key=key, value=encode(kind, record))

    send(before)
    producer.produce(pipeline.events_topic, key=user, value=None)  # a tombstone
    producer.produce(pipeline.events_topic, key=user, value=b"")
    producer.produce(pipeline.events_topic, value=encode(*before[1]))  # no key
    send(after)
    assert producer.flush(30) == 0

    expected = interaction_ids(before) | interaction_ids(after)
    stored = wait_for_rows(cql_session, pipeline.keyspace, expected, worker, 120)
    assert sorted(stored) == sorted(expected)
    letters = consume_all(settings.kafka.bootstrap_servers, pipeline.dead_letter_topic, 3)
    reasons = sorted(dict(m.headers() or [])[HEADER_REASON].decode() for m in letters)
    assert reasons == ["empty_value", "empty_value", "missing_key"]
    wait_for(
        lambda: committed_at_end(settings, pipeline),
        60,
        "commits to the end",
        worker.assert_running,
    )
    time.sleep(1)
    worker.assert_running()
