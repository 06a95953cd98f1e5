"""`interstore bench features`: what the feature pipeline costs the ingest, and its freshness.

Two phases, on scratch topics, keyspaces and key prefixes of their own (all removed after):

1. Throughput: the same pre-built events go through ``interstore worker`` alone (the baseline),
   then through a second ``interstore worker`` while ``interstore features worker`` runs on the
   same topic with the default definition. Ingest events/s = events / (first produce to the
   ingest worker having consumed them all). Cost = 1 - with / alone (target: at most 35%).
2. Freshness: with both still running, events stamped at send time go out at ``rate``/s for
   ``duration_s``; the features worker's ``interstore_feature_freshness_seconds`` histogram
   (event time to value visible in Redis), counted over that phase only: p50 and p99 (target:
   p99 under 2 s at 1,000 events/s).

On the shared harness: scratch resources, the worker processes, results.
"""

from __future__ import annotations

import os
import time
import urllib.parse
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console

from benchmarks.harness.cpu import GroupCpu
from benchmarks.harness.errors import BenchError
from benchmarks.harness.figures import Ceiling, Target, per_second, print_targets, ratio
from benchmarks.harness.processes import BenchWorker, workdir_of
from benchmarks.harness.results import BenchResult, host_info
from benchmarks.harness.scratch import Scratch, delete_hot_keys, scratch_resources
from core.settings import Settings, load_settings
from deploy.app_processes import FeaturesWorkerChild
from deploy.scrape import bucket_delta, histogram_quantile, metric_samples, metric_value, scrape
from interstore.demo_events import generate_events
from schemas.codec import default_codec
from store.cassandra_session import open_session
from streams.outgoing import OutgoingEvent, prepare_event
from streams.producer import EventProducer

FRESHNESS = "interstore_feature_freshness_seconds"
CONSUMED = "interstore_feature_records_consumed_total"
REPARTITIONED = "interstore_feature_repartitioned_total"
TIMEOUT_S = 600.0


@dataclass(frozen=True, slots=True)
class FeaturesParams:
    events: int = 30_000
    users: int = 5_000
    partitions: int = 12
    seed: int = 42
    rate: float = 1_000.0
    duration_s: float = 30.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


Process = BenchWorker | FeaturesWorkerChild


def features_prefix(scratch: Scratch) -> str:
    """The features worker's Redis key prefix (its values and states), removed after the run
    like the hot tier's keys under ``scratch.prefix``."""
    return f"{scratch.prefix}f"


def _values(process: Process, *names: str) -> str:
    """Only the samples ``names`` of the process's /metrics (a full page costs the worker
    milliseconds of CPU: polled ten times a second, it would slow what it measures)."""
    query = urllib.parse.urlencode([("name[]", name) for name in names])
    try:
        return scrape(f"{process.metrics_url}?{query}")
    except OSError:
        return ""  # not answering yet


def _value(process: Process, name: str, **labels: str) -> float:
    return metric_value(_values(process, name), name, **labels)


def _pid(process: Process) -> int:
    return process.proc.pid if process.proc is not None else 0


def _answers(process: Process) -> bool:
    try:
        scrape(process.metrics_url)
    except OSError:
        return False
    return True


def _wait(what: str, done: Any, processes: list[Process]) -> float:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        for process in processes:
            if not process.running:
                raise BenchError(f"a worker exited; its log: {process.log_path}")
        if done():
            return time.monotonic()
        time.sleep(0.1)
    raise BenchError(f"timed out waiting for {what}")


def _features_caught_up(features: Process, events: int) -> bool:
    text = _values(features, CONSUMED, REPARTITIONED)
    return metric_value(text, CONSUMED, side="events") >= events and metric_value(
        text, CONSUMED, side="entities"
    ) >= metric_value(text, REPARTITIONED)


def _freshness_buckets(text: str) -> list[tuple[float, float]]:
    """The histogram's cumulative buckets, every group together."""
    summed: dict[float, float] = {}
    for labels, value in metric_samples(text, f"{FRESHNESS}_bucket"):
        bound = float(labels["le"])
        summed[bound] = summed.get(bound, 0.0) + value
    return sorted(summed.items())


def _produce(settings: Settings, topic: str, events: list[OutgoingEvent]) -> float:
    """Send every event as fast as the producer takes them; when the first went out."""
    with EventProducer(settings.kafka, topic, close_timeout_s=120) as producer:
        started = time.monotonic()
        for event in events:
            producer.send_prepared(event)
        producer.flush(120)
    return started


def _workload(params: FeaturesParams) -> list[OutgoingEvent]:
    """Deterministic events over the last hour, encoded once (both phases send the same)."""
    now_ms = int(time.time() * 1000)
    codec = default_codec()
    records = generate_events(params.users, params.events, params.seed, now_ms - 3_600_000,
                              mean_gap_ms=3_500_000 / params.events)  # fmt: skip
    return [prepare_event(kind, record, now_ms=now_ms, codec=codec) for kind, record in records]


