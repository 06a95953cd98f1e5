"""`interstore bench api`: the read API under HTTP load while ingest runs, against its floor.

On a fresh topic, keyspace and Redis key prefix: an ``interstore worker`` and other users'
traffic at ``ingest_rate`` events/s (``benchmarks.hydrate``'s worker and background producer);
live users made through the real pipeline (an app_open, then ``interactions_per_user``
interactions each, until a limit-``limit`` read of each returns ``limit``); then
``interstore api`` daemon(s) on free ports with a scratch API key. vegeta (open loop, constant
rate) then attacks, each phase with the CPU of every process group recorded:

1. one hot user, GET ``/v1/users/{id}/interactions?limit=100`` at ``rate`` req/s, then the
   same reads at the same rate from the floor process (``benchmarks.api.floor``: raw, store);
   then the same with the batch phase's 50 live users in turn ("spread": requests that the
   API's coalescing of one user's concurrent reads cannot save), and its floor;
2. batches of 50 live users, POST ``/v1/interactions:batchGet`` at ``batch_rate``, then the floor;
3. each endpoint's rate ladder (``step_s`` per rate) up to the first rate whose p99 misses the
   target, that loses a request or that vegeta could not send in full: the highest rate before
   it is the maximum sustainable rate, and what limited it is said;
4. with ``profile_dir``, py-spy samples the API during one more attack at ``profile_rate``
   (not counted).

Topics, keyspace and Redis keys of the run are removed at the end; logs stay in
``var/bench/PREFIX/``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks.api.floor import run_floor
from benchmarks.api.ladder import ladder_json, rate_ladder
from benchmarks.api.phases import Phases, check_answers, produce_sessions, profile_api, wait_live
from benchmarks.api.plan import BATCH_P99_TARGET_MS, ENDPOINTS, SINGLE_P99_TARGET_MS, ApiParams
from benchmarks.api.report import api_targets, build_result, render
from benchmarks.api.scaling import (
    MoreProcesses,
    measure_count,
    scaling_entry,
    scaling_table,
    single_requests,
)
from benchmarks.api.vegeta import VEGETA_VERSION, Request, Vegeta, ensure_vegeta
from benchmarks.harness.background import Background
from benchmarks.harness.cpu import GroupCpu
from benchmarks.harness.figures import print_targets
from benchmarks.harness.processes import running_apis, running_worker
from benchmarks.harness.results import BenchResult, host_info
from benchmarks.harness.scratch import Scratch, delete_hot_keys, scratch_resources
from core.settings import Settings, load_settings
from deploy.scrape import metric_sum
from store.cassandra_session import open_session

WARMUP_ATTACK_S = 3.0
CONSUMED = "interstore_events_consumed_total"


def run_api_bench(
    params: ApiParams, console: Console, out: Console, profile_dir: Path | None = None
) -> tuple[BenchResult, bool]:
    """One run; the result and whether every request was answered 2xx or shed with a 503."""
    settings = load_settings()
    vegeta_bin = ensure_vegeta()
    session = open_session(settings.cassandra)
    scratch = Scratch(f"bench{uuid.uuid4().hex[:8]}_api", params.partitions)
    workdir = settings.stack.var_dir / "bench" / scratch.prefix
    workdir.mkdir(parents=True, exist_ok=True)
    load_before = [round(value, 2) for value in os.getloadavg()]
    console.print(f"[bold]bench api[/] ({scratch.prefix}), vegeta {VEGETA_VERSION}")
    try:
        with scratch_resources(settings, session, scratch) as scoped:
            figures, floors = _measure(
                scoped, scratch, workdir, params, vegeta_bin, console, profile_dir
            )
        row = session.execute("SELECT release_version FROM system.local").one()
    finally:
        delete_hot_keys(settings, scratch.hot_prefix)
        session.cluster.shutdown()
    host = host_info(
        load_average_at_start=load_before,
        cassandra=str(row[0]) if row else None,
        vegeta=VEGETA_VERSION,
    )
    single, batch = (figures[e]["step"] for e in ("single", "batch"))
    targets = api_targets(single, batch, floors)
    for endpoint in ENDPOINTS:
        figures[endpoint]["at_rate"] = figures[endpoint].pop("step").to_json()
    result = build_result(params, figures, floors, targets, host)
    for table in render(result):
        out.print(table)
    out.print(scaling_table(result.figures["scaling"]))
    print_targets(out, targets)
    answered = [t for t in targets if t.name.startswith("requests answered")]
    return result, all(t.met for t in answered)


def _measure(
    scoped: Settings, scratch: Scratch, workdir: Path, params: ApiParams, vegeta_bin: Path,
    console: Console, profile_dir: Path | None,
) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    hot_user = "apihot-00000"
    batch_users = [f"apib-{n:05d}" for n in range(params.batch_size)]
    with (
        running_worker(scoped, scratch, scratch.worker_env(), console) as worker,
        Background(
            scoped, scratch.events_topic, params.ingest_rate, seed=params.seed
        ) as background,
    ):

        def alive() -> None:
            worker.alive()
            background.alive()

        console.print(
            f"ingest at {params.ingest_rate:,.0f} events/s; "
            f"making 1 + {len(batch_users)} users live"
        )
        produce_sessions(scoped, scratch.events_topic, [hot_user, *batch_users], params)
        asyncio.run(
            wait_live(scoped, scratch.hot_prefix, [hot_user, *batch_users], params.limit, alive)
        )
        time.sleep(params.warmup_s)
        key = secrets.token_urlsafe(24)
        first = params.api_processes[0]
        named = {worker.pid: "worker", background.pid: "background", os.getpid(): "bench"}
        with running_apis(scoped, scratch, workdir, first, key) as apis:
            check_answers(apis[0][1], key, hot_user, batch_users, params.limit)
            console.print(f"API at {', '.join(url for _, url in apis)}; every answer checked")
            api_pids = {process.pid() or 0: "api" for process, _ in apis}
            urls = [url for _, url in apis]
            cpu = GroupCpu({**named, **api_pids})
            phases = Phases(cpu, Vegeta(vegeta_bin, workdir), alive, urls)
            headers = {"X-API-Key": key, "Content-Type": "application/json"}
            single = single_requests(urls, hot_user, params.limit)
            spread = [r for u in batch_users for r in single_requests(urls, u, params.limit)]
            body = json.dumps({"user_ids": batch_users, "limit": params.limit}).encode()
            batch = [Request("POST", f"{url}/v1/interactions:batchGet", body) for _, url in apis]
            consumed_before, began = metric_sum(worker.metrics(), CONSUMED), time.monotonic()

            def floor(users: list[list[str]], rate: float, mode: str) -> dict[str, Any]:
                return phases.floor(
                    lambda: run_floor(
                        scoped,
                        scratch.hot_prefix,
                        users,
                        params.limit,
                        rate,
                        params.duration_s,
                        mode,
                    )
                )

            figures: dict[str, Any] = {}
            floors: dict[str, Any] = {}
            for name, requests, rate, target, users in (
                ("single", single, params.rate, SINGLE_P99_TARGET_MS, [[hot_user]]),
                ("spread", spread, params.rate, SINGLE_P99_TARGET_MS, [[u] for u in batch_users]),
                ("batch", batch, params.batch_rate, BATCH_P99_TARGET_MS, [batch_users]),
            ):
                phases.vegeta.attack(requests, headers, rate, WARMUP_ATTACK_S)  # not counted
                console.print(f"{name}: API at {rate:,.0f} req/s for {params.duration_s:g}s")
                step = phases.attack(requests, headers, rate, params.duration_s, target)
                console.print(f"{name}: floors (raw, store) at {rate:,.0f} req/s")
                floors[name] = {mode: floor(users, rate, mode) for mode in ("raw", "store")}
                figures[name] = {"step": step}
            for name, requests, start, target in (
                ("single", single, params.single_from, SINGLE_P99_TARGET_MS),
                ("batch", batch, params.batch_from, BATCH_P99_TARGET_MS),
            ):
                rates = rate_ladder(start, params.step_factor, params.max_steps)
                steps = phases.ladder(
                    requests, headers, rates, params.step_s, target, console, name
                )
                figures[name]["ladder"] = ladder_json(steps, first, os.cpu_count() or 1)
            figures["ingest"] = {
                "background_produced_per_s": round(background.rate(), 1),
                "worker_consumed_per_s": round(
                    (metric_sum(worker.metrics(), CONSUMED) - consumed_before)
                    / (time.monotonic() - began),
                    1,
                ),
            }
            if profile_dir is not None:
                pid = apis[0][0].pid() or 0
                path = profile_api(
                    pid,
                    profile_dir,
                    phases,
                    single,
                    headers,
                    params.profile_rate,
                    params.duration_s,
                )
                console.print(
                    f"py-spy profile of the API at {params.profile_rate:,.0f} req/s: {path}"
                )
        single_first = scaling_entry(first, figures["single"]["step"], figures["single"]["ladder"])
        figures["scaling"] = {f"processes_{first}": single_first}
        more = MoreProcesses(scoped, scratch, workdir, key, hot_user, named, phases.vegeta, alive)
        for count in params.api_processes[1:]:
            figures["scaling"][f"processes_{count}"] = measure_count(more, count, params, console)
    return figures, floors
