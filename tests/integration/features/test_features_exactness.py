"""Exactly-once in effect: a SIGKILL mid-stream, a replay into an empty store, two workers
with a rebalance mid-stream, and Redis losing its data all end with the same, exact state."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from cassandra.cluster import Session

from deploy.process import free_port
from store.cql_schema import apply_schema
from tests.integration.features.conftest import (
    Features,
    FeaturesWorker,
    expected_counts,
    traffic,
    wait_counts,
)


@pytest.mark.parametrize("consumer", ["batch", "faust"])
def test_sigkill_mid_stream_then_a_replay_into_an_empty_store_give_the_same_state(
    features: Features, cql_session: Session, unique_name: str, consumer: str
) -> None:
    features.env["INTERSTORE_FEATURES_WORKER_CONSUMER"] = consumer
    events = traffic(6000, seed=11)
    expected = expected_counts(events)
    features.produce(events)
    first = features.start("first")
    features.wait_applied(first, 4000)  # well under the 4 x ~5,000 entity events
    first.kill()
    second = features.start("second")
    wait_counts(features, expected, [second])
    live = features.states()

    replay_keyspace = f"{unique_name}r"
    apply_schema(cql_session, replay_keyspace, replication_factor=1)
    try:
        replay = Features(features.settings, features.pipeline, f"{features.prefix}r")
        replay.env["INTERSTORE_CASSANDRA_KEYSPACE"] = replay_keyspace
        worker = replay.start("replay")
        try:
            wait_counts(replay, expected, [worker])
            assert replay.states() == live  # tiles, distinct sets, fences: all equal
        finally:
            worker.stop()
            for key in replay.redis.scan_iter(f"{replay.prefix}:*", count=1000):
                replay.redis.delete(key)
    finally:
        cql_session.execute(f"DROP KEYSPACE IF EXISTS {replay_keyspace}", timeout=60)


def test_two_workers_with_a_rebalance_mid_stream_count_products_exactly(
    features: Features,
) -> None:
    events = traffic(8000, seed=12)
    expected = expected_counts(events)
    small = {"INTERSTORE_FEATURES_WORKER_BATCH_MAX": "200"}  # many batches: a stream to cut
    a = features.start("a", **small)
    features.produce(events[:4000])
    features.wait_applied(a, 2000)
    b = features.start("b", **small)  # joins the group: every partition is revoked and reassigned
    wait_ready(b)  # a fast worker would otherwise drain the rest before b holds partitions
    features.produce(events[4000:])
    wait_counts(features, expected, [a, b])
    assert b.metric("interstore_feature_events_total", 'outcome="applied"') > 0


def wait_ready(worker: FeaturesWorker, timeout_s: float = 120) -> None:
    """Until the worker's /readyz answers 200: its consumer joined the group and holds shards."""
    ready_url = worker.metrics_url.removesuffix("/metrics") + "/readyz"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        worker.assert_running()
        try:
            if httpx.get(ready_url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"features worker holds no shards after {timeout_s} s")


def redis_server(port: str) -> subprocess.Popen[bytes]:
    """A private, empty Redis (never the shared one): no persistence, so a restart loses all."""
    proc = subprocess.Popen(
        ["redis-server", "--port", port, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return proc


@pytest.fixture
def private_redis() -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    port = str(free_port())
    procs = [redis_server(port)]
    yield port, procs
    for proc in procs:
        proc.kill()
        proc.wait(timeout=10)


def serving(features: Features, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    group = {"user": "u", "product": "p", "category": "c"}
    return {(e, i): features.values(e, (i,), group[e]) for e, i in keys}


def test_redis_loss_values_come_back_equal(
    private_redis: tuple[str, list[subprocess.Popen[bytes]]], features: Features
) -> None:
    port, procs = private_redis
    url = f"redis://127.0.0.1:{port}/0"
    features.env["INTERSTORE_REDIS_URL"] = url
    features.redis = redis.Redis.from_url(url)
    worker, expected = features.counted(traffic(3000, seed=13))
    before, values = features.states(), serving(features, list(expected))

    procs[0].kill()  # Redis dies and comes back empty
    procs[0].wait(timeout=10)
    procs.append(redis_server(port))
    wait_counts(features, expected, [worker], timeout_s=60)  # reloaded by the refresher
    assert features.states() == before
    assert serving(features, list(expected)) == values
    assert worker.metric("interstore_feature_states_reloaded_total") >= len(before)
