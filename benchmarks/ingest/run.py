"""One run of `bench ingest`: the workload, then its phases, each on a fresh topic and keyspace
(dropped afterwards): producer only, the raw baseline, the worker on the session path, the worker
on the write-through path."""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cassandra.cluster import Session
from rich.console import Console

from benchmarks.harness.errors import BenchError
from benchmarks.harness.figures import per_second, print_targets
from benchmarks.harness.processes import workdir_of
from benchmarks.harness.results import BenchResult, host_info
from benchmarks.harness.scratch import Scratch, scratch_resources
from benchmarks.ingest.consumer import Consumer
from benchmarks.ingest.measure import measure, produce_all
from benchmarks.ingest.plan import IngestParams, Measurement, Workload, build_workload
from benchmarks.ingest.raw import RawConfig, RawConsumer, describe_raw
from benchmarks.ingest.report import build_result, render
from benchmarks.ingest.scaling import scaling_figures, scaling_table
from benchmarks.ingest.worker import WorkerConsumer
from core.settings import Settings, load_settings
from store.cassandra_session import open_session


@dataclass(frozen=True, slots=True)
class IngestPath:
    """A path through the consumers under test: its measurement's name, scratch suffix, the
    workload it gets and how its consumer is made on the scratch's settings."""

    name: str
    suffix: str
    workload: Callable[[Workload], Workload]
    consumer: Callable[[Settings, Scratch, IngestParams], Consumer]
    details: Callable[[Settings, IngestParams], dict[str, Any]]


def _raw(scoped: Settings, scratch: Scratch, params: IngestParams) -> Consumer:
    return RawConsumer(_raw_config(scoped, scratch, params))


def _raw_config(scoped: Settings, scratch: Scratch, params: IngestParams) -> RawConfig:
    return RawConfig(
        bootstrap_servers=scoped.kafka.bootstrap_servers,
        topic=scratch.events_topic,
        group=scratch.group,
        cassandra=scoped.cassandra,
        keyspace=scratch.keyspace,
        retention=scoped.retention,
        writes=params.baseline_writes,
        concurrency=params.baseline_concurrency,
        consume_batch=params.baseline_consume_batch,
    )


def _worker(scoped: Settings, scratch: Scratch, params: IngestParams) -> Consumer:
    return WorkerConsumer(scratch, workdir_of(scoped, scratch), params.workers[0])


def _raw_details(settings: Settings, params: IngestParams) -> dict[str, Any]:
    writes, concurrency = params.baseline_writes, params.baseline_concurrency
    return {"method": describe_raw(writes, concurrency, params.baseline_consume_batch)}


def _worker_details(settings: Settings, params: IngestParams) -> dict[str, Any]:
    worker = settings.worker
    return {
        "settings": {
            "batch_max": worker.batch_max,
            "batch_within_s": worker.batch_within_s,
            "write_concurrency": worker.write_concurrency,
            "commit_interval_s": worker.commit_interval_s,
            "log_level": worker.log_level,
        }
    }


def _same(workload: Workload) -> Workload:
    return workload


BASELINE = IngestPath("baseline", "baseline", _same, _raw, _raw_details)
SESSIONS = IngestPath("worker", "worker", _same, _worker, _worker_details)
"""Every generated session starts with an app_open: the users' interactions go to sessions."""
WRITE_THROUGH = IngestPath(
    "write-through", "through", Workload.write_through, _worker, _worker_details
)
"""The same events without app_opens: no user has a session, every interaction goes to cold."""


def sessions_with(params: IngestParams) -> dict[int, tuple[IngestPath, IngestParams]]:
    """The session path once per further worker count (the first count is ``SESSIONS``)."""
    return {
        count: (
            IngestPath(f"worker x{count}", f"w{count}", _same, _worker, _worker_details),
            dataclasses.replace(params, workers=(count,)),
        )
        for count in params.workers[1:]
    }


