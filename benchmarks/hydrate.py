"""`interstore bench hydrate`: how fast an app_open hydrates a user, what sessions save in writes.

1. Hydration latency, on a fresh topic, keyspace and Redis key prefix. Test users get
   ``history`` interactions each in the cold tier (``CassandraColdStore.write_many``); an
   ``interstore worker`` subprocess starts (``INTERSTORE_SESSION_LAST_N_PER_KIND``); a process
   of its own produces other users' interactions at ``background_rate`` (``generate_events``,
   its app_opens left out, so every hydration the worker counts is a test user's). Then one
   app_open per test user at ``app_open_rate``, and a few more at ``alone_rate`` (about one at
   a time). Each is measured three ways: the worker's ``interstore_hydration_seconds``, from
   the worker consuming the app_open (Faust's "message in": the agent takes it from the
   consumer, before any batching) to the end of the Redis write, which is the issue's
   measure; its ``interstore_hydration_work_seconds``, from the hydration's cold read (both
   quantiles interpolated in 0.5 ms buckets, counted between two scrapes); and, from outside,
   from each app_open's produce ack to the first poll of the hot tier that finds the user live
   (an upper bound: Kafka's delivery, the fetch and the poll interval too).
   Baseline, under the same background traffic and at the same rate: as many other users, each
   read with plain cassandra-driver prepared SELECTs (the worker's query shape: per kind one
   request over the window's buckets, newest ``last_n`` kept) and written with one redis-py
   pipeline (one ZADD per kind).
   Every hydrated view is then checked against what was loaded. CPU per process group is
   recorded meanwhile ("other": anything outside the stack and this benchmark).
2. Cold writes per interaction, each on its own topic and keyspace: a session mix (users who
   open the app, act 10-50 times and go idle; users who act without an app_open), with a short
   idle timeout, then the same events without app_opens (write-through). Statements come from
   the worker's ``interstore_cold_write_statements_total{path}``, checked against the count
   Cassandra itself keeps (``system_views.coordinator_write_latency``), rows with a COUNT(*).

Topics, keyspaces and Redis keys of the run are removed at the end; worker logs stay in
``var/bench/PREFIX/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import shutil
import time
import urllib.error
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import orjson
import psutil
import redis
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Session
from cassandra.query import tuple_factory
from confluent_kafka import KafkaError, Message, Producer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from benchmarks.common import (
    BenchResult,
    bucket_delta,
    histogram_buckets,
    histogram_quantile,
    host_info,
    metric_sum,
    metric_value,
    print_targets,
)
from benchmarks.hydrate_plan import (
    HydrateParams,
    Planned,
    SessionMix,
    WriteCost,
    build_result,
    expected_hot,
    history,
    latency_figures,
    render,
    session_mix,
)
from benchmarks.ingest import (
    READY_TIMEOUT_S,
    BenchError,
    Scratch,
    WorkerProcess,
    count_rows,
    delete_hot_keys,
    scratch_resources,
    wait_assigned,
)
from core.settings import KafkaSettings, Settings, load_settings
from interstore.demo_events import generate_events
from schemas.codec import default_codec
from store.buckets import buckets_between, span_days
from store.cassandra_cold import CassandraColdStore
from store.cassandra_session import open_session
from store.cold import read_window
from store.interactions import INTERACTION_KINDS, KIND_FIELDS
from store.redis_hot import RedisHotStore
from streams.outgoing import prepare_event
from streams.producer import PRODUCER_CONFIG, EventProducer

HYDRATION = "interstore_hydration_seconds"
HYDRATION_WORK = "interstore_hydration_work_seconds"
EARLY = "interstore_early_hydrations_total"
BATCH = "interstore_batch_size"
LIVE_TIMEOUT_S = 120.0
POLL_S = 0.002
"""Pause between two polls of the hot tier for users not live yet (one round trip each)."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    )  # fmt: skip


# -- the worker


