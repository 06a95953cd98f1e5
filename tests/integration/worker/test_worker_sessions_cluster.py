"""A Redis Cluster node restarted empty mid-session: recovered like a single Redis loss, on a
private cluster of the test's own (the shared Redis is never stopped)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cassandra.cluster import Session

from core.settings import RedisSettings, Settings
from store.redis_hot_scripts import KeyLayout
from tests.integration.private_redis_cluster import PrivateRedisCluster, private_redis_cluster
from tests.integration.worker.conftest import Pipeline, WorkerProcess, stored_event_ids, wait_for
from tests.integration.worker.test_worker_sessions import (
    NOW_MS,
    click,
    hot_view,
    live_sessions,
    newest_first,
    produce,
)

StartWorker = Callable[[str], WorkerProcess]


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[PrivateRedisCluster]:
    with private_redis_cluster(tmp_path / "cluster") as cluster:
        yield cluster


@pytest.fixture
def pipeline_redis(own_cluster: PrivateRedisCluster) -> RedisSettings:
    return own_cluster.settings()


def test_a_cluster_node_restarted_empty_during_live_sessions_loses_nothing(
    settings: Settings,
    pipeline: Pipeline,
    start_worker: StartWorker,
    cql_session: Session,
    own_cluster: PrivateRedisCluster,
) -> None:
    pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "600"
    users = [f"r{u}" for u in range(12)]
    events = live_sessions(users, 12)
    worker = start_worker("worker")
    produce(settings, pipeline, events)
    wait_for(
        lambda: all(len(hot_view(settings, pipeline, u) or []) == 12 for u in users),
        120, "every session live", worker.assert_running,
    )  # fmt: skip
    assert stored_event_ids(cql_session, pipeline.keyspace) == []

    keys = KeyLayout(pipeline.env["INTERSTORE_REDIS_KEY_PREFIX"])
    node_of = {user: own_cluster.node_of(keys.user_keys(user)[0]) for user in users}
    victim = node_of[users[0]]
    lost = [user for user in users if node_of[user] == victim]
    kept = [user for user in users if node_of[user] != victim]
    assert kept, f"every user on node {victim}: the test needs users on other nodes too"

    own_cluster.restart_empty(victim)  # no persistence: it comes back with its slots, no keys
    assert all(hot_view(settings, pipeline, u) is None for u in lost)
    later = [click(u, 100, NOW_MS - 1_000) for u in lost]  # after the loss: these are not live
    produce(settings, pipeline, later)

    # the kept sessions' clicks are only in Redis: they reach cold through the recovery's replay
    expected = newest_first(events + later)
    wait_for(
        lambda: sorted(stored_event_ids(cql_session, pipeline.keyspace)) == sorted(expected),
        120, "the lost node's sessions replayed into cold", worker.assert_running,
    )  # fmt: skip
    time.sleep(1)
    assert all(hot_view(settings, pipeline, u) is not None for u in kept)  # untouched
