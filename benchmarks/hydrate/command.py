"""`interstore bench hydrate`: its options, and the figures its summary and the README show."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated

import typer

from benchmarks.harness.command import Repetitions, run_benchmark
from benchmarks.harness.options import IngestRate, Partitions, Runs, Seed, WarmUp, checked
from benchmarks.harness.repeat import Headline
from benchmarks.hydrate.plan import HydrateParams

RAW_P99 = "baseline.raw_hydration.p99_ms"
# shown by `bench hydrate-sustained` too
LIVE_P50 = Headline(
    "produce ack -> live in Redis, p50",
    "figures.hydration.outside.p50_ms",
    "ms",
    "baseline.raw_hydration.p50_ms",
)
LIVE_P99 = Headline(
    "produce ack -> live in Redis, p99", "figures.hydration.outside.p99_ms", "ms", RAW_P99
)
CONSUMED = Headline(
    "worker consumed events/s",
    "figures.hydration.events_consumed_per_s",
    "events/s",
    "figures.hydration.background_produced_per_s",
)
HEADLINES = (
    Headline("app-open consumed -> hot view, p50", "figures.hydration.worker.p50_ms", "ms",
             "baseline.raw_hydration.p50_ms"),
    Headline("app-open consumed -> hot view, p99", "figures.hydration.worker.p99_ms", "ms",
             RAW_P99),
    LIVE_P50,
    LIVE_P99,
    CONSUMED,
    Headline("cold statements per session interaction",
             "figures.sessions.flush.statements_per_interaction", "",
             "baseline.write_through.direct.statements_per_interaction"),
)  # fmt: skip


def command(
    users: Annotated[
        int, typer.Option(min=1, help="Users hydrated by the worker (as many for the baseline).")
    ] = 200,
    history: Annotated[int, typer.Option(min=1, help="Interactions in cold per user.")] = 1_000,
    background_rate: IngestRate = 1_000.0,
    app_open_rate: Annotated[float, typer.Option(min=0.1, help="App-opens per second.")] = 20.0,
    session_users: Annotated[
        int, typer.Option(min=0, help="Session-mix users who open the app first.")
    ] = 300,
    through_users: Annotated[
        int, typer.Option(min=0, help="Session-mix users who act without an app_open.")
    ] = 100,
    partitions: Partitions = 12,
    seed: Seed = 42,
    runs: Runs = 3,
    warm_up: WarmUp = True,
) -> None:
    """App-open hydration latency under ingest, and cold writes per interaction in sessions."""
    params = checked(
        HydrateParams,
        users=users,
        history=history,
        background_rate=background_rate,
        app_open_rate=app_open_rate,
        session_users=session_users,
        through_users=through_users,
        partitions=partitions,
        seed=seed,
    )
    run_hydrate_bench(params, Repetitions(runs, warm_up), HEADLINES)


def run_hydrate_bench(
    params: HydrateParams, repetitions: Repetitions, headlines: Sequence[Headline]
) -> None:
    """Warm up with a small run of the same shape, then ``repetitions`` measured runs."""
    from benchmarks.hydrate.run import run_hydrate

    warm = dataclasses.replace(
        params, users=min(params.users, 20), alone_users=4,
        session_users=min(params.session_users, 30),
        through_users=min(params.through_users, 10), spread_s=5.0,
    )  # fmt: skip
    run_benchmark(params, run_hydrate, repetitions, headlines, warm_up_params=warm)
