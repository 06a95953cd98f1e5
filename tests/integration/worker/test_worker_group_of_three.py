"""Three worker processes in one consumer group, rebalanced mid-stream (one starts, two join,
one is SIGKILLed and restarted) over users with and without a session: every interaction is
stored exactly once, checked by event id across the tiers as ``bench ingest`` checks it (a union
of cold rows and live sessions' dirty entries, copies inside a tier counted as duplicates), again
after the group is stopped one worker at a time (as the benchmark stops it), then in cold alone
once the sessions have ended."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from cassandra.cluster import Session

from benchmarks.ingest.verify import Verification, verify
from benchmarks.ingest.worker import hot_dirty_ids
from core.settings import Settings
from tests.integration.worker.conftest import Pipeline, WorkerProcess, stored_event_ids, wait_for
from tests.integration.worker.test_worker_readiness import PARTITIONS, held
from tests.integration.worker.test_worker_sessions import (
    NOW_MS,
    Event,
    app_open,
    click,
    hot_view,
    produce,
)

StartWorker = Callable[[str], WorkerProcess]
PER_USER = 40


def metric(worker: WorkerProcess, name: str, label: str) -> float:
    text = httpx.get(worker.metrics_url, timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and label in line
    )


def stream(session_users: list[str], other_users: list[str]) -> list[Event]:
    """Session users open the app first; every user then clicks PER_USER times, interleaved."""
    events = [app_open(user, 0, NOW_MS - 120_000) for user in session_users]
    for n in range(PER_USER):
        for u, user in enumerate(session_users + other_users):
            events.append(click(user, n, NOW_MS - 100_000 + n * 100 + u))
    return events


def stored(
    settings: Settings, pipeline: Pipeline, cql: Session, expected: list[str]
) -> Verification:
    """Hot first, then cold: an interaction flushed in between is then seen in cold."""
    hot = hot_dirty_ids(
        settings.model_copy(update={"redis": pipeline.redis}),
        pipeline.env["INTERSTORE_REDIS_KEY_PREFIX"],
        int(pipeline.env["INTERSTORE_TOPICS_PARTITIONS"]),
    )
    return verify(expected, stored_event_ids(cql, pipeline.keyspace), hot)


def test_three_workers_rebalanced_and_killed_mid_stream_store_each_interaction_once(
    settings: Settings, pipeline: Pipeline, start_worker: StartWorker, cql_session: Session
) -> None:
    pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "600"  # sessions stay live through the run
    pipeline.env["INTERSTORE_WORKER_BATCH_MAX"] = "50"  # many batches: a stream to cut
    sessions = [f"s{u}" for u in range(20)]
    others = [f"n{u}" for u in range(20)]
    events = stream(sessions, others)
    expected = [r["event_id"] for k, r in events if k != "app_open"]
    chunks = [
        events[i : i + len(events) // 4 + 1] for i in range(0, len(events), len(events) // 4 + 1)
    ]
    assert len(chunks) == 4

    a = start_worker("a")
    wait_for(lambda: held(a) == PARTITIONS, 120, "the first worker's assignment", a.assert_running)
    produce(settings, pipeline, chunks[0])
    wait_for(
        lambda: stored(settings, pipeline, cql_session, expected).found > 0,
        120, "the first worker storing", a.assert_running,
    )  # fmt: skip
    b, c = start_worker("b"), start_worker("c")  # two join: a hands its sessions over
    produce(settings, pipeline, chunks[1])
    wait_for(
        lambda: all(held(w) for w in (a, b, c)), 120, "three workers holding partitions",
        c.assert_running,
    )  # fmt: skip
    produce(settings, pipeline, chunks[2])
    b.kill()  # SIGKILL mid-stream: its partitions move once the group notices
    produce(settings, pipeline, chunks[3])
    b = start_worker("b-again")

    def complete() -> bool:
        return stored(settings, pipeline, cql_session, expected).found == len(expected)

    # b's partitions hold events of the last chunk: complete means the group reassigned them
    wait_for(complete, 300, "every interaction stored", b.assert_running)
    print("partitions held:", {w.log_path.stem: sorted(held(w)) for w in (a, b, c)})
    handed_over = sum(
        metric(w, "interstore_session_flushes_total", 'cause="rebalance"') for w in (a, c)
    )
    assert handed_over > 0, "no session was handed over in a rebalance"
    checked = stored(settings, pipeline, cql_session, expected)
    print("stored across the tiers:", checked)
    assert (checked.missing, checked.duplicated, checked.unexpected) == (0, 0, 0), checked
    for user in sessions:  # a live view holds each of the user's interactions once
        view = [i.event_id for i in hot_view(settings, pipeline, user) or []]
        assert sorted(view) == sorted(e for e in expected if e.startswith(f"{user}-")), user
    for worker in (a, c):
        worker.assert_running()

    a.stop()  # as `bench ingest` stops its group: one by one, each stop a rebalance for the rest
    c.stop()
    after = stored(settings, pipeline, cql_session, expected)
    print("after stopping two of three:", after)
    assert (after.found, after.missing, after.duplicated, after.unexpected) == (
        len(expected),
        0,
        0,
        0,
    )
    b.stop()  # the sessions end and are flushed: cold alone holds everything
    pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "2"
    last = start_worker("last")
    wait_for(
        lambda: all(hot_view(settings, pipeline, user) is None for user in sessions),
        120, "the idle sessions flushed", last.assert_running,
    )  # fmt: skip
    cold = stored_event_ids(cql_session, pipeline.keyspace)
    assert sorted(cold) == sorted(expected)  # each exactly once
