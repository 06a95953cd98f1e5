"""`interstore bench replay`: its options, and the figures its summary and the README show."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from benchmarks.harness.command import Repetitions, run_benchmark
from benchmarks.harness.options import Partitions, Runs, WarmUp
from benchmarks.harness.repeat import Headline

HEADLINES = (
    Headline(
        "replay: events/s", "figures.replay_events_per_s", "events/s", "baseline.events_per_s"
    ),
    Headline(
        "worker write-through: events/s",
        "figures.worker_write_through_events_per_s",
        "events/s",
        "baseline.events_per_s",
    ),
)


def command(
    events: Annotated[int, typer.Option(min=1, help="Events (interactions) to replay.")] = 100_000,
    users: Annotated[int, typer.Option(min=1, help="Users the events come from.")] = 10_000,
    partitions: Partitions = 12,
    raw_concurrency: Annotated[int, typer.Option(min=1, help="Raw writes in flight.")] = 512,
    runs: Runs = 3,
    warm_up: WarmUp = True,
) -> None:
    """Replay events/s into the cold tier vs the raw limit (confluent-kafka + cassandra-driver,
    no project code) and vs the live worker's write-through, in the same run."""
    from benchmarks.replay.run import ReplayParams, run_replay_bench

    params = ReplayParams(events, users, partitions, raw_concurrency=raw_concurrency)
    warm = dataclasses.replace(params, events=min(events, 10_000))
    run_benchmark(
        params, run_replay_bench, Repetitions(runs, warm_up), HEADLINES, warm_up_params=warm
    )
