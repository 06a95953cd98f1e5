"""`interstore bench ingest`: events/s from the first produce to the last interaction stored.

One run generates and encodes N events once, then measures, each on a fresh topic and keyspace
(dropped afterwards):

- producer only: ``EventProducer.send_prepared`` of all N events to a topic nobody reads;
- baseline, the raw limit: a process of its own running a plain confluent-kafka ``Consumer``
  (``consume(num_messages=...)``), ``Codec.decode_many``, ``Interaction.from_record`` and
  plain cassandra-driver writes (``execute_concurrent``, one prepared INSERT per kind with
  ``USING TTL ?``, rows of one partition as one UNLOGGED batch unless ``--baseline-writes
  singles``), committing offsets after each batch is written;
- worker: the real ``interstore worker`` as a subprocess (``--workers N``: N of them in one
  consumer group) with its own app id, web port, data dir, topics and keyspace, exactly as
  users run it. ``INTERSTORE_WORKER_*`` and ``INTERSTORE_SESSION_*`` from the environment apply,
  so settings can be tried from the command line; logs stay in ``var/bench/PREFIX/``.

Both are measured the same way: the consumer starts first and the benchmark waits until the
consumer group is stable with every partition assigned (and the worker's /metrics answers), then
produces as fast as it can. events/s = N / (the poll that first sees every event consumed and
every interaction stored - the first produce). The baseline counts its own writes. The worker's
counts come from its Prometheus counters: an interaction is stored once a batch wrote it to the
cold tier or it was absorbed into a live session in the hot tier (users with a session, which
every app_open starts, keep their interactions in Redis until the session ends; the worker runs
with its own Redis key prefix, deleted afterwards). Once the consumer has stopped, the stores
are counted: rows in the keyspace (``SELECT COUNT(*)``) plus, for the worker, the dirty
interactions of its live sessions must equal the interactions produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import psutil
from cassandra import ConsistencyLevel
from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent
from cassandra.query import BatchStatement, BatchType, PreparedStatement, Statement
from confluent_kafka import Consumer, ConsumerGroupState, KafkaError, KafkaException
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from benchmarks.common import (
    BenchResult,
    Target,
    figures_table,
    host_info,
    metric_sum,
    per_second,
    print_targets,
    ratio,
)
from core.errors import InterstoreError
from core.settings import CassandraSettings, RetentionSettings, Settings, load_settings
from interstore.demo_events import generate_events
from schemas.codec import default_codec
from schemas.errors import SchemaError
from store.buckets import bucket_of, span_days
from store.cassandra_session import open_session
from store.cold import ttl_seconds
from store.cql_schema import apply_schema
from store.interactions import KIND_FIELDS, Interaction
from streams.outgoing import OutgoingEvent, prepare_event
from streams.producer import EventProducer
from streams.topics import admin_client, ensure_topics

HOUR_MS = 3_600_000
POLL_S = 0.1
"""How often the counts are read, for both consumers: the end time is late by at most this."""
SETTLE_S = 3.0
"""Pause after the group is stable, so the consumer is fetching before the first produce."""
READY_TIMEOUT_S = 180.0
STALL_TIMEOUT_S = 120.0
"""Give up when the written count has not moved for this long."""
COUNT_TIMEOUT_S = 300.0
BASELINE_WRITES = ("batches", "singles")
COMMON_COLUMNS = ("user_id", "kind", "bucket", "ts", "event_id", "product_id", "category_id")
MAX_BATCH_ROWS = 100
CONSUMED, WRITTEN, BATCHES, REQUESTS, FAILED = 0, 1, 2, 3, 4
"""Slots of the counters the baseline process shares with the parent."""


class BenchError(InterstoreError):
    """The benchmark could not run to the end (a consumer died, stalled or never got ready)."""


@dataclass(frozen=True, slots=True)
class IngestParams:
    events: int = 100_000
    users: int = 10_000
    partitions: int = 12
    seed: int = 42
    spread_hours: float = 2.0
    """Event timestamps run over this many hours, ending about now."""
    baseline_writes: str = "batches"
    baseline_concurrency: int = 256
    baseline_consume_batch: int = 2_000
    workers: int = 1
    """``interstore worker`` processes (one consumer group)."""
    worker_first: bool = False

    def __post_init__(self) -> None:
        if min(self.events, self.users, self.partitions, self.workers) < 1:
            raise ValueError("events, users, partitions and workers must be positive")
        if self.baseline_writes not in BASELINE_WRITES:
            raise ValueError(f"baseline writes are one of {BASELINE_WRITES}")

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "users": self.users,
            "partitions": self.partitions,
            "seed": self.seed,
            "spread_hours": self.spread_hours,
            "baseline_writes": self.baseline_writes,
            "baseline_concurrency": self.baseline_concurrency,
            "baseline_consume_batch": self.baseline_consume_batch,
            "workers": self.workers,
            "order": "worker first" if self.worker_first else "baseline first",
        }


# -- the workload


@dataclass(frozen=True, slots=True)
class Workload:
    events: list[OutgoingEvent]
    kinds: Mapping[str, int]

    @property
    def interactions(self) -> int:
        """Events the cold tier stores a row for (every kind but app_open)."""
        return sum(count for kind, count in self.kinds.items() if kind != "app_open")


def build_workload(params: IngestParams, now_ms: int) -> Workload:
    """N deterministic events (for ``seed``) over the last ``spread_hours``, encoded once."""
    spread_ms = params.spread_hours * HOUR_MS
    codec = default_codec()
    events: list[OutgoingEvent] = []
    kinds: Counter[str] = Counter()
    generated = generate_events(
        params.users,
        params.events,
        params.seed,
        now_ms - int(spread_ms),
        mean_gap_ms=spread_ms * 0.98 / params.events,
    )
    for kind, record in generated:
        events.append(prepare_event(kind, record, now_ms=now_ms, codec=codec))
        kinds[kind] += 1
    return Workload(events, dict(sorted(kinds.items())))


# -- scratch topics and keyspaces


@dataclass(frozen=True, slots=True)
class Scratch:
    """The names one measurement uses; all of them are removed afterwards."""

    prefix: str
    partitions: int

    @property
    def events_topic(self) -> str:
        return f"{self.prefix}.events"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.prefix}.dlq"

    @property
    def keyspace(self) -> str:
        return self.prefix

    @property
    def hot_prefix(self) -> str:
        """Start of every hot-tier (Redis) key the worker writes."""
        return self.prefix

    @property
    def group(self) -> str:
        """Consumer group, and the worker's app id (Faust's group id is its app id)."""
        return f"{self.prefix}-group"

    def worker_env(self) -> dict[str, str]:
        """The environment of an ``interstore worker`` on this run's names."""
        return {
            **os.environ,
            "INTERSTORE_TOPICS_EVENTS": self.events_topic,
            "INTERSTORE_TOPICS_DEAD_LETTERS": self.dead_letter_topic,
            "INTERSTORE_TOPICS_PARTITIONS": str(self.partitions),
            "INTERSTORE_CASSANDRA_KEYSPACE": self.keyspace,
            "INTERSTORE_WORKER_APP_ID": self.group,
            "INTERSTORE_WORKER_WEB_BIND": "127.0.0.1",
            "INTERSTORE_REDIS_KEY_PREFIX": self.hot_prefix,
        }

    def settings(self, base: Settings) -> Settings:
        topics = base.topics.model_copy(
            update={
                "events": self.events_topic,
                "dead_letters": self.dead_letter_topic,
                "partitions": self.partitions,
            }
        )
        return base.model_copy(update={"topics": topics})


