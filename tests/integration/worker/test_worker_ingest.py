"""The worker against the real stack: every produced interaction in the cold tier exactly once,
bad input dead-lettered with its reason, and nothing lost when the worker or Cassandra dies."""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from cassandra.cluster import Session
from confluent_kafka import Producer

from core.settings import Settings
from deploy.scrape import metric_sum, scrape
from deploy.stack import LocalStack
from interstore.demo_events import generate_events
from schemas.codec import MAGIC, encode
from store.cassandra_cold import CassandraColdStore
from streams.dead_letters import HEADER_OFFSET, HEADER_REASON, HEADER_TOPIC
from streams.producer import EventProducer
from tests.integration.worker.conftest import (
    Pipeline,
    WorkerProcess,
    consume_all,
    stored_event_ids,
    wait_for,
)

StartWorker = Callable[[str], WorkerProcess]
NOW_MS = int(time.time() * 1000)
DAY_MS = 86_400_000


def events(count: int, users: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    start = NOW_MS - 3 * DAY_MS
    return list(generate_events(users=users, count=count, seed=seed, start_ms=start))


def interaction_ids(batch: list[tuple[str, dict[str, Any]]]) -> set[str]:
    return {record["event_id"] for kind, record in batch if kind != "app_open"}


def produce(
    settings: Settings, pipeline: Pipeline, batch: list[tuple[str, dict[str, Any]]]
) -> None:
    with EventProducer(settings.kafka, pipeline.events_topic) as producer:
        for kind, record in batch:
            producer.send(kind, record)
        producer.flush(60)


def consumed_total(worker: WorkerProcess) -> float:
    """The worker's own count of events consumed (all kinds), from its /metrics page."""
    try:
        text = scrape(worker.metrics_url)
    except OSError:
        return 0.0  # its web server is not up yet
    return metric_sum(text, "interstore_events_consumed_total")


def wait_for_rows(
    session: Session, keyspace: str, expected: set[str], worker: WorkerProcess, timeout_s: float
) -> list[str]:
    wait_for(
        lambda: set(stored_event_ids(session, keyspace)) >= expected,
        timeout_s,
        f"{len(expected)} interactions in the cold tier",
        worker.assert_running,
    )
    return stored_event_ids(session, keyspace)


BOTH_CONSUMERS = pytest.mark.parametrize("consumer", ["batch", "faust"])
"""The worker's two ways of taking the events topic (``INTERSTORE_WORKER_CONSUMER``)."""


@BOTH_CONSUMERS
def test_produced_events_are_stored_exactly_once_even_when_produced_twice_or_replayed(
    settings: Settings,
    pipeline: Pipeline,
    start_worker: StartWorker,
    cql_session: Session,
    consumer: str,
) -> None:
    pipeline.env["INTERSTORE_WORKER_CONSUMER"] = consumer
    batch = events(count=600, users=20, seed=1)
    lines = b"\n".join(orjson.dumps({"kind": k, **r}, default=str) for k, r in batch)
    path = pipeline.tmp / "events.jsonl"
    path.write_bytes(lines + b"\n")
    result = pipeline.cli("produce", str(path))
    assert result.returncode == 0, result.stderr.decode()

    worker = start_worker("first")
    expected = interaction_ids(batch)
    stored = wait_for_rows(cql_session, pipeline.keyspace, expected, worker, 120)
    assert sorted(stored) == sorted(expected)

    # The same file again: every event arrives twice, the table does not change.
    assert pipeline.cli("produce", str(path)).returncode == 0
    wait_for(
        lambda: consumed_total(worker) >= 2 * len(batch),
        120,
        "the second copy",
        worker.assert_running,
    )
    assert sorted(stored_event_ids(cql_session, pipeline.keyspace)) == sorted(expected)

    # A replay of the whole topic by a new consumer group rewrites the same rows.
    worker.stop()
    pipeline.env["INTERSTORE_WORKER_APP_ID"] += "-replay"
    replay = start_worker("replay")
    wait_for(
        lambda: consumed_total(replay) >= 2 * len(batch), 120, "the replay", replay.assert_running
    )
    assert sorted(stored_event_ids(cql_session, pipeline.keyspace)) == sorted(expected)


async def test_reads_are_newest_first_across_kinds(
    settings: Settings, pipeline: Pipeline, start_worker: StartWorker, cql_session: Session
) -> None:
    batch = events(count=400, users=3, seed=2)
    produce(settings, pipeline, batch)
    worker = start_worker("worker")
    wait_for_rows(cql_session, pipeline.keyspace, interaction_ids(batch), worker, 120)

    store = CassandraColdStore(cql_session, pipeline.keyspace, settings.retention)
    kinds_by_user: dict[str, set[str]] = {}
    for kind, record in batch:
        if kind != "app_open":
            kinds_by_user.setdefault(record["user_id"], set()).add(kind)
    user = next(u for u, kinds in kinds_by_user.items() if len(kinds) == 3)
    recent = await store.recent(user, limit=1000)
    theirs = sorted(
        ((r["ts"], r["event_id"]) for k, r in batch if k != "app_open" and r["user_id"] == user),
        key=lambda pair: (-pair[0], pair[1]),
    )
    assert [(i.ts_ms, i.event_id) for i in recent] == theirs
    assert len({i.kind for i in recent}) == 3


def bad_messages() -> Iterator[tuple[str, bytes]]:
    """(expected reason, raw message value) for every kind of bad input the worker must catch."""
    good: dict[str, Any] = {
        "event_id": "bad-0", "user_id": "u-bad", "ts": NOW_MS, "product_id": "p1",
        "category_id": "c1", "surface": "home", "position": 1,
    }  # fmt: skip
    order: dict[str, Any] = {
        **{k: v for k, v in good.items() if k not in ("surface", "position")},
        "order_id": "o1", "quantity": -1, "price": Decimal("9.99"), "currency": "INR",
    }  # fmt: skip
    yield "bad_magic", b"this is not avro"
    yield "unknown_schema", MAGIC + struct.pack("<Q", 12345) + b"\x00\x00"
    yield "undecodable", encode("click", good)[:12]
    yield "id_too_long", encode("click", {**good, "event_id": "bad-1", "user_id": "u" * 257})
    yield "empty_id", encode("click", {**good, "event_id": "bad-2", "product_id": ""})
    yield (
        "ts_out_of_range",
        encode("click", {**good, "event_id": "bad-3", "ts": NOW_MS + 2 * DAY_MS}),
    )
    yield "ts_out_of_range", encode("click", {**good, "event_id": "bad-4", "ts": 915_148_800_000})
    yield "negative_quantity", encode("order", {**order, "event_id": "bad-5"})
    yield (
        "payload_too_large",
        encode("click", {**good, "event_id": "bad-6", "surface": "x" * 70_000}),
    )


def test_bad_input_is_dead_lettered_with_its_reason_and_good_events_around_it_are_stored(
    settings: Settings, pipeline: Pipeline, start_worker: StartWorker, cql_session: Session
) -> None:
    good_batch = events(count=200, users=5, seed=3)
    bad = list(bad_messages())
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    good_iter = iter(good_batch)
    for _reason, value in bad:  # bad messages interleaved with good ones, all for the same users
        for kind, record in [next(good_iter) for _ in range(10)]:
            producer.produce(
                pipeline.events_topic, key=record["user_id"], value=encode(kind, record)
            )
        producer.produce(pipeline.events_topic, key=b"u-bad", value=value)
    for kind, record in good_iter:
        producer.produce(pipeline.events_topic, key=record["user_id"], value=encode(kind, record))
    assert producer.flush(30) == 0

    worker = start_worker("worker")
    stored = wait_for_rows(cql_session, pipeline.keyspace, interaction_ids(good_batch), worker, 120)
    assert sorted(stored) == sorted(interaction_ids(good_batch))

    letters = consume_all(settings.kafka.bootstrap_servers, pipeline.dead_letter_topic, len(bad))
    assert len(letters) == len(bad)
    by_value = {m.value(): dict(m.headers() or []) for m in letters}
    for reason, value in bad:
        headers = by_value[value]  # the original bytes, unchanged
        assert headers[HEADER_REASON].decode() == reason
        assert headers[HEADER_TOPIC].decode() == pipeline.events_topic
        assert int(headers[HEADER_OFFSET]) >= 0
    worker.assert_running()


@BOTH_CONSUMERS
def test_sigkill_mid_stream_loses_nothing_and_duplicates_nothing(
    settings: Settings,
    pipeline: Pipeline,
    start_worker: StartWorker,
    cql_session: Session,
    consumer: str,
) -> None:
    pipeline.env["INTERSTORE_WORKER_CONSUMER"] = consumer
    batch = events(count=20_000, users=500, seed=4)
    expected = interaction_ids(batch)
    produce(settings, pipeline, batch)
    worker = start_worker("victim")
    wait_for(  # the first rows: the worker writes 20,000 in a few seconds here
        lambda: len(stored_event_ids(cql_session, pipeline.keyspace)) > 0,
        120,
        "the first rows",
        worker.assert_running,
    )
    worker.kill()
    assert len(stored_event_ids(cql_session, pipeline.keyspace)) < len(expected)

    survivor = start_worker("survivor")
    stored = wait_for_rows(cql_session, pipeline.keyspace, expected, survivor, 240)
    assert len(stored) == len(expected)
    assert set(stored) == expected


@pytest.mark.timeout(900)
def test_cassandra_down_for_20s_mid_stream_then_the_worker_catches_up(
    stack: LocalStack,
    settings: Settings,
    pipeline: Pipeline,
    start_worker: StartWorker,
    cql_session: Session,
) -> None:
    batch = events(count=6_000, users=200, seed=5)
    expected = interaction_ids(batch)
    worker = start_worker("patient")
    half = len(batch) // 2

    produce(settings, pipeline, batch[:half])
    wait_for(
        lambda: len(stored_event_ids(cql_session, pipeline.keyspace)) > 0,
        120,
        "the first rows",
        worker.assert_running,
    )
    cassandra = next(s for s in stack.services if s.name == "cassandra")
    cassandra.process.stop()
    producer_thread = threading.Thread(target=produce, args=(settings, pipeline, batch[half:]))
    producer_thread.start()  # the second half arrives while Cassandra is down
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        worker.assert_running()  # the worker waits, it does not die
        time.sleep(1)
    producer_thread.join(60)
    stack.up()  # starts Cassandra again and waits until it answers

    stored = wait_for_rows(cql_session, pipeline.keyspace, expected, worker, 300)
    assert len(stored) == len(expected)
    assert set(stored) == expected
