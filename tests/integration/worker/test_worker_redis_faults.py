"""The worker against a Redis of its own that runs out of memory or turns read-only: ingest goes
on (write-through to the cold tier) or waits and retries; it never exits, loses or doubles an
event, and it hydrates sessions again once memory frees. A session's dirty set is bounded."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cassandra.cluster import Session

from core.settings import Settings
from deploy.private_redis import free_port, private_redis
from tests.integration.worker.conftest import Pipeline, WorkerProcess, stored_event_ids, wait_for
from tests.integration.worker.test_worker_ingest import (
    NOW_MS,
    events,
    interaction_ids,
    produce,
    wait_for_rows,
)

StartWorker = Callable[[str], WorkerProcess]


def metric(worker: WorkerProcess, name: str, label: str = "") -> float:
    """The sum of a counter's samples (with ``label`` in their labels) on the worker's page."""
    try:
        text = httpx.get(f"http://127.0.0.1:{worker.web_port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(f"{name}_total") and label in line
    )


@pytest.mark.timeout(600)
def test_redis_out_of_memory_ingest_goes_on_nothing_is_lost_and_hydration_comes_back(
    settings: Settings,
    pipeline: Pipeline,
    start_worker: StartWorker,
    cql_session: Session,
    tmp_path: Path,
) -> None:
    with private_redis(tmp_path / "redis", maxmemory="8mb") as redis_server:
        pipeline.env["INTERSTORE_REDIS_URL"] = redis_server.url
        pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "6"  # sessions outlive the fill below
        worker = start_worker("worker")
        first, full, freed = (events(count=800, users=40, seed=s) for s in (21, 22, 23))
        produce(settings, pipeline, first)
        wait_for_rows(cql_session, pipeline.keyspace, interaction_ids(first), worker, 120)
        hydrated = metric(worker, "interstore_hydrations")
        assert hydrated > 0

        users = [f"oom-{n}" for n in range(10)]
        opens = [("app_open", {"event_id": f"open-{u}", "user_id": u, "ts": NOW_MS - 9000})
                 for u in users]  # fmt: skip
        produce(settings, pipeline, opens)  # live sessions, hydrated while memory is free
        wait_for(
            lambda: metric(worker, "interstore_hydrations") >= hydrated + len(users),
            60, "the sessions", worker.assert_running,
        )  # fmt: skip
        redis_server.fill()  # Redis answers OOM to every write from now on
        clicks = [
            ("click", {"event_id": f"oom-click-{u}-{n}", "user_id": u, "ts": NOW_MS - 5000 + n,
                       "product_id": "p", "category_id": "c", "surface": "home", "position": n})
            for u in users for n in range(20)
        ]  # fmt: skip
        produce(settings, pipeline, clicks + full)
        expected = interaction_ids(first) | interaction_ids(full) | interaction_ids(clicks)
        wait_for_rows(cql_session, pipeline.keyspace, expected, worker, 180)
        assert metric(worker, "interstore_hot_full_write_through") > 0
        assert "hot tier full" in worker.log_tail(200_000)

        redis_server.drain()
        before = metric(worker, "interstore_hydrations")
        produce(settings, pipeline, freed)
        expected |= interaction_ids(freed)
        wait_for_rows(cql_session, pipeline.keyspace, expected, worker, 180)
        wait_for(
            lambda: metric(worker, "interstore_hydrations") > before,
            60,
            "hydrations after memory freed",
            worker.assert_running,
        )
        stored = stored_event_ids(cql_session, pipeline.keyspace)
        assert sorted(stored) == sorted(expected)  # every one, exactly once
        worker.assert_running()


@pytest.mark.timeout(600)
def test_a_read_only_redis_makes_the_worker_wait_not_exit(
    settings: Settings,
    pipeline: Pipeline,
    start_worker: StartWorker,
    cql_session: Session,
    tmp_path: Path,
) -> None:
    with private_redis(tmp_path / "redis") as redis_server:
        pipeline.env["INTERSTORE_REDIS_URL"] = redis_server.url
        worker = start_worker("worker")
        first, during = events(count=400, users=20, seed=31), events(count=400, users=20, seed=32)
        produce(settings, pipeline, first)
        wait_for_rows(cql_session, pipeline.keyspace, interaction_ids(first), worker, 120)

        client = redis_server.client()
        client.replicaof("127.0.0.1", str(free_port()))  # a failover left us on a replica
        produce(settings, pipeline, during)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            worker.assert_running()  # before: HotStoreError, the worker exited (and looped)
            time.sleep(0.5)
        client.replicaof("NO", "ONE")
        expected = interaction_ids(first) | interaction_ids(during)
        stored = wait_for_rows(cql_session, pipeline.keyspace, expected, worker, 180)
        assert sorted(stored) == sorted(expected)


def test_a_session_past_its_dirty_bound_is_flushed_early(
    settings: Settings, pipeline: Pipeline, start_worker: StartWorker, cql_session: Session
) -> None:
    pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "600"  # only the bound can flush it in time
    pipeline.env["INTERSTORE_SESSION_MAX_DIRTY_ITEMS"] = "50"
    worker = start_worker("worker")
    user = "u-busy"
    opened = {"event_id": "open-1", "user_id": user, "ts": NOW_MS - 60_000}
    clicks = [
        {"event_id": f"busy-{n}", "user_id": user, "ts": NOW_MS - 50_000 + n, "product_id": "p",
         "category_id": "c", "surface": "home", "position": n}
        for n in range(300)
    ]  # fmt: skip
    produce(settings, pipeline, [("app_open", opened)])
    wait_for(
        lambda: metric(worker, "interstore_hydrations") >= 1, 60, "the hydration",
        worker.assert_running,
    )  # fmt: skip
    produce(settings, pipeline, [("click", c) for c in clicks])
    wait_for(
        lambda: len(stored_event_ids(cql_session, pipeline.keyspace)) >= 250,
        60,
        "the early flushes",
        worker.assert_running,
    )
    assert metric(worker, "interstore_session_flushes", 'cause="dirty_bound"') >= 1
    assert set(stored_event_ids(cql_session, pipeline.keyspace)) <= {c["event_id"] for c in clicks}
