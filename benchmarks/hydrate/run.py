"""One run of `bench hydrate`: part 1, hydration latency (``latency``), then part 2, cold writes
per interaction in sessions and write-through (``writes``). Topics, keyspaces and Redis keys of
the run are removed at the end; worker logs stay in ``var/bench/PREFIX/``."""

from __future__ import annotations

import os
import uuid

from rich.console import Console

from benchmarks.harness.figures import print_targets
from benchmarks.harness.results import BenchResult, host_info
from benchmarks.harness.scratch import Scratch
from benchmarks.hydrate.latency import measure_hydration
from benchmarks.hydrate.plan import HydrateParams, session_mix
from benchmarks.hydrate.report import build_result, render
from benchmarks.hydrate.writes import measure_writes
from core.clock import wall_clock_ms
from core.settings import load_settings
from store.cassandra_session import open_session


def run_hydrate(params: HydrateParams, console: Console, out: Console) -> tuple[BenchResult, bool]:
    """One run; the result and whether every view, row and statement count checked out."""
    settings = load_settings()
    session = open_session(settings.cassandra)
    run_id = f"bench{uuid.uuid4().hex[:8]}"
    try:
        load_before = [round(value, 2) for value in os.getloadavg()]
        hydration, raw, hydration_ok = measure_hydration(settings, session, run_id, params, console)
        mix = session_mix(params, wall_clock_ms())
        console.print(
            "[bold]2. cold writes[/]: the session mix, then the same events write-through"
        )
        writes = {}
        for label, suffix, events in (
            ("sessions", "sessions", mix),
            ("write-through", "through", mix.write_through()),
        ):
            scratch = Scratch(f"{run_id}_{suffix}", params.partitions)
            writes[suffix] = measure_writes(
                settings, session, scratch, params, events, label, console
            )
        row = session.execute("SELECT release_version FROM system.local").one()
        host = host_info(load_average_at_start=load_before, cassandra=str(row[0]) if row else None)
    finally:
        session.cluster.shutdown()
    (sessions, sessions_ok), (through, through_ok) = writes["sessions"], writes["through"]
    result, targets = build_result(params, hydration, raw, sessions, through, host)
    for table in render(result):
        out.print(table)
    print_targets(out, targets)
    return result, hydration_ok and sessions_ok and through_ok