@contextlib.contextmanager
def scratch_resources(
    base: Settings, session: Session, scratch: Scratch, *, keyspace: bool = True
) -> Iterator[Settings]:
    """Create the topics (and the keyspace with the schema); drop them all on the way out."""
    settings = scratch.settings(base)
    try:
        ensure_topics(settings.kafka, settings.topics)
        if keyspace:
            apply_schema(session, scratch.keyspace, base.cassandra.replication_factor)
        yield settings
    finally:
        try:
            if keyspace:
                session.execute(f"DROP KEYSPACE IF EXISTS {scratch.keyspace}", timeout=120)
        finally:
            delete_topics(base, scratch.prefix)


def delete_hot_keys(settings: Settings, prefix: str) -> int:
    """Delete the hot-tier keys a benchmark worker wrote (all start with ``prefix:``)."""
    import redis

    client = redis.Redis.from_url(settings.redis.url)
    deleted = 0
    try:
        keys: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            keys.append(key)
            if len(keys) >= 1000:
                deleted += int(client.unlink(*keys))
                keys.clear()
        if keys:
            deleted += int(client.unlink(*keys))
    finally:
        client.close()
    return deleted


def delete_topics(settings: Settings, prefix: str) -> list[str]:
    """Delete every topic whose name starts with ``prefix`` (Faust's own topics included)."""
    admin = admin_client(settings.kafka)
    names = [name for name in admin.list_topics(timeout=30).topics if name.startswith(prefix)]
    if not names:
        return []
    for name, future in admin.delete_topics(names, operation_timeout=30).items():
        try:
            future.result(timeout=60)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise BenchError(f"cannot delete topic {name}: {exc.args[0]}") from exc
    return names


