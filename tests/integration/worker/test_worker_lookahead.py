"""Graceful degradation on the real stack: an app_open produced behind a deliberate backlog is
live (with every interaction of its user produced before it) while most of that backlog is still
to be consumed, and afterwards each interaction is stored exactly once. Counted in messages, not
timed (how fast is the benchmarks' business): an app_open handled in its turn, or found by early
hydration alone (a few batches ahead of the stream), is live only once nearly all of it is."""

from __future__ import annotations

from cassandra.cluster import Session

from core.settings import Settings
from deploy.scrape import metric_sum, scrape
from tests.integration.worker.conftest import Pipeline, wait_for
from tests.integration.worker.test_worker_sessions import (
    NOW_MS,
    Event,
    StartWorker,
    app_open,
    click,
    cold_ids_of,
    hot_view,
    newest_first,
    produce,
)

BACKLOG_USERS, PER_USER = 3_000, 12
LEFT_WHEN_LIVE = 0.75
"""The part of the backlog behind the app_open (at its produce ack) still unconsumed, at least,
when its user is live. The consumer hands a backlog over partition after partition: the
look-ahead reads a partition from where it is consumed, before the stream reaches it. Before it
did, an app_open in a partition served last was live with 0.33-0.82 of it left."""


def backlog(first: int) -> list[Event]:
    """Other users' clicks, interleaved by user."""
    return [
        click(f"b{u:05d}", first + n, NOW_MS - 200_000 + n)
        for n in range(PER_USER)
        for u in range(BACKLOG_USERS)
    ]


def consumed(worker_metrics_url: str) -> float:
    """Messages the worker consumed so far (0 until its web server answers)."""
    try:
        return metric_sum(scrape(worker_metrics_url), "interstore_events_consumed_total")
    except OSError:
        return 0.0


def test_an_app_open_behind_a_backlog_is_live_long_before_the_backlog_drains(
    settings: Settings, pipeline: Pipeline, start_worker: StartWorker, cql_session: Session
) -> None:
    pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "10"
    pipeline.env["INTERSTORE_WORKER_BATCH_WITHIN_S"] = "0.2"
    early = [click("alice", n, NOW_MS - 100_000 + n) for n in range(5)]
    middle = [click("alice", n, NOW_MS - 90_000 + n) for n in range(5, 10)]
    first_half, second_half = backlog(0), backlog(PER_USER)
    produce(settings, pipeline, early + first_half + middle + second_half)
    worker = start_worker("worker")
    wait_for(lambda: consumed(worker.metrics_url) > 2_000, 120, "a start", worker.assert_running)

    opened = [app_open("alice", 1, NOW_MS - 80_000)]
    after = [click("alice", n, NOW_MS - 80_000 + n) for n in range(10, 15)]
    produce(settings, pipeline, opened + after)
    total = len(early + first_half + middle + second_half + opened + after)
    behind_at_ack = total - consumed(worker.metrics_url)
    assert behind_at_ack > 20_000, f"no deep backlog to test with ({behind_at_ack:.0f} behind)"

    wait_for(
        lambda: hot_view(settings, pipeline, "alice") is not None,
        120, "alice live", worker.assert_running,
    )  # fmt: skip
    behind_when_live = total - consumed(worker.metrics_url)
    view = hot_view(settings, pipeline, "alice") or []
    before_app_open = set(newest_first(early + middle))
    assert before_app_open <= {i.event_id for i in view}  # nothing before it missing
    print(f"{behind_at_ack:.0f} behind at the ack, {behind_when_live:.0f} when alice was live")
    assert behind_when_live > behind_at_ack * LEFT_WHEN_LIVE, "live only once most was consumed"
    wait_for(
        lambda: consumed(worker.metrics_url) >= total, 300, "the backlog drained",
        worker.assert_running,
    )  # fmt: skip

    wait_for(
        lambda: hot_view(settings, pipeline, "alice") is None, 120, "the idle flush",
        worker.assert_running,
    )  # fmt: skip
    stored = cold_ids_of(cql_session, pipeline.keyspace, "alice")
    assert sorted(stored) == sorted(newest_first(early + middle + after))  # each exactly once
    assert "look-ahead failed" not in worker.log_tail(200_000)
