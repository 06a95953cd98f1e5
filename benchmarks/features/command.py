"""`interstore bench features`: its options, and the figures its summary shows."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from benchmarks.harness.command import Repetitions, run_benchmark
from benchmarks.harness.options import Runs, WarmUp
from benchmarks.harness.repeat import Headline

HEADLINES = (
    Headline("ingest with features: events/s", "figures.ingest_events_per_s", "events/s",
             "baseline.ingest_alone_events_per_s"),
    Headline("features freshness p99", "figures.freshness_p99_s", "s", None),
)  # fmt: skip


def command(
    events: Annotated[int, typer.Option(min=1, help="Events of the throughput phase.")] = 30_000,
    users: Annotated[int, typer.Option(min=1, help="Users the events come from.")] = 5_000,
    rate: Annotated[float, typer.Option(min=1, help="Events/s of the freshness phase.")] = 1_000,
    duration: Annotated[float, typer.Option(min=1, help="Seconds of the freshness phase.")] = 30,
    runs: Runs = 3,
    warm_up: WarmUp = True,
) -> None:
    """Ingest events/s with the features worker on vs ingest alone; freshness p50/p99."""
    from benchmarks.features.run import FeaturesParams, run_features

    params = FeaturesParams(events=events, users=users, rate=rate, duration_s=duration)
    warm = dataclasses.replace(params, events=3_000, duration_s=5)
    run_benchmark(params, run_features, Repetitions(runs, warm_up), HEADLINES,
                  warm_up_params=warm)  # fmt: skip
