"""`interstore bench api`: its options, and the figures its summary and the README show."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Annotated

import typer

from benchmarks.api.plan import ApiParams
from benchmarks.harness.command import Repetitions, run_benchmark
from benchmarks.harness.options import IngestRate, Runs, Seed, WarmUp, checked, parse_counts
from benchmarks.harness.repeat import Headline

HEADLINES = (
    Headline("one hot user at the rate: p50", "figures.single.at_rate.p50_ms", "ms",
             "baseline.single.raw.p50_ms"),
    Headline("one hot user at the rate: p99", "figures.single.at_rate.p99_ms", "ms",
             "baseline.single.raw.p99_ms"),
    Headline("one hot user at the rate: p99 of 2xx answers", "figures.single.at_rate.p99_2xx_ms",
             "ms", "baseline.single.raw.p99_ms"),
    Headline("one hot user: answered 2xx", "figures.single.at_rate.share_2xx", "ratio"),
    Headline("one hot user: shed with 503", "figures.single.at_rate.share_503", "ratio"),
    Headline("one hot user: unanswered or other", "figures.single.at_rate.share_other", "ratio"),
    Headline("one hot user: API CPU per request", "figures.single.at_rate.api_cpu_per_request_us",
             "us", "baseline.single.store.cpu_per_request_us"),
    Headline("50 users in turn at the rate: p99 of 2xx answers",
             "figures.spread.at_rate.p99_2xx_ms", "ms", "baseline.spread.raw.p99_ms"),
    Headline("50 users in turn: answered 2xx", "figures.spread.at_rate.share_2xx", "ratio"),
    Headline("50 users in turn: API CPU per request",
             "figures.spread.at_rate.api_cpu_per_request_us", "us",
             "baseline.spread.store.cpu_per_request_us"),
    Headline("batch of 50: p99", "figures.batch.at_rate.p99_ms", "ms",
             "baseline.batch.raw.p99_ms"),
    Headline("one hot user: highest rate kept up with", "figures.single.ladder.max_keeping_up_rps",
             "req/s"),
    Headline("one hot user, 1 API process: CPU per request",
             "figures.scaling.processes_1.api_cpu_us_per_request", "us"),
    Headline("one hot user, 2 API processes: CPU per request",
             "figures.scaling.processes_2.api_cpu_us_per_request", "us"),
    Headline("one hot user, 2 API processes: p99", "figures.scaling.processes_2.p99_ms", "ms",
             "figures.single.at_rate.p99_ms"),
    Headline("one hot user, 2 API processes: highest rate kept up with",
             "figures.scaling.processes_2.max_keeping_up_rps", "req/s",
             "figures.single.ladder.max_keeping_up_rps"),
)  # fmt: skip
"""The 2-process rows compare with the first count's run (``--api-processes 1,2``: one)."""


def command(
    ingest_rate: IngestRate = 1_000.0,
    rate: Annotated[float, typer.Option(min=1, help="Requests/s for one hot user.")] = 1_000.0,
    batch_rate: Annotated[
        float, typer.Option(min=0.1, help="Requests/s of batches (50 users each).")
    ] = 20.0,
    batch_size: Annotated[int, typer.Option(min=1, max=500, help="Users per batch.")] = 50,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Interactions per user.")] = 100,
    duration: Annotated[float, typer.Option(min=1, help="Seconds of each measured phase.")] = 20.0,
    step_duration: Annotated[float, typer.Option(min=1, help="Seconds of each ladder step.")] = 8.0,
    api_processes: Annotated[
        str,
        typer.Option(
            help="`interstore api` daemons, vegeta alternating between them: a count, or counts "
            "such as 1,2 (the whole run with the first; the one-hot-user phase and ladder again "
            "with each other)."
        ),
    ] = "1",
    profile_dir: Annotated[
        Path | None, typer.Option(help="Also py-spy the API during one more attack; stacks here.")
    ] = None,
    profile_rate: Annotated[
        float, typer.Option(min=1, help="Requests/s of the profiled attack.")
    ] = 300.0,
    seed: Seed = 42,
    runs: Runs = 3,
    warm_up: WarmUp = True,
) -> None:
    """Read API p50/p99 and max sustainable requests/s under ingest, vs a redis-py floor."""
    from benchmarks.api.run import run_api_bench

    params = checked(
        ApiParams,
        ingest_rate=ingest_rate,
        rate=rate,
        batch_rate=batch_rate,
        batch_size=batch_size,
        limit=limit,
        interactions_per_user=max(150, limit),
        duration_s=duration,
        step_s=step_duration,
        api_processes=parse_counts(api_processes, "--api-processes"),
        profile_rate=profile_rate,
        seed=seed,
    )
    warm = dataclasses.replace(params, duration_s=3.0, step_s=2.0, max_steps=2)
    run_benchmark(
        params,
        functools.partial(run_api_bench, profile_dir=profile_dir),
        Repetitions(runs, warm_up),
        HEADLINES,
        warm_up_params=warm,
        width=140,
    )