def worker_env(scratch: Scratch, params: HydrateParams, *, short_sessions: bool) -> dict[str, str]:
    env = {
        **scratch.worker_env(),
        "INTERSTORE_SESSION_LAST_N_PER_KIND": str(params.last_n),
    }
    if short_sessions:
        env["INTERSTORE_SESSION_IDLE_S"] = str(params.idle_s)
        env["INTERSTORE_SESSION_TICK_S"] = str(params.tick_s)
    return env


@contextlib.contextmanager
def running_worker(
    settings: Settings, scratch: Scratch, env: Mapping[str, str], console: Console
) -> Iterator[WorkerProcess]:
    """A worker whose /metrics answers and whose group owns every partition."""
    workdir = settings.stack.var_dir / "bench" / scratch.prefix
    workdir.mkdir(parents=True, exist_ok=True)
    worker = WorkerProcess(env, workdir, 0)
    console.print(f"starting a worker ({scratch.prefix}), log {worker.log_path}")
    worker.start()
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            worker.alive()
            try:
                worker.metrics()
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise BenchError("the worker's /metrics did not answer") from None
                time.sleep(0.2)
        wait_assigned(
            settings, scratch.group, scratch.events_topic, scratch.partitions, worker.alive
        )
        yield worker
    except BenchError:
        console.print(worker.log_path.read_text(errors="replace")[-3000:], markup=False)
        raise
    finally:
        worker.stop()
        shutil.rmtree(workdir / "data", ignore_errors=True)


# -- part 1: hydration latency


def preload(
    settings: Settings, session: Session, keyspace: str, users: Sequence[str],
    params: HydrateParams, console: Console,
) -> dict[str, dict[str, int]]:  # fmt: skip
    """Write every user's history to the cold tier; what a hydration should keep of each."""
    expected: dict[str, dict[str, int]] = {}
    started_ms = now_ms()

    async def load() -> None:
        store = CassandraColdStore(session, keyspace, settings.retention)
        with progress(console) as bar:
            task = bar.add_task("preloading cold history", total=len(users) * params.history)
            for start in range(0, len(users), 10):
                items = []
                for user in users[start : start + 10]:
                    mine = history(
                        user, params.history, started_ms, params.history_days, params.seed
                    )
                    expected[user] = expected_hot(mine, params.last_n)
                    items += mine
                await store.write_many(items)
                bar.update(task, advance=len(items))

    asyncio.run(load())
    return expected


def background_main(
    kafka: KafkaSettings, topic: str, params: HydrateParams, produced: Any, stop: Any
) -> None:
    """Other users' interactions at ``background_rate`` until ``stop`` (its own process)."""
    codec = default_codec()
    start = now_ms()
    events = (
        (kind, record)
        for kind, record in generate_events(params.background_users, 10**9, params.seed, start)
        if kind != "app_open"
    )
    with EventProducer(kafka, topic) as producer:
        started, sent = time.monotonic(), 0
        while not stop.is_set():
            due, ts = int((time.monotonic() - started) * params.background_rate), now_ms()
            while sent < due:
                kind, record = next(events)
                record["ts"] = ts
                producer.send_prepared(prepare_event(kind, record, now_ms=ts, codec=codec))
                sent += 1
            produced.value = sent
            time.sleep(0.005)


class Background:
    """``background_main`` in a process of its own, while the ``with`` block runs."""

    def __init__(self, settings: Settings, topic: str, params: HydrateParams) -> None:
        context = multiprocessing.get_context("spawn")
        self.produced: Any = context.Value("q", 0, lock=False)
        self._stop = context.Event()
        self._proc = context.Process(
            target=background_main, args=(settings.kafka, topic, params, self.produced, self._stop),
            name="bench-background", daemon=True,
        )  # fmt: skip

    def __enter__(self) -> Background:
        self._proc.start()
        self.started = time.monotonic()
        self.pid = self._proc.pid or 0
        return self

    def alive(self) -> None:
        if not self._proc.is_alive():
            raise BenchError(f"the background producer exited ({self._proc.exitcode})")

    def rate(self) -> float:
        return int(self.produced.value) / (time.monotonic() - self.started)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._proc.join(timeout=60)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=10)