# -- measuring


class Counts(NamedTuple):
    consumed: int
    written: int


@dataclass(slots=True)
class Measurement:
    name: str
    events: int
    expected_rows: int
    produce_s: float = 0.0
    total_s: float = 0.0
    rows_verified: int = -1
    consumed: int = 0
    written: int = 0
    consumer_cpu_s: float = 0.0
    host_cpu_busy: float = 0.0
    """Share of all the host's CPUs busy (any process) between first produce and the end."""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        return per_second(self.events, self.total_s)

    @property
    def produce_events_per_s(self) -> float:
        return per_second(self.events, self.produce_s)

    @property
    def verified(self) -> bool:
        return self.rows_verified == self.expected_rows

    def to_json(self) -> dict[str, Any]:
        return {
            "events_per_s": round(self.events_per_s, 1),
            "seconds": round(self.total_s, 3),
            "events": self.events,
            "rows_expected": self.expected_rows,
            "rows_verified": self.rows_verified,
            "verified": self.verified,
            "events_consumed": self.consumed,
            "rows_counted": self.written,
            "produce_events_per_s": round(self.produce_events_per_s, 1),
            "produce_seconds": round(self.produce_s, 3),
            "consumer_cpu_seconds": round(self.consumer_cpu_s, 2),
            "consumer_cpu_us_per_event": round(1e6 * self.consumer_cpu_s / self.events, 1),
            "host_cpu_busy": round(self.host_cpu_busy, 3),
            **self.details,
        }


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def produce_all(
    settings: Settings, topic: str, events: Sequence[OutgoingEvent], console: Console, label: str
) -> tuple[float, float]:
    """Send every event as fast as the producer takes them; (first send, all delivered)."""
    with (
        _progress(console) as progress,
        EventProducer(settings.kafka, topic, close_timeout_s=120) as producer,
    ):
        task = progress.add_task(f"{label}: producing", total=len(events), rate="")
        started = time.monotonic()
        for index, event in enumerate(events, start=1):
            producer.send_prepared(event)
            if index % 10_000 == 0:
                progress.update(task, completed=index)
        producer.flush(120)
        finished = time.monotonic()
        rate = per_second(len(events), finished - started)
        progress.update(task, completed=len(events), rate=f"{rate:,.0f}/s")
    return started, finished


def wait_counted(
    started: float,
    probe: Callable[[], Counts],
    measurement: Measurement,
    alive: Callable[[], None],
    console: Console,
) -> float:
    """Poll until every event is consumed and every interaction written; when that was seen.

    ``started`` is when the first event was produced (for the rate shown meanwhile).
    """
    with _progress(console) as progress:
        task = progress.add_task(
            f"{measurement.name}: rows written", total=measurement.expected_rows, rate=""
        )
        last_change, last = time.monotonic(), Counts(-1, -1)
        while True:
            alive()
            counts = probe()
            now = time.monotonic()
            if counts != last:
                last_change, last = now, counts
                progress.update(
                    task,
                    completed=min(counts.written, measurement.expected_rows),
                    rate=f"{per_second(counts.consumed, now - started):,.0f} events/s",
                )
            if (
                counts.written >= measurement.expected_rows
                and counts.consumed >= measurement.events
            ):
                measurement.consumed, measurement.written = counts
                return now
            if now - last_change > STALL_TIMEOUT_S:
                raise BenchError(
                    f"{measurement.name}: stuck at {counts.consumed:,} consumed, "
                    f"{counts.written:,} of {measurement.expected_rows:,} rows written"
                )
            time.sleep(POLL_S)


