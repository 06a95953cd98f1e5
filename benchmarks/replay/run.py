"""One run of `bench replay`: the same write-through events (no app_opens: nobody has a session)
produced to three scratch topics; each replayed into a fresh keyspace by the raw limit, by
`interstore replay` (in process) and by the live worker (`interstore worker`)."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from cassandra.cluster import Session
from rich.console import Console

from benchmarks.harness.figures import Target, per_second, print_targets, ratio
from benchmarks.harness.processes import running_worker
from benchmarks.harness.results import BenchResult, host_info
from benchmarks.harness.scratch import Scratch, count_rows, scratch_resources
from benchmarks.replay.raw import replay_raw
from core.settings import Settings, load_settings
from deploy.scrape import metric_sum
from interstore.demo_events import generate_events
from ops.replay_command import ReplayRequest, run_replay
from schemas import AVRO_DIR
from store.cassandra_session import open_session
from streams.producer import EventProducer

DAY_MS = 86_400_000


@dataclass(frozen=True)
class ReplayParams:
    events: int = 100_000
    users: int = 10_000
    partitions: int = 12
    seed: int = 42
    raw_concurrency: int = 512

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


Event = tuple[str, dict[str, Any]]


def workload(params: ReplayParams) -> list[Event]:
    start = time.time_ns() // 1_000_000 - 3 * DAY_MS
    made = generate_events(params.users, params.events * 2, params.seed, start)
    return [e for e in made if e[0] != "app_open"][: params.events]


def produce(settings: Settings, topic: str, events: list[Event]) -> None:
    with EventProducer(settings.kafka, topic) as producer:
        for kind, record in events:
            producer.send(kind, record)
        producer.flush(120)


def measure_raw(s: Settings, session: Session, scratch: Scratch, p: ReplayParams) -> float:
    seconds = replay_raw(
        session, scratch.keyspace, s.kafka.bootstrap_servers, scratch.events_topic,
        p.partitions, p.events, AVRO_DIR, p.raw_concurrency,
    )  # fmt: skip
    return per_second(p.events, seconds)


def measure_replay(s: Settings, scratch: Scratch) -> float:
    scoped = s.model_copy(
        update={"cassandra": s.cassandra.model_copy(update={"keyspace": scratch.keyspace})}
    )
    request = ReplayRequest(
        topics=(scratch.events_topic,), group=f"{scratch.prefix}-replay", dead_letters=False
    )
    summary = run_replay(scoped, request, Console(quiet=True))
    return summary.events_per_s


def measure_worker(s: Settings, scratch: Scratch, total: int, console: Console) -> float:
    with running_worker(s, scratch, scratch.worker_env(), console) as worker:
        started = time.monotonic()
        written = "interstore_interactions_written_total"
        while metric_sum(worker.metrics((written,)), written) < total:
            worker.alive()
            time.sleep(0.2)
        return per_second(total, time.monotonic() - started)


def run_replay_bench(
    params: ReplayParams, console: Console, out: Console
) -> tuple[BenchResult, bool]:
    settings = load_settings()
    session = open_session(settings.cassandra)
    run_id = f"bench{uuid.uuid4().hex[:8]}"
    events = workload(params)
    figures: dict[str, float] = {}
    verified = True
    try:
        for phase in ("raw", "replay", "worker"):
            scratch = Scratch(f"{run_id}_{phase}", params.partitions)
            with scratch_resources(settings, session, scratch) as scoped:
                produce(scoped, scratch.events_topic, events)
                console.print(f"[bold]{phase}[/]: {len(events):,} events, {params.users:,} users")
                if phase == "raw":
                    figures[phase] = measure_raw(scoped, session, scratch, params)
                elif phase == "replay":
                    figures[phase] = measure_replay(scoped, scratch)
                else:
                    figures[phase] = measure_worker(scoped, scratch, len(events), console)
                rows = count_rows(session, scratch.keyspace)
                verified = verified and rows == len(events)
                console.print(f"  {figures[phase]:,.0f} events/s, {rows:,} rows")
    finally:
        session.cluster.shutdown()
    result = BenchResult(
        name="replay",
        params=params.to_json(),
        figures={"replay_events_per_s": round(figures["replay"], 1),
                 "worker_write_through_events_per_s": round(figures["worker"], 1),
                 "replay_over_worker": round(figures["replay"] / figures["worker"], 3)},
        baseline={"events_per_s": round(figures["raw"], 1),
                  "method": "confluent-kafka consume(5000) + fastavro + cassandra-driver "
                            "execute_concurrent (a partition's rows as one UNLOGGED batch), "
                            f"{params.raw_concurrency} in flight; no project code"},
        ratio=round(ratio(figures["replay"], figures["raw"]), 3),
        host=host_info(),
    )  # fmt: skip
    out.print(
        f"replay {figures['replay']:,.0f} events/s, raw limit {figures['raw']:,.0f}, "
        f"worker write-through {figures['worker']:,.0f}"
    )
    print_targets(out, [
        Target("replay / raw limit", result.ratio, 0.8),
        Target("replay / worker write-through", figures["replay"] / figures["worker"], 3.0),
    ])  # fmt: skip
    return result, verified