async def open_apps(
    settings: Settings, scratch: Scratch, users: Sequence[str], rate: float,
    alive: Callable[[], None], console: Console,
) -> list[float]:  # fmt: skip
    """One app_open per user at ``rate``; seconds from each produce ack to the user live."""
    hot = RedisHotStore(
        settings.redis, settings.session, settings.retention, prefix=scratch.hot_prefix
    )
    config = {**PRODUCER_CONFIG, "bootstrap.servers": settings.kafka.bootstrap_servers}
    producer = Producer({**config, "linger.ms": 0, "client.id": "bench-app-opens"})
    codec, acked, live = default_codec(), dict[str, float](), dict[str, float]()
    failures: list[str] = []

    def on_ack(user: str) -> Callable[[KafkaError | None, Message], None]:
        def ack(err: KafkaError | None, _: Message) -> None:
            if err is not None:
                failures.append(f"{user}: {err}")
            acked[user] = time.monotonic()

        return ack

    try:
        with progress(console) as bar:
            task = bar.add_task("app_opens: users live", total=len(users))
            started, sent = time.monotonic(), 0
            while len(live) < len(users):
                now = time.monotonic()
                while sent < len(users) and now >= started + sent / rate:
                    user, ts = users[sent], now_ms()
                    record = {"event_id": f"{user}-open", "user_id": user, "ts": ts}
                    record |= {"app_version": "5.4.0", "platform": "ios"}
                    event = prepare_event("app_open", record, now_ms=ts, codec=codec)
                    producer.produce(
                        scratch.events_topic, event.value, event.key, on_delivery=on_ack(user)
                    )
                    sent += 1
                producer.poll(0)
                if failures:
                    raise BenchError(f"app_open not delivered: {failures[0]}")
                waiting = [user for user in acked if user not in live]
                if waiting:
                    found = await hot.live_users(waiting)
                    seen = time.monotonic()
                    live.update((user, seen) for user in found)
                    bar.update(task, completed=len(live))
                if sent == len(users) and now - started - sent / rate > LIVE_TIMEOUT_S:
                    raise BenchError(f"{len(users) - len(live)} users never went live")
                alive()
                await asyncio.sleep(POLL_S)
    finally:
        producer.flush(10)
        await hot.close()
    return [live[user] - acked[user] for user in users]


class RawHydrator:
    """The floor: per kind one plain prepared SELECT over every bucket of the read window (the
    worker's query shape), tuple rows, newest ``last_n`` kept; one plain redis-py pipeline."""

    PROFILE = "bench-raw-tuple-rows"

    def __init__(
        self, settings: Settings, session: Session, keyspace: str, prefix: str, last_n: int
    ) -> None:
        self.session, self.prefix, self.last_n = session, prefix, last_n
        self.retention = settings.retention
        self.redis = redis.Redis.from_url(settings.redis.url)
        if self.PROFILE not in session.cluster.profile_manager.profiles:
            profile = session.execution_profile_clone_update(
                EXEC_PROFILE_DEFAULT, row_factory=tuple_factory
            )
            session.cluster.add_execution_profile(self.PROFILE, profile)
        self.selects = {}
        for kind in INTERACTION_KINDS:
            columns = ("event_id", "product_id", "category_id", "toUnixTimestamp(ts)")
            statement = session.prepare(
                f"SELECT {', '.join((*columns, *KIND_FIELDS[kind]))} "  # noqa: S608
                f"FROM {keyspace}.interactions WHERE user_id = ? AND kind = ? AND bucket IN ?"
                " AND ts >= ? AND ts <= ? PER PARTITION LIMIT ?"
            )
            statement.consistency_level = ConsistencyLevel.LOCAL_QUORUM
            statement.fetch_size = None
            self.selects[kind] = statement

    def hydrate(self, user: str) -> float:
        started = time.perf_counter()
        now = now_ms()
        reads = []
        for kind in INTERACTION_KINDS:
            oldest, newest = read_window(self.retention.days(kind), now, None)
            buckets = buckets_between(newest, oldest, span_days(kind))
            statement = self.selects[kind].bind([user, kind, buckets, oldest, newest, self.last_n])
            reads.append(
                (kind, self.session.execute_async(statement, execution_profile=self.PROFILE))
            )
        pipe = self.redis.pipeline(transaction=False)
        for kind, future in reads:
            rows = sorted(future.result(), key=lambda row: (-row[3], row[0]))[: self.last_n]
            if rows:
                members = {orjson.dumps(row, default=str): -row[3] for row in rows}
                pipe.zadd(f"{self.prefix}:{{{user}}}:view:{kind}", members)
        pipe.execute()
        return time.perf_counter() - started

    def counts(self, users: Sequence[str]) -> dict[str, dict[str, int]]:
        pipe = self.redis.pipeline(transaction=False)
        for user in users:
            for kind in INTERACTION_KINDS:
                pipe.zcard(f"{self.prefix}:{{{user}}}:view:{kind}")
        replies = iter(pipe.execute())
        return {user: {kind: int(next(replies)) for kind in INTERACTION_KINDS} for user in users}