def wait_assigned(
    settings: Settings, group: str, topic: str, partitions: int, alive: Callable[[], None]
) -> None:
    """Until the consumer group is stable and its members own every partition of ``topic``."""
    admin = admin_client(settings.kafka)
    deadline = time.monotonic() + READY_TIMEOUT_S
    owned: set[int] = set()
    while time.monotonic() < deadline:
        alive()
        try:
            futures = admin.describe_consumer_groups([group], request_timeout=10)
            description = futures[group].result()
        except KafkaException:
            description = None  # not known to the coordinator yet
        if description is not None:
            owned = {
                tp.partition
                for member in description.members
                for tp in member.assignment.topic_partitions
                if tp.topic == topic
            }
            if description.state == ConsumerGroupState.STABLE and len(owned) == partitions:
                return
        time.sleep(0.2)
    raise BenchError(f"group {group} owns {len(owned)} of {partitions} partitions of {topic}")


def count_hot_dirty(settings: Settings, prefix: str, partitions: int) -> int:
    """Interactions held only by live hot sessions (dirty: not yet flushed to the cold tier)."""
    from store.redis_hot import RedisHotStore

    async def count() -> int:
        hot = RedisHotStore(settings.redis, settings.session, settings.retention, prefix=prefix)
        try:
            sessions = await hot.sessions_of(range(partitions))
            users = [user for users in sessions.values() for user in users]
            dirty = await hot.dirty(users) if users else {}
            return sum(len(session.interactions) for session in dirty.values())
        finally:
            await hot.close()

    return asyncio.run(count())


def count_rows(session: Session, keyspace: str) -> int:
    row = session.execute(
        f"SELECT COUNT(*) FROM {keyspace}.interactions",  # noqa: S608 - our own keyspace name
        timeout=COUNT_TIMEOUT_S,
    ).one()
    return int(row[0])


class _CpuWatch:
    """CPU seconds of some processes and the share of the host busy, from ``start`` on."""

    def __init__(self, pids: Sequence[int]) -> None:
        self._processes = [psutil.Process(pid) for pid in pids]
        self._cpu = 0.0
        self._host: Any = None

    def _process_cpu(self) -> float:
        total = 0.0
        for process in self._processes:
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        return total

    def start(self) -> None:
        self._cpu = self._process_cpu()
        self._host = psutil.cpu_times()

    def stop(self, measurement: Measurement) -> None:
        measurement.consumer_cpu_s = self._process_cpu() - self._cpu
        before, after = self._host, psutil.cpu_times()
        total = sum(after) - sum(before)
        idle = (after.idle + after.iowait) - (before.idle + before.iowait)
        measurement.host_cpu_busy = 1 - idle / total if total > 0 else 0.0


def measure(
    measurement: Measurement,
    settings: Settings,
    session: Session,
    scratch: Scratch,
    workload: Workload,
    consumer: _Consumer,
    console: Console,
    *,
    hot_prefix: str | None = None,
) -> Measurement:
    """Start the consumer, wait for its assignment, produce everything, wait for every row.

    ``hot_prefix``: the consumer keeps live sessions in the hot tier under this key prefix;
    their dirty interactions count as stored (they reach the cold tier at the session's end).
    """
    console.print(f"[bold]{measurement.name}[/]: starting the consumer ({scratch.prefix})")
    consumer.start()
    try:
        consumer.wait_ready()
        wait_assigned(
            settings, scratch.group, scratch.events_topic, scratch.partitions, consumer.alive
        )
        time.sleep(SETTLE_S)
        cpu = _CpuWatch(consumer.pids)
        cpu.start()
        started, produced = produce_all(
            settings, scratch.events_topic, workload.events, console, measurement.name
        )
        finished = wait_counted(started, consumer.counts, measurement, consumer.alive, console)
        cpu.stop(measurement)
        measurement.details.update(consumer.batch_stats())
        measurement.produce_s = produced - started
        measurement.total_s = finished - started
    finally:
        consumer.stop()
    # Counted once the consumer has stopped, so nothing moves between the tiers meanwhile.
    console.print(f"{measurement.name}: counting rows in {scratch.keyspace}.interactions")
    cold_rows = count_rows(session, scratch.keyspace)
    hot_dirty = 0
    if hot_prefix is not None:
        hot_dirty = count_hot_dirty(settings, hot_prefix, scratch.partitions)
        measurement.details["verified_in_cold"] = cold_rows
        measurement.details["verified_dirty_in_hot"] = hot_dirty
    measurement.rows_verified = cold_rows + hot_dirty
    rate = f"{measurement.events_per_s:,.0f} events/s"
    verdict = "verified" if measurement.verified else "[bold red]MISMATCH[/]"
    console.print(
        f"{measurement.name}: {rate} ({measurement.total_s:.1f}s), "
        f"{measurement.rows_verified:,} rows of {measurement.expected_rows:,} {verdict}"
    )
    return measurement


