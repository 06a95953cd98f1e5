"""Part 1 of `bench hydrate`, hydration latency, on a fresh topic, keyspace and Redis key
prefix. Test users get ``history`` interactions each in the cold tier
(``CassandraColdStore.write_many``); an ``interstore worker`` starts
(``INTERSTORE_SESSION_LAST_N_PER_KIND``); a process of its own produces other users'
interactions at ``background_rate`` (``harness.background``: no app_opens, so every hydration
the worker counts is a test user's). Then one app_open per test user at ``app_open_rate``, and a
few more at ``alone_rate`` (about one at a time). Each is measured three ways: the worker's
``interstore_hydration_seconds``, from the worker consuming the app_open (Faust's "message in")
to the end of the Redis write, which is the issue's measure; its
``interstore_hydration_work_seconds``, from the hydration's cold read (both interpolated in
0.5 ms buckets, counted between two scrapes); and from outside (``app_opens``). The baseline
(``raw``) runs under the same background traffic at the same rate for as many other users.
Every hydrated view is then checked against what was loaded; CPU per process group is recorded
meanwhile ("other": anything outside the stack and this benchmark)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cassandra.cluster import Session
from rich.console import Console

from benchmarks.harness.background import Background
from benchmarks.harness.cpu import GroupCpu
from benchmarks.harness.figures import progress
from benchmarks.harness.processes import BenchWorker, running_worker, wait_metric
from benchmarks.harness.scratch import Scratch, delete_hot_keys, scratch_resources
from benchmarks.harness.settle import settle_stack
from benchmarks.hydrate.app_opens import open_apps
from benchmarks.hydrate.lag import LagSampler
from benchmarks.hydrate.plan import HydrateParams, expected_hot, history
from benchmarks.hydrate.raw import RawHydrator, raw_hydrations
from benchmarks.hydrate.report import latency_figures
from benchmarks.hydrate.scrapes import (
    HYDRATION_WORK,
    LIVE,
    consumer_lag,
    early_outcomes,
    grew,
    stage_figures,
    worker_figures,
    worker_load,
)
from core.clock import wall_clock_ms
from core.retry import RetryPolicy
from core.settings import Settings
from store.cassandra_cold import CassandraColdStore
from store.errors import ColdStoreUnavailable
from store.interactions import INTERACTION_KINDS, Interaction
from store.redis_hot import RedisHotStore


def worker_env(scratch: Scratch, params: HydrateParams, *, short_sessions: bool) -> dict[str, str]:
    env = {
        **scratch.worker_env(),
        "INTERSTORE_SESSION_LAST_N_PER_KIND": str(params.last_n),
    }
    if short_sessions:
        env["INTERSTORE_SESSION_IDLE_S"] = str(params.idle_s)
        env["INTERSTORE_SESSION_TICK_S"] = str(params.tick_s)
    return env


def preload(
    settings: Settings, session: Session, keyspace: str, users: Sequence[str],
    params: HydrateParams, console: Console,
) -> dict[str, dict[str, int]]:  # fmt: skip
    """Write every user's history to the cold tier; what a hydration should keep of each."""
    expected: dict[str, dict[str, int]] = {}
    started_ms = wall_clock_ms()

    async def load() -> None:
        store = CassandraColdStore(session, keyspace, settings.retention)
        with progress(console, 34) as bar:
            task = bar.add_task("preloading cold history", total=len(users) * params.history)
            for start in range(0, len(users), 10):
                items = []
                for user in users[start : start + 10]:
                    mine = history(
                        user, params.history, started_ms, params.history_days, params.seed
                    )
                    expected[user] = expected_hot(mine, params.last_n)
                    items += mine
                await write_retrying(store, items, console)
                bar.update(task, advance=len(items))

    asyncio.run(load())
    return expected


PRELOAD_ATTEMPTS = 5
"""Tries of one preload write before the run fails: a write of 10,000 interactions timed out
in one run of a set once (Cassandra busy with the preload itself), which ended the set."""
PRELOAD_RETRY = RetryPolicy()


async def write_retrying(
    store: CassandraColdStore, items: Sequence[Interaction], console: Console,
    retry: RetryPolicy = PRELOAD_RETRY,
) -> None:  # fmt: skip
    """``write_many``, tried again (it is idempotent) after a timeout or an unavailable tier,
    at most ``PRELOAD_ATTEMPTS`` times in all, waiting as ``retry`` says."""

    def retrying(exc: Exception, delay: float) -> None:
        console.print(f"preload write failed ({exc}); again in {delay:g}s")

    await retry.until_done(
        lambda: store.write_many(items), retry_on=(ColdStoreUnavailable,),
        on_retry=retrying, attempts=PRELOAD_ATTEMPTS,
    )  # fmt: skip


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


def app_open_phase(
    settings: Settings, scratch: Scratch, worker: BenchWorker, cpu: GroupCpu,
    users: Sequence[str], rate: float, alive: Callable[[], None], console: Console,
) -> dict[str, Any]:  # fmt: skip
    """App-opens of ``users`` at ``rate``: the worker's and the outside view of each."""
    cpu.start()
    before, began = worker.metrics(), time.monotonic()
    with LagSampler(worker.metrics) as lag:
        outside, longest_pause_s = asyncio.run(
            open_apps(settings, scratch, users, rate, alive, console)
        )
        after = wait_metric(
            worker,
            lambda text: grew(before, text, "interstore_hydrations_total") >= len(users),
            "the worker's hydration count",
        )
    return {
        "app_opens_per_s": rate,
        "worker": worker_figures(before, after),
        "worker_work": worker_figures(before, after, HYDRATION_WORK),
        "worker_live": worker_figures(before, after, LIVE),
        "stages": stage_figures(before, after),
        "consumer_lag_at_end": consumer_lag(after),
        "consumer_lag": lag.figures(),
        "early_hydrations": early_outcomes(before, after),
        "outside": {
            **latency_figures(outside),
            "method": "produce ack -> first poll of Redis finding the user live",
            "poll_pause_max_ms": round(longest_pause_s * 1000, 1),
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
            settled = settle_stack(console)
            env = worker_env(scratch, params, short_sessions=False)
            with (
                running_worker(scoped, scratch, env, console) as worker,
                Background(
                    scoped, scratch.events_topic, params.background_rate,
                    params.background_users, params.seed,
                ) as background,
            ):  # fmt: skip
                console.print(
                    f"background traffic at {params.background_rate:,.0f} events/s; "
                    f"warming up {params.warmup_s:.0f}s"
                )
                time.sleep(params.warmup_s)

                def alive() -> None:
                    worker.alive()
                    background.alive()

                alive()
                named = {worker.pid: "worker", os.getpid(): "bench"}
                cpu = GroupCpu({**named, background.pid: "background"})
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
        "stack_settle": settled,
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