def raw_hydrations(
    raw: RawHydrator, users: Sequence[str], rate: float, alive: Callable[[], None], console: Console
) -> list[float]:
    seconds = []
    with progress(console) as bar:
        task = bar.add_task("raw baseline: users hydrated", total=len(users))
        started = time.monotonic()
        for index, user in enumerate(users):
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
            alive()
            seconds.append(raw.hydrate(user))
            bar.update(task, advance=1)
    return seconds


async def hot_counts(
    settings: Settings, prefix: str, users: Sequence[str], last_n: int
) -> dict[str, dict[str, int]]:
    hot = RedisHotStore(settings.redis, settings.session, settings.retention, prefix=prefix)
    try:
        per_kind = {
            kind: await hot.recent_many(users, kinds=(kind,), limit=last_n)
            for kind in INTERACTION_KINDS
        }
    finally:
        await hot.close()
    return {
        user: {kind: len(per_kind[kind].get(user, [])) for kind in INTERACTION_KINDS}
        for user in users
    }


def wait_metric(worker: WorkerProcess, done: Callable[[str], bool], what: str) -> str:
    deadline = time.monotonic() + LIVE_TIMEOUT_S
    while True:
        worker.alive()
        text = worker.metrics()
        if done(text):
            return text
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(0.2)


class CpuWatch:
    """CPU per process group (in cores) and the share of the host busy, from ``start`` on;
    processes not named here are grouped as the stack's services or "other"."""

    SERVICES = (
        ("CassandraDaemon", "cassandra"),
        ("kafka.Kafka", "kafka"),
        ("redis-server", "redis"),
    )

    def __init__(self, named: Mapping[int, str]) -> None:
        self.named = dict(named)

    def _group(self, pid: int, cmdline: Sequence[str] | None) -> str:
        line = " ".join(cmdline or ())
        found = (name for needle, name in self.SERVICES if needle in line)
        return self.named.get(pid) or next(found, "other")

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        out = {}
        for proc in psutil.process_iter(["pid", "cmdline", "cpu_times"]):
            times = proc.info["cpu_times"]
            if times is not None:
                group = self._group(proc.info["pid"], proc.info["cmdline"])
                out[proc.info["pid"]] = (group, float(times.user + times.system))
        return out

    def start(self) -> None:
        self.began, self.host, self.before = time.monotonic(), psutil.cpu_times(), self._snapshot()

    def read(self) -> dict[str, Any]:
        seconds, host, after = time.monotonic() - self.began, psutil.cpu_times(), self._snapshot()
        groups: dict[str, float] = {}
        for pid, (group, cpu) in after.items():
            groups[group] = groups.get(group, 0.0) + cpu - self.before.get(pid, (group, 0.0))[1]
        total = sum(host) - sum(self.host)
        idle = host.idle + host.iowait - self.host.idle - self.host.iowait
        return {
            "host_cpu_busy": round(1 - idle / total, 3) if total > 0 else 0.0,
            "cpu_cores": {
                g: round(c / seconds, 2) for g, c in sorted(groups.items(), key=lambda x: -x[1])
            },
        }