# -- the consumers under test


class _Consumer:
    pids: list[int]
    """The processes doing the consuming (their CPU time is reported)."""

    def start(self) -> None:
        raise NotImplementedError

    def wait_ready(self) -> None:
        """Until the process can be watched (before its consumer group is checked)."""

    def alive(self) -> None:
        """Raise ``BenchError`` if the process died."""
        raise NotImplementedError

    def counts(self) -> Counts:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def batch_stats(self) -> dict[str, Any]:
        """How the consumer batched: batches and their mean size, from its own counts."""
        raise NotImplementedError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def interstore_command() -> list[str]:
    """``interstore``: the console script next to this interpreter, as users run it."""
    script = Path(sys.executable).with_name("interstore")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "interstore.cli"]


class WorkerProcess:
    """One ``interstore worker`` subprocess: its own web port, data dir and log."""

    def __init__(self, env: Mapping[str, str], workdir: Path, index: int) -> None:
        self.web_port = free_port()
        self.workdir = workdir
        self.log_path = workdir / f"worker-{index}.log"
        data_dir = workdir / "data" / str(index)
        data_dir.parent.mkdir(parents=True, exist_ok=True)  # Faust makes only the last part
        self.env = {
            **env,
            "INTERSTORE_WORKER_DATA_DIR": str(data_dir),
            "INTERSTORE_WORKER_WEB_PORT": str(self.web_port),
        }
        self.url = f"http://127.0.0.1:{self.web_port}/metrics"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> int:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*interstore_command(), "worker"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        return self.proc.pid

    def alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise BenchError(f"a worker exited; its log: {self.log_path}")

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url, timeout=5) as response:  # noqa: S310 - our URL
            return bytes(response.read()).decode()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


def stored_interactions(expositions: Sequence[str]) -> float:
    """Interactions in either tier: batch writes to cold (all cold writes minus the session
    flushes among them) plus those absorbed into live hot sessions."""
    written = sum(metric_sum(t, "interstore_interactions_written_total") for t in expositions)
    flushed = sum(metric_sum(t, "interstore_interactions_flushed_total") for t in expositions)
    absorbed = sum(metric_sum(t, "interstore_interactions_absorbed_total") for t in expositions)
    return written - flushed + absorbed


class WorkerConsumer(_Consumer):
    """``interstore worker`` subprocesses (one consumer group) with names of their own;
    counts are the sums of their /metrics."""

    def __init__(self, scratch: Scratch, workdir: Path, count: int = 1) -> None:
        env = scratch.worker_env()
        self.workers = [WorkerProcess(env, workdir, index) for index in range(count)]

    def start(self) -> None:
        self.pids = [worker.start() for worker in self.workers]

    def log_tail(self, chars: int = 3000) -> str:
        tails = []
        for worker in self.workers:
            try:
                text = worker.log_path.read_text(errors="replace")[-chars:]
            except OSError:
                continue
            tails.append(f"== {worker.log_path}\n{text}")
        return "\n".join(tails)

    def alive(self) -> None:
        for worker in self.workers:
            worker.alive()

    def _metrics(self) -> list[str]:
        return [worker.metrics() for worker in self.workers]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            self.alive()
            try:
                self._metrics()
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise BenchError(f"the workers' /metrics did not answer in {READY_TIMEOUT_S:.0f}s")

    def _sum(self, texts: Sequence[str], name: str) -> float:
        return sum(metric_sum(text, name) for text in texts)

    def counts(self) -> Counts:
        """Events consumed, and interactions stored: written to the cold tier by a batch, or
        absorbed into a live session in the hot tier (session flushes, which write absorbed
        interactions to cold later, are not counted twice)."""
        texts = self._metrics()
        return Counts(
            int(self._sum(texts, "interstore_events_consumed_total")),
            int(stored_interactions(texts)),
        )

    def batch_stats(self) -> dict[str, Any]:
        texts = self._metrics()
        batches = self._sum(texts, "interstore_batch_size_count")
        writes = self._sum(texts, "interstore_cold_write_seconds_count")
        write_s = self._sum(texts, "interstore_cold_write_seconds_sum")
        mean_batch = self._sum(texts, "interstore_batch_size_sum") / batches if batches else 0.0
        return {
            "processes": len(self.workers),
            "batches": int(batches),
            "mean_batch_size": round(mean_batch, 1),
            "mean_cold_write_ms": round(1000 * write_s / writes, 1) if writes else 0.0,
            "cold_write_retries": int(self._sum(texts, "interstore_cold_write_retries_total")),
            "rows_written_to_cold": int(self._sum(texts, "interstore_interactions_written_total")),
            "absorbed_by_hot_sessions": int(
                self._sum(texts, "interstore_interactions_absorbed_total")
            ),
            "flushed_from_hot": int(self._sum(texts, "interstore_interactions_flushed_total")),
            "hydrations": int(self._sum(texts, "interstore_hydrations_total")),
        }

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


