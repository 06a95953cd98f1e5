"""Hot sessions against the real stack: hydration, live writes, the inactivity flush, and
nothing lost when the worker is killed or Redis loses its data mid-session. Every test runs on
the stack's Redis and on a private Redis Cluster (``pipeline_redis``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from cassandra.cluster import Session

from core.settings import RedisSettings, Settings
from deploy.stack import LocalStack
from store.interactions import Interaction
from store.redis_hot import RedisHotStore
from streams.producer import EventProducer
from tests.integration.worker.conftest import Pipeline, WorkerProcess, stored_event_ids, wait_for

StartWorker = Callable[[str], WorkerProcess]
Event = tuple[str, dict[str, Any]]
NOW_MS = int(time.time() * 1000)


@pytest.fixture
def pipeline_redis(hot_redis: RedisSettings) -> RedisSettings:
    return hot_redis


def click(user: str, n: int, ts: int) -> Event:
    return "click", {
        "event_id": f"{user}-c{n}", "user_id": user, "ts": ts, "product_id": f"p{n % 7}",
        "category_id": f"c{n % 3}", "surface": "home", "position": n % 10,
    }  # fmt: skip


def app_open(user: str, n: int, ts: int) -> Event:
    return "app_open", {"event_id": f"{user}-o{n}", "user_id": user, "ts": ts}


def produce(settings: Settings, pipeline: Pipeline, events: list[Event]) -> None:
    with EventProducer(settings.kafka, pipeline.events_topic) as producer:
        for kind, record in events:
            producer.send(kind, record)
        producer.flush(60)


def hot_view(settings: Settings, pipeline: Pipeline, user: str) -> list[Interaction] | None:
    """The user's hot view (None if not live), read with a store of this test's key prefix."""

    async def read() -> list[Interaction] | None:
        store = RedisHotStore(
            pipeline.redis, settings.session, settings.retention,
            prefix=pipeline.env["INTERSTORE_REDIS_KEY_PREFIX"],
        )  # fmt: skip
        try:
            return await store.recent(user, limit=1000)
        finally:
            await store.close()

    return asyncio.run(read())


def cold_ids_of(session: Session, keyspace: str, user: str) -> list[str]:
    return [e for e in stored_event_ids(session, keyspace) if e.startswith(f"{user}-")]


def newest_first(events: list[Event]) -> list[str]:
    interactions = [r for k, r in events if k != "app_open"]
    return [r["event_id"] for r in sorted(interactions, key=lambda r: (-r["ts"], r["event_id"]))]


def test_app_open_hydrates_live_writes_stay_hot_until_the_idle_flush(
    settings: Settings, pipeline: Pipeline, start_worker: StartWorker, cql_session: Session
) -> None:
    pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "8"
    worker = start_worker("worker")
    before = [click("alice", n, NOW_MS - 100_000 + n) for n in range(30)]
    produce(settings, pipeline, before)
    wait_for(
        lambda: len(cold_ids_of(cql_session, pipeline.keyspace, "alice")) == 30,
        120, "alice's first clicks in cold", worker.assert_running,
    )  # fmt: skip

    during = [app_open("alice", 1, NOW_MS - 50_000)]
    during += [click("alice", n, NOW_MS - 50_000 + n) for n in range(30, 40)]
    produce(settings, pipeline, during)
    wait_for(
        lambda: len(hot_view(settings, pipeline, "alice") or []) == 40,
        60, "alice's hot view", worker.assert_running,
    )  # fmt: skip
    view = hot_view(settings, pipeline, "alice")
    assert view is not None
    assert [i.event_id for i in view] == newest_first(before + during)
    assert len(cold_ids_of(cql_session, pipeline.keyspace, "alice")) == 30  # live: not in cold

    wait_for(
        lambda: hot_view(settings, pipeline, "alice") is None,
        60, "the idle flush", worker.assert_running,
    )  # fmt: skip
    stored = cold_ids_of(cql_session, pipeline.keyspace, "alice")
    assert sorted(stored) == sorted(newest_first(before + during))  # each exactly once


def live_sessions(users: list[str], per_user: int) -> list[Event]:
    events: list[Event] = []
    for u, user in enumerate(users):
        events.append(app_open(user, 0, NOW_MS - 60_000 + u))
        events += [click(user, n, NOW_MS - 59_000 + n * 10 + u) for n in range(per_user)]
    return events


def test_sigkill_during_live_sessions_loses_nothing(
    settings: Settings, pipeline: Pipeline, start_worker: StartWorker, cql_session: Session
) -> None:
    pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "600"
    users = [f"k{u}" for u in range(20)]
    events = live_sessions(users, 15)
    worker = start_worker("victim")
    produce(settings, pipeline, events)
    wait_for(
        lambda: all(len(hot_view(settings, pipeline, u) or []) == 15 for u in users),
        120, "every session live with its clicks", worker.assert_running,
    )  # fmt: skip
    assert stored_event_ids(cql_session, pipeline.keyspace) == []  # all of it only hot
    worker.kill()

    pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "2"
    survivor = start_worker("survivor")
    expected = newest_first(events)
    wait_for(
        lambda: sorted(stored_event_ids(cql_session, pipeline.keyspace)) == sorted(expected),
        120, "the sessions flushed by the restarted worker", survivor.assert_running,
    )  # fmt: skip


def test_redis_restarted_empty_during_live_sessions_loses_nothing(
    stack: LocalStack,
    settings: Settings,
    pipeline: Pipeline,
    start_worker: StartWorker,
    cql_session: Session,
) -> None:
    if pipeline.redis.cluster:
        pytest.skip("the stack's single node; on a cluster: test_worker_sessions_cluster.py")
    pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "600"
    users = [f"r{u}" for u in range(10)]
    events = live_sessions(users, 12)
    worker = start_worker("worker")
    produce(settings, pipeline, events)
    wait_for(
        lambda: all(len(hot_view(settings, pipeline, u) or []) == 12 for u in users),
        120, "every session live", worker.assert_running,
    )  # fmt: skip
    assert stored_event_ids(cql_session, pipeline.keyspace) == []

    redis = next(s for s in stack.services if s.name == "redis")
    redis.process.stop()  # no persistence: it comes back empty
    time.sleep(2)
    stack.up()
    later = [click(u, 100, NOW_MS - 1_000) for u in users]  # after the loss: users not live
    produce(settings, pipeline, later)

    expected = newest_first(events + later)
    wait_for(
        lambda: sorted(stored_event_ids(cql_session, pipeline.keyspace)) == sorted(expected),
        120, "the lost sessions replayed into cold", worker.assert_running,
    )  # fmt: skip


def test_interleaved_app_opens_and_clicks_at_high_rate_match_the_produced_sequence(
    settings: Settings, pipeline: Pipeline, start_worker: StartWorker, cql_session: Session
) -> None:
    pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "600"
    worker = start_worker("worker")
    events: list[Event] = []
    for n in range(300):  # an app_open every 10 clicks, all produced at once
        if n % 10 == 0:
            events.append(app_open("bob", n, NOW_MS - 30_000 + n))
        events.append(click("bob", n, NOW_MS - 30_000 + n))
    produce(settings, pipeline, events)
    expected = newest_first(events)
    wait_for(
        lambda: [i.event_id for i in hot_view(settings, pipeline, "bob") or []] == expected,
        120, "bob's hot view to match what was produced", worker.assert_running,
    )  # fmt: skip


def test_two_workers_and_a_rebalance_mid_session_lose_and_duplicate_nothing(
    settings: Settings, pipeline: Pipeline, start_worker: StartWorker, cql_session: Session
) -> None:
    pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "600"
    users = [f"w{u}" for u in range(24)]  # spread over the 4 partitions
    first = live_sessions(users, 10)
    one = start_worker("one")
    produce(settings, pipeline, first)
    wait_for(
        lambda: all(len(hot_view(settings, pipeline, u) or []) == 10 for u in users),
        120, "every session live on the first worker", one.assert_running,
    )  # fmt: skip

    two = start_worker("two")  # a rebalance: the first worker hands its sessions over
    wait_for(
        lambda: len(stored_event_ids(cql_session, pipeline.keyspace)) == 10 * len(users),
        120, "the hand-over to write everything dirty to cold", two.assert_running,
    )  # fmt: skip
    assert all(hot_view(settings, pipeline, u) is not None for u in users)  # still live

    second = [click(u, 200 + n, NOW_MS - 5_000 + n) for u in users for n in range(3)]
    produce(settings, pipeline, second)
    wait_for(
        lambda: all(len(hot_view(settings, pipeline, u) or []) == 13 for u in users),
        120, "the new clicks in the sessions both workers now own", two.assert_running,
    )  # fmt: skip
    one.stop()  # a rebalance: the first worker hands over what it had, the second takes all
    pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "2"
    three = start_worker("three")  # another: the second hands over; the third flushes idle ones
    expected = newest_first(first + second)
    wait_for(
        lambda: sorted(stored_event_ids(cql_session, pipeline.keyspace)) == sorted(expected),
        120, "every interaction in cold exactly once", three.assert_running,
    )  # fmt: skip
    two.assert_running()