def grew(before: str, after: str, name: str) -> float:
    """How much a metric (summed over its labels) grew between two scrapes."""
    return metric_sum(after, name) - metric_sum(before, name)


def worker_load(before: str, after: str, seconds: float) -> dict[str, float]:
    """What the worker consumed meanwhile (app_opens included), and how it batched."""
    batches = max(grew(before, after, f"{BATCH}_count"), 1.0)
    return {
        "events_consumed_per_s": round(
            grew(before, after, "interstore_events_consumed_total") / seconds, 1
        ),
        "mean_batch_size": round(grew(before, after, f"{BATCH}_sum") / batches, 1),
        "hydrations_per_batch": round(
            grew(before, after, "interstore_hydrations_total") / batches, 2
        ),
    }


def worker_figures(before: str, after: str, metric: str = HYDRATION) -> dict[str, Any]:
    """The hydrations the worker timed between two scrapes, in one of its histograms."""
    buckets = bucket_delta(histogram_buckets(after, metric), histogram_buckets(before, metric))
    count = buckets[-1][1]
    total_s = grew(before, after, f"{metric}_sum")
    return {
        "count": int(count),
        "p50_ms": round(1000 * histogram_quantile(buckets, 0.5), 2),
        "p99_ms": round(1000 * histogram_quantile(buckets, 0.99), 2),
        "mean_ms": round(1000 * total_s / count, 2),
        "method": f"{metric} bucket counts between two scrapes, interpolated (0.5 ms buckets)",
    }


def early_outcomes(before: str, after: str) -> dict[str, int]:
    """How the worker's early hydrations (as the app_open is consumed) ended meanwhile."""
    return {
        outcome: int(metric_value(after, EARLY, outcome=outcome))
        - int(metric_value(before, EARLY, outcome=outcome))
        for outcome in ("hydrated", "live", "failed", "behind")
    }


def app_open_phase(
    settings: Settings, scratch: Scratch, worker: WorkerProcess, cpu: CpuWatch,
    users: Sequence[str], rate: float, alive: Callable[[], None], console: Console,
) -> dict[str, Any]:  # fmt: skip
    """App-opens of ``users`` at ``rate``: the worker's and the outside view of each."""
    cpu.start()
    before, began = worker.metrics(), time.monotonic()
    outside = asyncio.run(open_apps(settings, scratch, users, rate, alive, console))
    after = wait_metric(
        worker,
        lambda text: grew(before, text, "interstore_hydrations_total") >= len(users),
        "the worker's hydration count",
    )
    return {
        "app_opens_per_s": rate,
        "worker": worker_figures(before, after),
        "worker_work": worker_figures(before, after, HYDRATION_WORK),
        "early_hydrations": early_outcomes(before, after),
        "outside": {
            **latency_figures(outside),
            "method": "produce ack -> first poll of Redis finding the user live",
        },
        **worker_load(before, after, time.monotonic() - began),
        **cpu.read(),
    }


