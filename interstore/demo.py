"""`interstore demo`: demo traffic through the running pipeline, and what it stored."""

from __future__ import annotations

import asyncio
import random
import time

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from deploy.app_processes import start_worker, worker_url
from interstore.settings import Settings
from store.cassandra_cold import CassandraColdStore
from store.cassandra_session import open_session
from store.cold import wall_clock_ms
from store.read_path import InteractionReader, RecentInteractions
from store.redis_hot import RedisHotStore
from streams.demo_events import generate_events
from streams.outgoing import prepare_event
from streams.producer import EventProducer
from streams.topics import ensure_topics

console = Console(stderr=True, highlight=False)
WAIT_TIMEOUT_S = 600.0


def worker_counters(settings: Settings) -> dict[str, float]:
    """Sum of each interstore counter on the worker's /metrics page, over its labels."""
    text = httpx.get(worker_url(settings, "/metrics"), timeout=5).text
    sums: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("interstore_") and "_total" in line.split(" ", 1)[0]:
            name = line.split("{", 1)[0].split(" ", 1)[0]
            sums[name] = sums.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return sums


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    )  # fmt: skip


def run_demo(settings: Settings, *, events: int, users: int, seed: int | None) -> None:
    if seed is None:  # new event ids on every run; a fixed seed replays the same ids
        seed = random.randrange(2**31)
    console.print(f"demo: {events:,} events for {users:,} users (seed {seed})")
    ensure_topics(settings.kafka, settings.topics)
    _, started = start_worker(settings)
    console.print(
        f"worker {'started' if started else 'already running'}: {worker_url(settings, '/metrics')}"
    )
    before = worker_counters(settings)
    prepared = [
        prepare_event(kind, record, now_ms=wall_clock_ms())
        for kind, record in generate_events(users, events, seed, wall_clock_ms() - 3_600_000)
    ]
    sample_user = next(e.key.decode() for e in prepared if e.kind != "app_open")
    began = time.monotonic()
    with _progress() as progress, EventProducer(settings.kafka, settings.topics.events) as producer:
        task = progress.add_task("producing", total=len(prepared))
        for number, event in enumerate(prepared, 1):
            producer.send_prepared(event)
            if number % 1000 == 0 or number == len(prepared):
                progress.update(task, completed=number)
        producer.flush(60)
    produced_s = time.monotonic() - began
    consumed = _wait_consumed(settings, before, len(prepared))
    elapsed = time.monotonic() - began
    after = worker_counters(settings)
    _summary(before, after, len(prepared), produced_s, elapsed, consumed)
    _show_user(settings, sample_user)


def _wait_consumed(settings: Settings, before: dict[str, float], expected: int) -> float:
    key = "interstore_events_consumed_total"
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    with _progress() as progress:
        task = progress.add_task("stored by the worker", total=expected)
        while time.monotonic() < deadline:
            done = worker_counters(settings).get(key, 0.0) - before.get(key, 0.0)
            progress.update(task, completed=min(done, expected))
            if done >= expected:
                return done
            time.sleep(0.5)
    return worker_counters(settings).get(key, 0.0) - before.get(key, 0.0)


def _summary(
    before: dict[str, float], after: dict[str, float], produced: int, produced_s: float,
    elapsed: float, consumed: float,
) -> None:  # fmt: skip
    def delta(name: str) -> int:
        return int(after.get(name, 0.0) - before.get(name, 0.0))

    table = Table(title="demo traffic through the pipeline")
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_row("events produced", f"{produced:,} in {produced_s:.1f}s")
    table.add_row("events consumed by the worker", f"{int(consumed):,}")
    table.add_row("app-opens that hydrated a session", f"{delta('interstore_hydrations_total'):,}")
    table.add_row(
        "interactions kept in live sessions (Redis)",
        f"{delta('interstore_interactions_absorbed_total'):,}",
    )
    table.add_row(
        "interactions written straight to Cassandra",
        f"{delta('interstore_interactions_written_total'):,}",
    )
    table.add_row(
        "interactions flushed from ended sessions",
        f"{delta('interstore_interactions_flushed_total'):,}",
    )
    table.add_row("dead letters", f"{delta('interstore_dead_letters_total'):,}")
    table.add_row("end to end", f"{consumed / elapsed:,.0f} events/s over {elapsed:.1f}s")
    Console().print(table)


def _show_user(settings: Settings, user_id: str) -> None:
    answer = asyncio.run(_read_user(settings, user_id))
    tier = "Redis: a live session" if answer.source == "hot" else "Cassandra: not in a session"
    table = Table(title=f"recent interactions of {user_id}, newest first (from {tier})")
    for column in ("time (UTC)", "kind", "product", "category"):
        table.add_column(column, no_wrap=True)
    table.add_column("details")
    for item in answer.interactions:
        details = ", ".join(f"{k}={v}" for k, v in item.kind_fields().items() if v is not None)
        when = time.strftime("%H:%M:%S", time.gmtime(item.ts_ms / 1000))
        table.add_row(when, item.kind, item.product_id, item.category_id, details)
    Console().print(table)


async def _read_user(settings: Settings, user_id: str) -> RecentInteractions:
    session = open_session(settings.cassandra, settings.cassandra.keyspace)
    hot = RedisHotStore(settings.redis, settings.session, settings.retention)
    try:
        cold = CassandraColdStore(session, settings.cassandra.keyspace, settings.retention)
        return await InteractionReader(hot, cold).recent(user_id, limit=10)
    finally:
        await hot.close()
        session.cluster.shutdown()
