"""`interstore bench capacity`: its options, and the figures its summary and the README show."""

from __future__ import annotations

from typing import Annotated

import typer

from benchmarks.harness.command import Repetitions, run_benchmark
from benchmarks.harness.options import Partitions, Runs, Seed, WarmUp, checked
from benchmarks.harness.repeat import Headline

HEADLINES = (
    Headline("Redis bytes per live user", "figures.hot.bytes_per_live_user", "B"),
    Headline("Redis bytes per product (features)",
             "figures.features.by_entity.product.bytes_per_id", "B"),
    Headline("Redis bytes per user (features)",
             "figures.features.by_entity.user.bytes_per_id", "B"),
    Headline("cold bytes per row on disk", "figures.cold.bytes_per_row", "B"),
)  # fmt: skip


def command(
    users: Annotated[
        int, typer.Option(min=1, help="Users of the history and the sessions.")
    ] = 2_000,
    history_events: Annotated[
        int, typer.Option(min=1, help="Events of the day before (to cold).")
    ] = 40_000,
    session_events: Annotated[
        int, typer.Option(min=1, help="Events of the live sessions.")
    ] = 20_000,
    partitions: Partitions = 12,
    seed: Seed = 42,
    runs: Runs = 1,
    warm_up: WarmUp = False,
) -> None:
    """Redis bytes per live user and per feature entity, cold bytes per row: sizing inputs."""
    from benchmarks.capacity.plan import CapacityParams
    from benchmarks.capacity.run import run_capacity

    params = checked(
        CapacityParams, users=users, history_events=history_events,
        session_events=session_events, partitions=partitions, seed=seed,
    )  # fmt: skip
    run_benchmark(params, run_capacity, Repetitions(runs, warm_up), HEADLINES)