def measure_hydration(
    settings: Settings, session: Session, run_id: str, params: HydrateParams, console: Console
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Part 1: the hydration figures, the raw baseline's, and whether every view checked out."""
    scratch = Scratch(f"{run_id}_hydrate", params.partitions)
    worker_users = [f"h{n:05d}" for n in range(params.users)]
    alone_users = [f"a{n:05d}" for n in range(params.alone_users)]
    raw_users = [f"r{n:05d}" for n in range(params.users)]
    hydrated = worker_users + alone_users
    raw_prefix = f"{scratch.hot_prefix}_raw"
    console.print(
        f"[bold]1. hydration[/]: {len(hydrated + raw_users)} users x {params.history:,} "
        f"interactions ({scratch.prefix})"
    )
    try:
        with scratch_resources(settings, session, scratch) as scoped:
            users = hydrated + raw_users
            expected = preload(scoped, session, scratch.keyspace, users, params, console)
            env = worker_env(scratch, params, short_sessions=False)
            with (
                running_worker(scoped, scratch, env, console) as worker,
                Background(scoped, scratch.events_topic, params) as background,
            ):
                console.print(
                    f"background traffic at {params.background_rate:,.0f} events/s; "
                    f"warming up {params.warmup_s:.0f}s"
                )
                time.sleep(params.warmup_s)

                def alive() -> None:
                    worker.alive()
                    background.alive()

                alive()
                assert worker.proc is not None
                named = {worker.proc.pid: "worker", os.getpid(): "bench"}
                cpu = CpuWatch({**named, background.pid: "background"})
                phase = (scoped, scratch, worker, cpu)
                main = app_open_phase(*phase, worker_users, params.app_open_rate, alive, console)
                alone = app_open_phase(*phase, alone_users, params.alone_rate, alive, console)
                raw = RawHydrator(scoped, session, scratch.keyspace, raw_prefix, params.last_n)
                cpu.start()
                raw_seconds = raw_hydrations(raw, raw_users, params.app_open_rate, alive, console)
                raw_load = cpu.read()
                produced_rate = background.rate()
            console.print("checking every hydrated view against what was loaded")
            views = asyncio.run(hot_counts(scoped, scratch.hot_prefix, hydrated, params.last_n))
            worker_ok = views == {user: expected[user] for user in hydrated}
            raw_ok = raw.counts(raw_users) == {user: expected[user] for user in raw_users}
            raw.redis.close()
    finally:
        delete_hot_keys(settings, scratch.hot_prefix)
        delete_hot_keys(settings, raw_prefix)
    hydration = {
        **main,
        "one_per_batch": alone,
        "background_produced_per_s": round(produced_rate, 1),
        "hot_views_verified": worker_ok,
        "hydrated_per_kind": _mean_counts(expected, worker_users),
    }
    raw_figures = {
        **latency_figures(raw_seconds),
        "method": "per kind one cassandra-driver execute_async of a prepared SELECT ... bucket IN "
        f"(the window's buckets) PER PARTITION LIMIT {params.last_n} (LOCAL_QUORUM, tuple rows), "
        f"newest {params.last_n} kept, then one redis-py pipeline of one ZADD per kind; timed per "
        "user, one at a time, under the same background traffic",
        **raw_load,
        "views_verified": raw_ok,
    }
    return hydration, raw_figures, worker_ok and raw_ok


def _mean_counts(
    expected: Mapping[str, Mapping[str, int]], users: Sequence[str]
) -> dict[str, float]:
    return {kind: sum(expected[u][kind] for u in users) / len(users) for kind in INTERACTION_KINDS}


# -- part 2: cold writes per interaction


def produce_plan(
    settings: Settings,
    topic: str,
    events: Sequence[Planned],
    alive: Callable[[], None],
    console: Console,
    label: str,
) -> None:
    codec = default_codec()
    with progress(console) as bar, EventProducer(settings.kafka, topic) as producer:
        task = bar.add_task(f"{label}: producing", total=len(events))
        started = time.monotonic()
        for index, (at_s, kind, record) in enumerate(events):
            time.sleep(max(0.0, started + at_s - time.monotonic()))
            producer.send_prepared(prepare_event(kind, record, now_ms=now_ms(), codec=codec))
            if index % 100 == 0:
                alive()
                bar.update(task, completed=index)
        producer.flush(60)
        bar.update(task, completed=len(events))


def server_statements(session: Session, keyspace: str) -> int:
    """Writes Cassandra coordinated for the keyspace's interactions table (a batch counts once)."""
    row = session.execute(
        "SELECT count FROM system_views.coordinator_write_latency"
        " WHERE keyspace_name = %s AND table_name = 'interactions'",
        (keyspace,),
    ).one()
    return int(row[0]) if row is not None else 0


def measure_writes(
    settings: Settings, session: Session, scratch: Scratch, params: HydrateParams,
    mix: SessionMix, label: str, console: Console,
) -> tuple[dict[str, Any], bool]:  # fmt: skip
    console.print(
        f"[bold]{label}[/]: {len(mix.events):,} events, {mix.interactions:,} interactions "
        f"({scratch.prefix})"
    )
    try:
        with scratch_resources(settings, session, scratch) as scoped:
            env = worker_env(scratch, params, short_sessions=True)
            with running_worker(scoped, scratch, env, console) as worker:
                produce_plan(scoped, scratch.events_topic, mix.events, worker.alive, console, label)
                console.print(
                    f"{label}: waiting for every interaction in cold "
                    f"(sessions idle {params.idle_s}s)"
                )
                text = wait_metric(
                    worker,
                    lambda t: (
                        metric_sum(t, "interstore_interactions_written_total") >= mix.interactions
                        and metric_sum(t, "interstore_interactions_flushed_total")
                        >= mix.session_interactions
                    ),
                    f"{label}: every interaction written",
                )
            rows = count_rows(session, scratch.keyspace)
            server = server_statements(session, scratch.keyspace)
    finally:
        delete_hot_keys(settings, scratch.hot_prefix)
    statements = "interstore_cold_write_statements_total"
    flushed = int(metric_sum(text, "interstore_interactions_flushed_total"))
    written = int(metric_sum(text, "interstore_interactions_written_total"))
    flush = WriteCost(flushed, int(metric_value(text, statements, path="flush")))
    direct = WriteCost(written - flushed, int(metric_value(text, statements, path="direct")))
    counted = flush.statements + direct.statements
    figures = {
        "flush": flush.to_json(),
        "direct": direct.to_json(),
        "events": len(mix.events),
        "sessions": int(metric_sum(text, "interstore_session_flushes_total")),
        "rows_in_cold": rows,
        "statements_counted_by_cassandra": server,
    }
    ok = rows == mix.interactions and server == counted and flushed == mix.session_interactions
    verdict = "verified" if ok else "[bold red]MISMATCH[/]"
    console.print(
        f"{label}: {rows:,} rows, {counted:,} statements (Cassandra counted {server:,}): {verdict}"
    )
    return figures, ok


# -- the run


def run_hydrate(params: HydrateParams, console: Console, out: Console) -> tuple[BenchResult, bool]:
    settings = load_settings()
    session = open_session(settings.cassandra)
    run_id = f"bench{uuid.uuid4().hex[:8]}"
    try:
        load_before = [round(value, 2) for value in os.getloadavg()]
        hydration, raw, hydration_ok = measure_hydration(settings, session, run_id, params, console)
        mix = session_mix(params, now_ms())
        console.print(
            "[bold]2. cold writes[/]: the session mix, then the same events write-through"
        )
        sessions, sessions_ok = measure_writes(
            settings,
            session,
            Scratch(f"{run_id}_sessions", params.partitions),
            params,
            mix,
            "sessions",
            console,
        )
        through, through_ok = measure_writes(
            settings,
            session,
            Scratch(f"{run_id}_through", params.partitions),
            params,
            mix.write_through(),
            "write-through",
            console,
        )
        row = session.execute("SELECT release_version FROM system.local").one()
        host = host_info(load_average_at_start=load_before, cassandra=str(row[0]) if row else None)
    finally:
        session.cluster.shutdown()
    result, targets = build_result(params, hydration, raw, sessions, through, host)
    for table in render(result):
        out.print(table)
    print_targets(out, targets)
    return result, hydration_ok and sessions_ok and through_ok
