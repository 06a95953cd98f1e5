"""One run of `bench capacity` on scratch names (removed afterwards): the ingest worker and the
features worker on one topic; first a history (events without app_opens: every interaction to
the cold tier), then sessions of the same users (an app_open each, then interactions: each user
hydrated and live in Redis). Then ``MEMORY USAGE`` of every hot and feature key, and the
SSTable bytes of the keyspace once flushed."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console

from benchmarks.capacity.disk import flush_often, settled_sstable_bytes
from benchmarks.capacity.memory import Usage, memory_usage
from benchmarks.capacity.plan import CapacityParams, capacity_figures, capacity_table
from benchmarks.harness.errors import BenchError
from benchmarks.harness.processes import BenchWorker, wait_assigned, wait_metrics, workdir_of
from benchmarks.harness.results import BenchResult, host_info
from benchmarks.harness.scratch import Scratch, count_rows, delete_hot_keys, scratch_resources
from core.settings import Settings, load_settings
from deploy.app_processes import FeaturesWorkerChild, WorkerChild
from deploy.scrape import metric_value, scrape
from interstore.demo_events import generate_events
from schemas.codec import default_codec
from store.cassandra_session import open_session
from streams.outgoing import OutgoingEvent, prepare_event
from streams.producer import EventProducer

HOUR_MS = 3_600_000
TIMEOUT_S = 300.0


def workload(
    params: CapacityParams, now_ms: int
) -> tuple[list[OutgoingEvent], list[OutgoingEvent]]:
    """(history: a day ending an hour ago, no app_opens; sessions: the last half hour)."""
    codec = default_codec()

    def events(count: int, seed: int, start_ms: int, span_ms: int) -> list[tuple[str, Any]]:
        return list(
            generate_events(params.users, count, seed, start_ms, mean_gap_ms=span_ms / count)
        )

    history = events(params.history_events, params.seed, now_ms - 25 * HOUR_MS, 24 * HOUR_MS)
    sessions = events(params.session_events, params.seed + 1, now_ms - HOUR_MS // 2, HOUR_MS // 3)
    return (
        [prepare_event(k, r, now_ms=now_ms, codec=codec) for k, r in history if k != "app_open"],
        [prepare_event(k, r, now_ms=now_ms, codec=codec) for k, r in sessions],
    )


def produce(settings: Settings, topic: str, events: Sequence[OutgoingEvent]) -> None:
    with EventProducer(settings.kafka, topic, close_timeout_s=120) as producer:
        for event in events:
            producer.send_prepared(event)
        producer.flush(120)


def wait_for(what: str, done: Callable[[], bool], processes: Sequence[WorkerChild]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if not all(p.running for p in processes):
            raise BenchError(
                f"a worker exited while waiting for {what}; logs in {processes[0].log_path.parent}"
            )
        try:
            if done():
                return
        except OSError:
            pass  # /metrics not answering yet
        time.sleep(0.5)
    raise BenchError(f"timed out waiting for {what}")


def consumed_at_least(worker: BenchWorker, events: int) -> bool:
    return metric_value(worker.metrics(), "interstore_events_consumed_total") >= events


def features_caught_up(features: FeaturesWorkerChild, events: int) -> bool:
    text = scrape(features.metrics_url)
    consumed = "interstore_feature_records_consumed_total"
    return metric_value(text, consumed, side="events") >= events and metric_value(
        text, consumed, side="entities"
    ) >= metric_value(text, "interstore_feature_repartitioned_total")


def run_capacity(
    params: CapacityParams, console: Console, out: Console
) -> tuple[BenchResult, bool]:
    settings = load_settings()
    session = open_session(settings.cassandra)
    scratch = Scratch(f"bench{uuid.uuid4().hex[:8]}_cap", params.partitions)
    feature_prefix = f"{scratch.prefix}f"
    history, sessions = workload(params, time.time_ns() // 1_000_000)
    try:
        with scratch_resources(settings, session, scratch) as scoped:
            tables = flush_often(session, scratch.keyspace)
            console.print(
                f"[bold]capacity[/] ({scratch.prefix}): tables flushed every 2 s: {tables}"
            )
            workdir = workdir_of(scoped, scratch)
            env = scratch.worker_env()
            worker = BenchWorker(env, workdir)
            features = FeaturesWorkerChild(
                env | {
                    "INTERSTORE_FEATURES_KEY_PREFIX": feature_prefix,
                    "INTERSTORE_FEATURES_WORKER_APP_ID": f"{scratch.prefix}-features",
                    "INTERSTORE_FEATURES_WORKER_DATA_DIR": str(workdir / "data" / "features"),
                },
                workdir / "features-worker.log",
                workdir,
            )  # fmt: skip
            processes = [worker, features]
            for process in processes:
                process.start()
            try:
                wait_metrics([worker])
                wait_assigned(
                    scoped, scratch.group, scratch.events_topic, params.partitions, worker.alive
                )
                for label, events, total in (
                    ("history", history, len(history)),
                    ("sessions", sessions, len(history) + len(sessions)),
                ):
                    console.print(f"{label}: {len(events):,} events of {params.users:,} users")
                    produce(scoped, scratch.events_topic, events)
                    wait_for(
                        label,
                        functools.partial(consumed_at_least, worker, total),
                        processes,
                    )
                wait_for(
                    "the features worker",
                    lambda: features_caught_up(features, len(history) + len(sessions)),
                    processes,
                )
                time.sleep(2)  # the last batch's writes and hydrations settle
                usage = memory_usage(settings.redis.url, [scratch.hot_prefix, feature_prefix])
            finally:
                for process in processes:
                    process.stop()
            rows = count_rows(session, scratch.keyspace)
            console.print(f"{rows:,} cold rows; waiting for the flushed SSTables to settle")
            data_dir = settings.stack.var_dir / "cassandra" / "data" / "data"
            disk = settled_sstable_bytes(data_dir, scratch.keyspace)
    finally:
        delete_hot_keys(settings, scratch.hot_prefix)
        delete_hot_keys(settings, feature_prefix)
        session.cluster.shutdown()
    hot: Usage = usage[scratch.hot_prefix]
    figures = capacity_figures(params, hot, usage[feature_prefix], rows, disk, history, sessions)
    out.print(capacity_table(figures))
    result = BenchResult(
        "capacity", params.to_json(), figures,
        {"method": "none: a sizing measurement (MEMORY USAGE SAMPLES 0; SSTable bytes on disk)"},
        1.0, host_info(),
    )  # fmt: skip
    return result, rows > 0 and figures["hot"]["live_users"] > 0
