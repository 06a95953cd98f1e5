"""`interstore bench ingest`: its options, and the figures its summary and the README show."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import Annotated

import typer

from benchmarks.harness.command import Repetitions, run_benchmark
from benchmarks.harness.options import Partitions, Runs, Seed, WarmUp, checked, parse_counts
from benchmarks.harness.repeat import Headline
from benchmarks.ingest.plan import IngestParams

WARM_UP_EVENTS = 10_000

HEADLINES = (
    Headline(
        "sessions: events/s", "figures.worker_events_per_s", "events/s", "baseline.events_per_s"
    ),
    Headline(
        "write-through: events/s",
        "figures.write_through_events_per_s",
        "events/s",
        "baseline.events_per_s",
    ),
    Headline(
        "sessions: worker CPU per event",
        "figures.worker_consumer_cpu_us_per_event",
        "us",
        "baseline.consumer_cpu_us_per_event",
    ),
    Headline(
        "write-through: worker CPU per event",
        "figures.write_through_consumer_cpu_us_per_event",
        "us",
        "baseline.consumer_cpu_us_per_event",
    ),
    *(
        headline
        for count in (2, 3)
        for headline in (
            Headline(
                f"sessions, {count} worker processes: events/s",
                f"figures.scaling.workers_{count}.events_per_s",
                "events/s",
                "figures.worker_events_per_s",
            ),
            Headline(
                f"sessions, {count} worker processes: CPU per event",
                f"figures.scaling.workers_{count}.cpu_us_per_event",
                "us",
                "figures.worker_consumer_cpu_us_per_event",
            ),
        )
    ),
)
"""The scaling rows compare with the first worker count (``--workers 1,2,3``: one worker)."""


class BaselineWrites(StrEnum):
    batches = "batches"
    singles = "singles"


def command(
    events: Annotated[int, typer.Option(min=1, help="Events to produce.")] = 100_000,
    users: Annotated[int, typer.Option(min=1, help="Users the events come from.")] = 10_000,
    partitions: Partitions = 12,
    seed: Seed = 42,
    baseline_writes: Annotated[
        BaselineWrites,
        typer.Option(help="Baseline writes: one UNLOGGED batch per partition, or single rows."),
    ] = BaselineWrites.batches,
    baseline_concurrency: Annotated[
        int, typer.Option(min=1, help="Baseline cassandra-driver requests in flight.")
    ] = 256,
    workers: Annotated[
        str,
        typer.Option(
            help="`interstore worker` processes in one consumer group: a count, or counts such "
            "as 1,2,3 (the session path measured once per count; the first is the headline)."
        ),
    ] = "1",
    worker_first: Annotated[
        bool, typer.Option(help="Measure the worker before the baseline (order bias check).")
    ] = False,
    runs: Runs = 3,
    warm_up: WarmUp = True,
) -> None:
    """Events/s from first produce to last row written, on the session and the write-through
    path: the worker vs a raw-client baseline."""
    from benchmarks.ingest.run import run_ingest

    params = checked(
        IngestParams,
        events=events,
        users=users,
        partitions=partitions,
        seed=seed,
        baseline_writes=BaselineWrites(baseline_writes).value,
        baseline_concurrency=baseline_concurrency,
        workers=parse_counts(workers, "--workers"),
        worker_first=worker_first,
    )
    warm = dataclasses.replace(
        params, events=min(events, WARM_UP_EVENTS), users=min(users, WARM_UP_EVENTS)
    )
    run_benchmark(params, run_ingest, Repetitions(runs, warm_up), HEADLINES, warm_up_params=warm)