def _throughput(
    settings: Settings,
    scratch: Scratch,
    events: list[OutgoingEvent],
    with_features: bool,
    console: Console,
) -> tuple[dict[str, Any], list[Process]]:
    workdir = workdir_of(settings, scratch)
    ingest = BenchWorker(scratch.worker_env(), workdir)
    processes: list[Process] = [ingest]
    if with_features:
        env = scratch.worker_env() | {
            "INTERSTORE_FEATURES_KEY_PREFIX": features_prefix(scratch),
            "INTERSTORE_FEATURES_WORKER_APP_ID": f"{scratch.prefix}-features",
            "INTERSTORE_FEATURES_WORKER_DATA_DIR": str(workdir / "data" / "features"),
        }
        processes.append(FeaturesWorkerChild(env, workdir / "features-worker.log", workdir))
    for process in processes:
        process.start()
    _wait("the workers' /metrics", lambda: all(_answers(p) for p in processes), processes)
    time.sleep(5)  # let the groups settle on their partitions
    console.print("ingest + features" if with_features else "ingest alone")
    started = _produce(settings, scratch.events_topic, events)
    count = len(events)
    ingested = _wait(
        "the ingest worker", lambda: _value(ingest, "interstore_events_consumed_total") >= count,
        processes,
    )  # fmt: skip
    figures: dict[str, Any] = {"ingest_events_per_s": round(per_second(count, ingested - started))}
    if with_features:
        features = processes[1]
        done = _wait("the features worker", lambda: _features_caught_up(features, count), processes)
        figures["features_events_per_s"] = round(per_second(count, done - started))
    return figures, processes


def _freshness(
    settings: Settings, scratch: Scratch, params: FeaturesParams, processes: list[Process]
) -> dict[str, Any]:
    """Events stamped at send time, paced at ``rate``/s; besides the freshness quantiles: the
    rate really sent, how far behind the features worker was when the sending ended, and the
    CPU of each process group over the phase (is the host saturated? who uses it?)."""
    ingest, features = processes
    before = _freshness_buckets(scrape(features.metrics_url))
    consumed = _value(features, CONSUMED, side="events")
    total = int(params.rate * params.duration_s)
    records = generate_events(params.users, total, params.seed + 1, int(time.time() * 1000))
    named = {_pid(ingest): "ingest worker", _pid(features): "features worker"}
    cpu = GroupCpu({**named, os.getpid(): "bench (producer)"})
    cpu.start()
    started = time.monotonic()
    with EventProducer(settings.kafka, scratch.events_topic) as producer:
        for index, (kind, record) in enumerate(records):
            pause = started + index / params.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            producer.send(kind, {**record, "ts": int(time.time() * 1000)})
        producer.flush(60)
    sent = time.monotonic()
    behind = consumed + total - _value(features, CONSUMED, side="events")
    caught_up = int(consumed) + total
    done = _wait(
        "the features worker", lambda: _features_caught_up(features, caught_up), [features]
    )
    used = cpu.read()
    time.sleep(1)
    delta = bucket_delta(_freshness_buckets(scrape(features.metrics_url)), before)
    features_cpu_s = used["cpu_cores"].get("features worker", 0.0) * (done - started)
    return {
        "freshness_p50_s": round(histogram_quantile(delta, 0.5), 3),
        "freshness_p99_s": round(histogram_quantile(delta, 0.99), 3),
        "freshness_events": total,
        "freshness_observations": int(delta[-1][1]) if delta else 0,
        "freshness_sent_events_per_s": round(per_second(total, sent - started)),
        "freshness_behind_at_end_events": int(behind),
        "freshness_catch_up_s": round(done - sent, 2),
        "freshness_features_cpu_us_per_event": round(features_cpu_s * 1e6 / total),
        "freshness_cpu": used,
    }


def run_features(
    params: FeaturesParams, console: Console, out: Console
) -> tuple[BenchResult, bool]:
    """One run: both phases, each on scratch resources of its own."""
    settings = load_settings()
    session = open_session(settings.cassandra)
    run_id = f"bf{int(time.time())}"
    events = _workload(params)
    figures: dict[str, Any] = {}
    try:
        for name, with_features in (("alone", False), ("features", True)):
            scratch = Scratch(f"{run_id}_{name}", params.partitions)
            with scratch_resources(settings, session, scratch) as scoped:
                measured, processes = _throughput(scoped, scratch, events, with_features, console)
                try:
                    if with_features:
                        measured |= _freshness(scoped, scratch, params, processes)
                finally:
                    for process in processes:
                        process.stop()
                    delete_hot_keys(settings, scratch.prefix)
                    delete_hot_keys(settings, features_prefix(scratch))
                figures[name] = measured
    finally:
        session.cluster.shutdown()
    alone = figures["alone"]["ingest_events_per_s"]
    with_f = figures["features"]["ingest_events_per_s"]
    share = ratio(with_f, alone)
    p99 = figures["features"]["freshness_p99_s"]
    targets: list[Target] = [
        Ceiling("features cost to ingest throughput", 1 - share, 0.35, "ratio"),
        Ceiling(f"freshness p99 at {params.rate:,.0f} events/s", p99, 2.0, "s"),
    ]
    result = BenchResult(
        "features",
        params.to_json(),
        {**figures["features"], "cost": round(1 - share, 3),
         "targets": [t.to_json() for t in targets]},
        {"ingest_alone_events_per_s": alone},
        round(share, 3),
        host_info(),
    )  # fmt: skip
    print_targets(out, targets)
    return result, True