def measure_path(
    path: IngestPath, settings: Settings, session: Session, run_id: str, params: IngestParams,
    workload: Workload, console: Console,
) -> Measurement:  # fmt: skip
    """One path measured on scratch resources of its own (removed afterwards)."""
    scratch = Scratch(f"{run_id}_{path.suffix}", params.partitions)
    events = path.workload(workload)
    measurement = Measurement(
        path.name, len(events.events), events.interactions, details=path.details(settings, params)
    )
    with scratch_resources(settings, session, scratch) as scoped:
        consumer = path.consumer(scoped, scratch, params)
        try:
            return measure(measurement, scoped, session, scratch, events, consumer, console)
        except BenchError:
            console.print(f"log tail:\n{consumer.log_tail()}", markup=False)
            raise
        finally:
            consumer.clean_up(settings)


def producer_only(
    settings: Settings, session: Session, run_id: str, workload: Workload, console: Console
) -> float:
    """Events/s of the producer alone, to a topic nobody reads."""
    scratch = Scratch(f"{run_id}_produce", settings.topics.partitions)
    with scratch_resources(settings, session, scratch, keyspace=False) as scoped:
        console.print("[bold]producer only[/]: every event to a topic nobody reads")
        started, finished = produce_all(
            scoped, scratch.events_topic, workload.events, console, "producer only"
        )
    return per_second(len(workload.events), finished - started)


def _first(version: Any) -> str:
    """confluent-kafka gives (text, number) tuples or plain text, depending on the call."""
    return str(version[0] if isinstance(version, tuple) else version)


def versions(session: Session, settings: Settings) -> dict[str, Any]:
    import cassandra
    import confluent_kafka
    import faust

    row = session.execute("SELECT release_version FROM system.local", timeout=30).one()
    return {
        "kafka": settings.stack.kafka_version,
        "kafka_note": "the local stack's configured version",
        "cassandra": str(row[0]) if row is not None else None,
        "librdkafka": _first(confluent_kafka.libversion()),
        "confluent_kafka": _first(confluent_kafka.version()),
        "cassandra_driver": cassandra.__version__,
        "faust": faust.__version__,
    }


def run_ingest(params: IngestParams, console: Console, out: Console) -> tuple[BenchResult, bool]:
    """One run of the whole benchmark; the result and whether every measurement verified."""
    settings = load_settings()
    session = open_session(settings.cassandra)
    try:
        load_before = os.getloadavg()
        console.print(
            f"generating and encoding {params.events:,} events for {params.users:,} users "
            f"(seed {params.seed})"
        )
        workload = build_workload(params, time.time_ns() // 1_000_000)
        console.print(f"kinds: {dict(workload.kinds)}; {workload.interactions:,} rows to write")
        run_id = f"bench{uuid.uuid4().hex[:8]}"
        producer_rate = producer_only(settings, session, run_id, workload, console)
        order = [SESSIONS, WRITE_THROUGH, BASELINE] if params.worker_first else [
            BASELINE, SESSIONS, WRITE_THROUGH,
        ]  # fmt: skip
        measured = {
            path.name: measure_path(path, settings, session, run_id, params, workload, console)
            for path in order
        }
        scaled = {params.workers[0]: measured[SESSIONS.name]}
        for count, (path, scaled_params) in sessions_with(params).items():
            scaled[count] = measure_path(
                path, settings, session, run_id, scaled_params, workload, console
            )
        host = host_info(
            load_average_at_start=[round(value, 2) for value in load_before],
            **versions(session, settings),
        )
    finally:
        session.cluster.shutdown()
    baseline, worker, through = (measured[p.name] for p in (BASELINE, SESSIONS, WRITE_THROUGH))
    scaling = scaling_figures(scaled)
    result, targets = build_result(
        params, workload, producer_rate, (baseline, worker, through), scaling, host
    )
    out.print(render(result, baseline, worker, through, producer_rate))
    out.print(scaling_table(scaling))
    print_targets(out, targets)
    return result, all(m.verified for m in (*measured.values(), *scaled.values()))