@dataclass(frozen=True, slots=True)
class RawConfig:
    """What the baseline process needs (picklable: it starts with ``spawn``)."""

    bootstrap_servers: str
    topic: str
    group: str
    cassandra: CassandraSettings
    keyspace: str
    retention: RetentionSettings
    writes: str
    concurrency: int
    consume_batch: int


class RawConsumer(_Consumer):
    """The baseline in a process of its own (as the worker is), counting what it wrote."""

    def __init__(self, config: RawConfig) -> None:
        self.config = config
        context = multiprocessing.get_context("spawn")
        self._shared: Any = context.Array("q", 5, lock=False)
        self._stop = context.Event()
        self._proc = context.Process(
            target=raw_consumer_main,
            args=(config, self._shared, self._stop),
            name="bench-raw-consumer",
            daemon=True,
        )

    def start(self) -> None:
        self._proc.start()
        assert self._proc.pid is not None
        self.pids = [self._proc.pid]

    def alive(self) -> None:
        if self._shared[FAILED]:
            raise BenchError("the baseline consumer failed (its traceback is above)")
        if not self._proc.is_alive():
            raise BenchError(f"the baseline consumer exited with code {self._proc.exitcode}")

    def counts(self) -> Counts:
        return Counts(int(self._shared[CONSUMED]), int(self._shared[WRITTEN]))

    def batch_stats(self) -> dict[str, Any]:
        batches = int(self._shared[BATCHES])
        consumed = int(self._shared[CONSUMED])
        requests = int(self._shared[REQUESTS])
        return {
            "batches": batches,
            "mean_batch_size": round(consumed / batches, 1) if batches else 0.0,
            "requests": requests,
            "rows_per_request": round(int(self._shared[WRITTEN]) / requests, 2) if requests else 0,
        }

    def stop(self) -> None:
        self._stop.set()
        self._proc.join(timeout=60)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=30)


