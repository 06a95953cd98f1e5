"""``interstore replay`` on the real stack: rebuilds the cold tier exactly as the live worker
built it, changes nothing when run again, resumes after SIGKILL, holds ``--rate``, writes
nothing on ``--dry-run``, and runs beside the live worker without losing or duplicating."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from cassandra.cluster import Session

from core.settings import Settings
from store.cassandra_cold import CassandraColdStore
from store.read_path import InteractionReader
from store.redis_hot import RedisHotStore
from tests.integration.ops.conftest import (
    cold_rows,
    make_events,
    produce,
    replay_cli,
    totals,
)
from tests.integration.worker.conftest import Pipeline, WorkerProcess, wait_for

StartWorker = Callable[[str], WorkerProcess]


async def api_answers(
    settings: Settings, session: Session, pipeline: Pipeline, users: list[str]
) -> dict[str, Any]:
    """What the read API's read path answers for each user (all kinds, up to 1,000)."""
    redis = settings.redis.model_copy(
        update={"key_prefix": pipeline.env["INTERSTORE_REDIS_KEY_PREFIX"]}
    )
    hot = RedisHotStore(redis, settings.session, settings.retention)
    cold = CassandraColdStore(session, pipeline.keyspace, settings.retention)
    try:
        reader = InteractionReader(hot, cold)
        found = await reader.recent_json_many(users, limit=1000)
        return {o.user_id: (o.source, o.interactions) for o in found}  # type: ignore[union-attr]
    finally:
        await hot.close()


