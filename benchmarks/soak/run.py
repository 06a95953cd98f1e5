"""One soak: the scratch resources and the soak's own processes, steady traffic and reads, the
faults in turn (``plan.PHASES``), the drain, the checks and the per-phase figures."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from rich.console import Console

from benchmarks.harness.processes import workdir_of
from benchmarks.harness.results import host_info
from benchmarks.harness.scratch import Scratch, scratch_resources
from benchmarks.soak import faults
from benchmarks.soak.plan import PHASES, SoakParams
from benchmarks.soak.reads import Reads, phase_figures
from benchmarks.soak.stack import READ_KEY, SoakStack, soak_stack
from benchmarks.soak.traffic import Ledger, Traffic, send_poison
from benchmarks.soak.verify import check, dead_letters, dirty_sessions, stored_ids, wait_drained
from core.settings import Settings
from store.cassandra_session import open_session

DRAIN_TIMEOUT_S = 300.0


def _fault(stack: SoakStack, params: SoakParams, ledger: Ledger, phase: str) -> dict[str, Any]:
    """Apply ``phase``'s fault (and lift it, for those that last); what it did."""
    hold = params.fault_s
    injections: dict[str, Callable[[], dict[str, Any]]] = {
        "redis_oom": lambda: faults.redis_oom(stack.redis, hold),
        "redis_restart": lambda: faults.redis_restart(stack.redis),
        "cassandra_pause": lambda: faults.cassandra_pause(stack.proxy, hold),
        "worker_kill": lambda: faults.worker_kill(stack.kill_worker, stack.start_worker),
        "poison": lambda: _poison(stack, params, ledger),
    }
    inject = injections.get(phase)
    return inject() if inject is not None else {}


def _poison(stack: SoakStack, params: SoakParams, ledger: Ledger) -> dict[str, Any]:
    settings = stack.settings
    send_poison(settings.kafka, settings.topics.events, params.poison, ledger)
    return {"records": params.poison}


def run_soak(params: SoakParams, base: Settings, console: Console) -> dict[str, Any]:
    """The soak's result: params, per-phase figures, the checks; ``checks.ok`` says it passed."""
    scratch = Scratch(f"soak{uuid.uuid4().hex[:8]}", params.partitions)
    session = open_session(base.cassandra)
    workdir = workdir_of(base, scratch)
    console.print(f"soak {scratch.prefix}: logs in {workdir}")
    try:
        with (
            scratch_resources(base, session, scratch) as scoped,
            soak_stack(scoped, scratch, params, workdir) as stack,
        ):
            return _soak(stack, params, session, console)
    finally:
        session.cluster.shutdown()


def _soak(stack: SoakStack, params: SoakParams, session: Any, console: Console) -> dict[str, Any]:
    settings, ledger = stack.settings, Ledger()
    traffic = Traffic(settings.kafka, settings.topics.events, params, ledger)
    reads = Reads(stack.api_base, READ_KEY, traffic.users(), params.reads_per_s, params.seed)
    phases: list[dict[str, Any]] = []
    traffic.start()
    reads.start()
    try:
        for phase in PHASES:
            start = time.monotonic()
            console.print(f"[bold]{phase}[/] ({params.phase_s:.0f} s)")
            what = _fault(stack, params, ledger, phase)
            time.sleep(max(0.0, start + params.phase_s - time.monotonic()))
            phases.append({"phase": phase, "start": start, "end": time.monotonic(), "fault": what})
            if not stack.worker.running:
                raise RuntimeError(f"the worker exited during {phase}: {stack.worker.log_tail()}")
    finally:
        traffic.stop.set()
        reads.stop.set()
        traffic.join(180)
        reads.join(30)
    if traffic.error is not None:
        raise RuntimeError(f"the traffic stopped: {traffic.error!r}")

    console.print("drain: waiting for every event in the cold tier and no dirty session")
    partitions = params.partitions
    drain_s = wait_drained(
        session,
        settings.cassandra.keyspace,
        set(ledger.good),
        lambda: asyncio.run(dirty_sessions(settings, partitions)),
        stack.worker.alive,
        DRAIN_TIMEOUT_S,
    )
    stored = stored_ids(session, settings.cassandra.keyspace)
    letters = dead_letters(settings.kafka, settings.topics.dead_letters, len(ledger.bad), 60)
    dirty = asyncio.run(dirty_sessions(settings, partitions))
    checks = check(ledger, stored, letters, dirty) | {"drain_s": round(drain_s, 1)}
    figures = {
        p["phase"]: {**phase_figures(reads.samples, p["start"], p["end"]), "fault": p["fault"]}
        for p in phases
    }
    return {
        "name": "soak",
        "params": params.to_json(),
        "figures": figures,
        "checks": checks,
        "events_produced": traffic.sent,
        "workers_started": stack.workers_started,
        "host": host_info(),
    }
