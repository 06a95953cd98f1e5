"""`interstore bench hydrate-sustained`: `bench hydrate` at 50 app-opens/s for 20 s (1,000 users
of 1,000 interactions each) under the same 1,000 events/s of background ingest: whether the
worker keeps up (its consumer lag bounded, ``benchmarks.hydrate.lag``) and what an app sees
meanwhile. `bench hydrate`'s 20/s phase lasts 10 s; a 50/s phase of its 200 users lasts 4 s, too
short for a worker falling behind to show it."""

from __future__ import annotations

from typing import Annotated

import typer

from benchmarks.harness.command import Repetitions
from benchmarks.harness.options import Runs, Seed, WarmUp, checked
from benchmarks.harness.repeat import Headline
from benchmarks.hydrate.command import CONSUMED, LIVE_P50, LIVE_P99, run_hydrate_bench
from benchmarks.hydrate.plan import HydrateParams

HEADLINES = (
    CONSUMED,
    Headline("consumer lag at the end (at the start: baseline)",
             "figures.hydration.consumer_lag.end", "messages",
             "figures.hydration.consumer_lag.start"),
    LIVE_P50,
    LIVE_P99,
)  # fmt: skip


def command(
    users: Annotated[int, typer.Option(min=1, help="Users who open the app, one each.")] = 1_000,
    app_open_rate: Annotated[float, typer.Option(min=0.1, help="App-opens per second.")] = 50.0,
    seed: Seed = 42,
    runs: Runs = 3,
    warm_up: WarmUp = True,
) -> None:
    """App-opens at 50/s for 20 s under ingest: does the worker keep up (lag bounded)?"""
    params = checked(
        HydrateParams, name="hydrate_sustained", users=users, app_open_rate=app_open_rate,
        seed=seed,
    )  # fmt: skip
    run_hydrate_bench(params, Repetitions(runs, warm_up), HEADLINES)