async def answers_from_cold(
    settings: Settings,
    cql_session: Session,
    pipeline: Pipeline,
    users: list[str],
    worker: WorkerProcess,
    timeout_s: float = 60,
) -> dict[str, tuple[str, Any]]:
    """The API's answers once every user's session has ended (idle 2 s) and all answer from
    cold; a stop before that would leave the live sessions in Redis, handed over."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = await api_answers(settings, cql_session, pipeline, users)
        live = [user for user, (source, _) in found.items() if source != "cold"]
        if not live:
            return found
        assert time.monotonic() < deadline, f"{len(live)} sessions still live after {timeout_s} s"
        worker.assert_running()
        await asyncio.sleep(0.5)


def interaction_count(batch: list[tuple[str, dict[str, Any]]]) -> int:
    return sum(1 for kind, _ in batch if kind != "app_open")


async def test_drop_the_cold_tier_and_replay_then_the_api_answers_as_before(
    settings: Settings, cql_session: Session, pipeline: Pipeline, start_worker: StartWorker
) -> None:
    batch = make_events(3000, users=150, seed=11)
    users = sorted({record["user_id"] for _, record in batch})
    produce(settings, pipeline.events_topic, batch)
    worker = start_worker("worker")
    expected = interaction_count(batch)
    wait_for(
        lambda: len(cold_rows(cql_session, pipeline.keyspace)) >= expected,
        180, f"{expected} rows written by the worker", worker.assert_running,
    )  # fmt: skip
    before = await answers_from_cold(settings, cql_session, pipeline, users, worker)
    worker.stop()  # every session had ended (idle 2 s): a stop leaves nothing live in Redis
    rows_before = cold_rows(cql_session, pipeline.keyspace)

    cql_session.execute(f"TRUNCATE {pipeline.keyspace}.interactions", timeout=60)
    summary, stderr = replay_cli(pipeline, "--dry-run")
    assert "to read" in stderr
    assert "3,000" in stderr
    assert cold_rows(cql_session, pipeline.keyspace) == []  # a dry run writes nothing

    summary, stderr = replay_cli(pipeline, "--from", "earliest")
    assert summary is not None
    assert "consumer group" in stderr
    assert totals(summary, "read") == len(batch)
    assert totals(summary, "written") == expected
    assert await api_answers(settings, cql_session, pipeline, users) == before
    assert cold_rows(cql_session, pipeline.keyspace) == rows_before

    again, _ = replay_cli(pipeline, "--from", "earliest")  # the same command: already done
    assert again is not None
    assert again["offsets"] == 0
    fresh, _ = replay_cli(pipeline, "--group", f"{pipeline.keyspace}-again")  # everything again
    assert fresh is not None
    assert totals(fresh, "written") == expected
    assert cold_rows(cql_session, pipeline.keyspace) == rows_before


def test_sigkill_midway_then_rerun_resumes_at_the_set_rate_and_ends_the_same(
    settings: Settings, cql_session: Session, pipeline: Pipeline
) -> None:
    batch = make_events(30_000, users=2_000, seed=12)
    produce(settings, pipeline.events_topic, batch)
    command = [sys.executable, "-m", "interstore.cli", "replay", "--rate", "2000", "--json"]
    first = subprocess.Popen(
        command, env=pipeline.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 90  # killed once it has written some, not after a fixed sleep
    while not cold_rows(cql_session, pipeline.keyspace) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    partial = len(cold_rows(cql_session, pipeline.keyspace))
    assert 0 < partial < interaction_count(batch)

    # The rest (20,000+ events: ~10 s at 2,000/s) measured from the first record read to the
    # last batch written: the bucket starts empty then, so it never runs ahead of the rate.
    summary, _ = replay_cli(pipeline, "--rate", "2000")
    assert summary is not None
    print("resumed:", summary["offsets"], "offsets in", summary["elapsed_s"], "s")
    assert 20_000 <= summary["offsets"] < len(batch)  # resumed, not restarted
    assert summary["events_per_s"] == pytest.approx(2000, rel=0.10)
    rows = cold_rows(cql_session, pipeline.keyspace)
    ids = [row[2] for row in rows]
    assert len(ids) == len(set(ids)) == interaction_count(batch)


def test_replay_beside_the_live_worker_loses_and_duplicates_nothing(
    settings: Settings, cql_session: Session, pipeline: Pipeline, start_worker: StartWorker
) -> None:
    first, second = make_events(4000, 300, seed=13), make_events(4000, 300, seed=14, days_ago=1)
    produce(settings, pipeline.events_topic, first)
    worker = start_worker("worker")
    replay = subprocess.Popen(
        [sys.executable, "-m", "interstore.cli", "replay", "--rate", "1500"],
        env=pipeline.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    produce(settings, pipeline.events_topic, second)  # while both consume
    _, stderr = replay.communicate(timeout=300)
    assert replay.returncode == 0, stderr.decode()[-2000:]
    expected = interaction_count(first) + interaction_count(second)
    wait_for(
        lambda: len(cold_rows(cql_session, pipeline.keyspace)) >= expected,
        180, f"{expected} rows", worker.assert_running,
    )  # fmt: skip
    time.sleep(3)  # anything late would show as a duplicate or an extra row
    ids = [row[2] for row in cold_rows(cql_session, pipeline.keyspace)]
    assert len(ids) == len(set(ids)) == expected


def test_from_a_time_for_some_users_only(
    settings: Settings, cql_session: Session, pipeline: Pipeline
) -> None:
    early, late = make_events(1000, 50, seed=15), make_events(1000, 50, seed=16)
    produce(settings, pipeline.events_topic, early)
    time.sleep(1.5)
    cut = int(time.time() * 1000)  # the Kafka record time (when produced) a replay seeks to
    time.sleep(0.5)
    produce(settings, pipeline.events_topic, late)
    chosen = sorted({record["user_id"] for _, record in late})[:3]
    users = pipeline.tmp / "users.txt"
    users.write_text("\n".join(chosen) + "\n")
    summary, _ = replay_cli(pipeline, "--from", str(cut), "--users", str(users))
    assert summary is not None
    assert totals(summary, "read") == len(late)
    wanted = {r["event_id"] for k, r in late if k != "app_open" and r["user_id"] in chosen}
    assert {row[2] for row in cold_rows(cql_session, pipeline.keyspace)} == wanted
    assert totals(summary, "other_users") == sum(1 for _, r in late if r["user_id"] not in chosen)
