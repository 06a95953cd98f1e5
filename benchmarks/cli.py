"""`interstore bench NAME`: run one benchmark against the local stack (DESIGN 10)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console


class BaselineWrites(StrEnum):
    batches = "batches"
    singles = "singles"


bench_app = typer.Typer(
    help="Benchmarks against the local stack; results go to benchmarks/results/NAME.json.",
    no_args_is_help=True,
)


@bench_app.command("ingest")
def ingest(
    events: Annotated[int, typer.Option(min=1, help="Events to produce.")] = 100_000,
    users: Annotated[int, typer.Option(min=1, help="Users the events come from.")] = 10_000,
    partitions: Annotated[int, typer.Option(min=1, help="Partitions of each topic.")] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the generated events.")] = 42,
    baseline_writes: Annotated[
        BaselineWrites,
        typer.Option(help="Baseline writes: one UNLOGGED batch per partition, or single rows."),
    ] = BaselineWrites.batches,
    baseline_concurrency: Annotated[
        int, typer.Option(min=1, help="Baseline cassandra-driver requests in flight.")
    ] = 256,
    workers: Annotated[
        int, typer.Option(min=1, help="`interstore worker` processes (one consumer group).")
    ] = 1,
    worker_first: Annotated[
        bool, typer.Option(help="Measure the worker before the baseline (order bias check).")
    ] = False,
) -> None:
    """Events/s from first produce to last row written: the worker vs a raw-client baseline."""
    from benchmarks.common import write_result
    from benchmarks.ingest import IngestParams, run_ingest

    try:
        params = IngestParams(
            events=events,
            users=users,
            partitions=partitions,
            seed=seed,
            baseline_writes=baseline_writes.value,
            baseline_concurrency=baseline_concurrency,
            workers=workers,
            worker_first=worker_first,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    status = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False)
    if not out.is_terminal:
        out.width = max(out.width, 120)  # the table stays readable in logs and pipes
    result, verified = run_ingest(params, status, out)
    path = write_result(result)
    status.print(f"wrote {path}")
    if not verified:
        status.print("[bold red]interactions stored (cold rows + hot dirty) != produced[/]")
        raise typer.Exit(1)


@bench_app.command("hydrate")
def hydrate(
    users: Annotated[
        int, typer.Option(min=1, help="Users hydrated by the worker (as many for the baseline).")
    ] = 200,
    history: Annotated[int, typer.Option(min=1, help="Interactions in cold per user.")] = 1_000,
    background_rate: Annotated[
        float, typer.Option(min=1, help="Events/s of other users' traffic meanwhile.")
    ] = 1_000.0,
    app_open_rate: Annotated[float, typer.Option(min=0.1, help="App-opens per second.")] = 20.0,
    session_users: Annotated[
        int, typer.Option(min=0, help="Session-mix users who open the app first.")
    ] = 300,
    through_users: Annotated[
        int, typer.Option(min=0, help="Session-mix users who act without an app_open.")
    ] = 100,
    partitions: Annotated[int, typer.Option(min=1, help="Partitions of each topic.")] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the generated traffic.")] = 42,
) -> None:
    """App-open hydration latency under ingest, and cold writes per interaction in sessions."""
    from benchmarks.common import write_result
    from benchmarks.hydrate import run_hydrate
    from benchmarks.hydrate_plan import HydrateParams

    try:
        params = HydrateParams(
            users=users,
            history=history,
            background_rate=background_rate,
            app_open_rate=app_open_rate,
            session_users=session_users,
            through_users=through_users,
            partitions=partitions,
            seed=seed,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    status = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False)
    if not out.is_terminal:
        out.width = max(out.width, 120)
    result, verified = run_hydrate(params, status, out)
    path = write_result(result)
    status.print(f"wrote {path}")
    if not verified:
        status.print("[bold red]a hydrated view or a row count did not match what was produced[/]")
        raise typer.Exit(1)