class RawWriter:
    """Plain cassandra-driver: prepared INSERT ... USING TTL ?, ``execute_concurrent``."""

    def __init__(
        self,
        session: Session,
        keyspace: str,
        retention: RetentionSettings,
        writes: str,
        concurrency: int,
    ) -> None:
        self.session = session
        self.retention = retention
        self.batches = writes == "batches"
        self.concurrency = concurrency
        self.requests = 0
        self.inserts: dict[str, PreparedStatement] = {}
        for kind, own in KIND_FIELDS.items():
            columns = (*COMMON_COLUMNS, *own)
            statement = session.prepare(
                f"INSERT INTO {keyspace}.interactions ({', '.join(columns)}) "  # noqa: S608
                f"VALUES ({', '.join('?' for _ in columns)}) USING TTL ?"
            )
            statement.consistency_level = ConsistencyLevel.LOCAL_QUORUM
            self.inserts[kind] = statement

    def statements(self, rows: Sequence[Interaction], now_ms: int) -> list[Statement]:
        by_partition: dict[tuple[str, str, int], list[Statement]] = {}
        singles: list[Statement] = []
        for row in rows:
            ttl = ttl_seconds(self.retention.days(row.kind), row.ts_ms, now_ms)
            bucket = bucket_of(row.ts_ms, span_days(row.kind))
            values = [
                row.user_id, row.kind, bucket, row.ts_ms, row.event_id, row.product_id,
                row.category_id, *row.kind_fields().values(), ttl,
            ]  # fmt: skip
            bound = self.inserts[row.kind].bind(values)
            if self.batches:
                by_partition.setdefault((row.user_id, row.kind, bucket), []).append(bound)
            else:
                singles.append(bound)
        if not self.batches:
            return singles
        out: list[Statement] = []
        for group in by_partition.values():
            if len(group) == 1:
                out.append(group[0])
                continue
            for start in range(0, len(group), MAX_BATCH_ROWS):
                batch = BatchStatement(
                    BatchType.UNLOGGED, consistency_level=ConsistencyLevel.LOCAL_QUORUM
                )
                for bound in group[start : start + MAX_BATCH_ROWS]:
                    batch.add(bound)
                out.append(batch)
        return out

    def write(self, rows: Sequence[Interaction]) -> None:
        """Every row acknowledged when this returns; the first failure raises."""
        statements = self.statements(rows, time.time_ns() // 1_000_000)
        self.requests += len(statements)
        execute_concurrent(
            self.session,
            [(statement, None) for statement in statements],
            concurrency=self.concurrency,
            raise_on_first_error=True,
        )


def raw_consumer_main(config: RawConfig, shared: Any, stop: Any) -> None:
    """The baseline's loop: consume a batch, decode, build, write, commit; until ``stop``."""
    try:
        _raw_loop(config, shared, stop)
    except BaseException:
        shared[FAILED] = 1
        raise


def _raw_loop(config: RawConfig, shared: Any, stop: Any) -> None:
    session = open_session(config.cassandra, config.keyspace)
    writer = RawWriter(
        session, config.keyspace, config.retention, config.writes, config.concurrency
    )
    codec = default_codec()
    consumer = Consumer(
        {
            "bootstrap.servers": config.bootstrap_servers,
            "group.id": config.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([config.topic])
    consumed = written = batches = 0
    try:
        while not stop.is_set():
            messages = consumer.consume(num_messages=config.consume_batch, timeout=0.1)
            if not messages:
                continue
            values: list[bytes] = []
            for message in messages:
                error = message.error()
                if error is not None:
                    raise KafkaException(error)
                values.append(message.value() or b"")
            rows: list[Interaction] = []
            for decoded in codec.decode_many(values):
                if isinstance(decoded, SchemaError):
                    raise decoded
                if decoded.kind != "app_open":
                    rows.append(Interaction.from_record(decoded.kind, decoded.record))
            if rows:
                writer.write(rows)
            consumer.commit(asynchronous=True)  # offsets only after the batch is written
            consumed += len(values)
            written += len(rows)
            batches += 1
            shared[BATCHES] = batches
            shared[REQUESTS] = writer.requests
            shared[CONSUMED] = consumed
            shared[WRITTEN] = written
    finally:
        consumer.close()
        session.cluster.shutdown()


# -- the run


def _first(version: Any) -> str:
    """confluent-kafka gives (text, number) tuples or plain text, depending on the call."""
    return str(version[0] if isinstance(version, tuple) else version)


def _versions(session: Session, settings: Settings) -> dict[str, Any]:
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


def _producer_only(
    settings: Settings, session: Session, run_id: str, workload: Workload, console: Console
) -> float:
    scratch = Scratch(f"{run_id}_produce", settings.topics.partitions)
    with scratch_resources(settings, session, scratch, keyspace=False) as scoped:
        console.print("[bold]producer only[/]: every event to a topic nobody reads")
        started, finished = produce_all(
            scoped, scratch.events_topic, workload.events, console, "producer only"
        )
    return per_second(len(workload.events), finished - started)


def _baseline(
    settings: Settings,
    session: Session,
    run_id: str,
    params: IngestParams,
    workload: Workload,
    console: Console,
) -> Measurement:
    scratch = Scratch(f"{run_id}_baseline", params.partitions)
    with scratch_resources(settings, session, scratch) as scoped:
        config = RawConfig(
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
        writes = (
            "one UNLOGGED batch per partition (a lone row as itself)"
            if params.baseline_writes == "batches"
            else "single-row INSERTs"
        )
        measurement = Measurement(
            "baseline",
            len(workload.events),
            workload.interactions,
            details={
                "method": (
                    "confluent-kafka Consumer.consume(num_messages="
                    f"{params.baseline_consume_batch}) + Codec.decode_many + "
                    "Interaction.from_record + cassandra-driver "
                    f"execute_concurrent(concurrency={params.baseline_concurrency}) of {writes}, "
                    "prepared INSERT USING TTL, offsets committed after each written batch"
                ),
            },
        )
        return measure(
            measurement, scoped, session, scratch, workload, RawConsumer(config), console
        )


def _worker(
    settings: Settings,
    session: Session,
    run_id: str,
    params: IngestParams,
    workload: Workload,
    console: Console,
) -> Measurement:
    scratch = Scratch(f"{run_id}_worker", params.partitions)
    worker = settings.worker
    measurement = Measurement(
        "worker",
        len(workload.events),
        workload.interactions,
        details={
            "settings": {
                "batch_max": worker.batch_max,
                "batch_within_s": worker.batch_within_s,
                "write_concurrency": worker.write_concurrency,
                "commit_interval_s": worker.commit_interval_s,
                "log_level": worker.log_level,
            }
        },
    )
    workdir = settings.stack.var_dir / "bench" / scratch.prefix
    workdir.mkdir(parents=True, exist_ok=True)
    with scratch_resources(settings, session, scratch) as scoped:
        consumer = WorkerConsumer(scratch, workdir, params.workers)
        try:
            return measure(
                measurement,
                scoped,
                session,
                scratch,
                workload,
                consumer,
                console,
                hot_prefix=scratch.hot_prefix,
            )
        except BenchError:
            console.print(f"worker log tail:\n{consumer.log_tail()}", markup=False)
            raise
        finally:
            shutil.rmtree(workdir / "data", ignore_errors=True)  # the logs stay, for reading
            delete_hot_keys(settings, scratch.hot_prefix)


def ingest_targets(worker_events_per_s: float, worker_over_baseline: float) -> list[Target]:
    """The issue's targets: the worker at 60% of the raw limit or more, and 5,000 events/s."""
    return [
        Target("worker / raw limit >= 60%", worker_over_baseline, 0.6, "ratio"),
        Target("worker >= 5,000 events/s", worker_events_per_s, 5_000, "events/s"),
    ]


def build_result(
    params: IngestParams,
    workload: Workload,
    producer_events_per_s: float,
    baseline: Measurement,
    worker: Measurement,
    host: Mapping[str, Any],
) -> tuple[BenchResult, list[Target]]:
    headline = ratio(worker.events_per_s, baseline.events_per_s)
    targets = ingest_targets(worker.events_per_s, headline)
    worker_json = worker.to_json()
    figures = {
        "events": len(workload.events),
        "interactions": workload.interactions,
        "kinds": dict(workload.kinds),
        "producer_events_per_s": round(producer_events_per_s, 1),
        **{f"worker_{key}": value for key, value in worker_json.items()},
        "targets": [target.to_json() for target in targets],
    }
    result = BenchResult("ingest", params.to_json(), figures, baseline.to_json(), headline, host)
    return result, targets


def render(
    result: BenchResult, baseline: Measurement, worker: Measurement, producer_rate: float
) -> Any:
    def row(m: Measurement, share: str) -> list[str]:
        return [
            m.name,
            f"{m.events_per_s:,.0f}",
            share,
            f"{m.total_s:.1f}",
            f"{m.rows_verified:,} / {m.expected_rows:,}" + ("" if m.verified else " !"),
            f"{m.produce_events_per_s:,.0f}",
            f"{1e6 * m.consumer_cpu_s / m.events:,.0f}",
            f"{m.host_cpu_busy:.0%}",
        ]

    columns = (
        "measurement", "events/s", "vs baseline", "seconds", "rows verified", "produce/s",
        "consumer CPU us/event", "host CPU busy",
    )  # fmt: skip
    rows = [
        row(baseline, "100%"),
        row(worker, f"{result.ratio:.0%}"),
        ["producer only", f"{producer_rate:,.0f}", "", "", "", f"{producer_rate:,.0f}", "", ""],
    ]
    params = result.params
    title = (
        f"ingest: {params['events']:,} events, {params['users']:,} users, "
        f"{params['partitions']} partitions, {params['workers']} worker process(es)"
    )
    return figures_table(title, columns, rows)


def run_ingest(params: IngestParams, console: Console, out: Console) -> tuple[BenchResult, bool]:
    """The whole benchmark; the result and whether every measurement verified."""
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
        producer_rate = _producer_only(settings, session, run_id, workload, console)
        if params.worker_first:
            worker = _worker(settings, session, run_id, params, workload, console)
            baseline = _baseline(settings, session, run_id, params, workload, console)
        else:
            baseline = _baseline(settings, session, run_id, params, workload, console)
            worker = _worker(settings, session, run_id, params, workload, console)
        host = host_info(
            load_average_at_start=[round(value, 2) for value in load_before],
            **_versions(session, settings),
        )
    finally:
        session.cluster.shutdown()
    result, targets = build_result(params, workload, producer_rate, baseline, worker, host)
    out.print(render(result, baseline, worker, producer_rate))
    print_targets(out, targets)
    return result, baseline.verified and worker.verified
