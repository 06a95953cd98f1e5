"""`interstore bench NAME`: run one benchmark against the local stack (DESIGN 10)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
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


@bench_app.command("api")
def api(
    ingest_rate: Annotated[
        float, typer.Option(min=1, help="Events/s of other users' traffic meanwhile.")
    ] = 1_000.0,
    rate: Annotated[float, typer.Option(min=1, help="Requests/s for one hot user.")] = 1_000.0,
    batch_rate: Annotated[
        float, typer.Option(min=0.1, help="Requests/s of batches (50 users each).")
    ] = 20.0,
    batch_size: Annotated[int, typer.Option(min=1, max=500, help="Users per batch.")] = 50,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Interactions per user.")] = 100,
    duration: Annotated[float, typer.Option(min=1, help="Seconds of each measured phase.")] = 20.0,
    step_duration: Annotated[float, typer.Option(min=1, help="Seconds of each ladder step.")] = 8.0,
    api_processes: Annotated[
        int, typer.Option(min=1, help="`interstore api` daemons (vegeta alternates between them).")
    ] = 1,
    profile_dir: Annotated[
        Path | None, typer.Option(help="Also py-spy the API during one more attack; stacks here.")
    ] = None,
    profile_rate: Annotated[
        float, typer.Option(min=1, help="Requests/s of the profiled attack.")
    ] = 300.0,
    seed: Annotated[int, typer.Option(help="Seed of the generated traffic.")] = 42,
) -> None:
    """Read API p50/p99 and max sustainable requests/s under ingest, vs a redis-py floor."""
    from benchmarks.api import run_api_bench
    from benchmarks.api_plan import ApiParams
    from benchmarks.common import write_result

    try:
        params = ApiParams(
            ingest_rate=ingest_rate,
            rate=rate,
            batch_rate=batch_rate,
            batch_size=batch_size,
            limit=limit,
            interactions_per_user=max(150, limit),
            duration_s=duration,
            step_s=step_duration,
            api_processes=api_processes,
            profile_rate=profile_rate,
            seed=seed,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    status = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False)
    if not out.is_terminal:
        out.width = max(out.width, 140)
    result = run_api_bench(params, status, out, profile_dir)
    path = write_result(result)
    status.print(f"wrote {path}")
    failed = [t for t in result.figures["targets"] if t["name"] == "requests answered 2xx"]
    if failed and not failed[0]["met"]:
        status.print("[bold red]some requests were not answered 2xx[/]")
        raise typer.Exit(1)


@bench_app.command("matrix")
def matrix(
    duration: Annotated[float, typer.Option(min=1, help="Seconds of each measured phase.")] = 15.0,
    rate_30: Annotated[float, typer.Option(min=1, help="Requests/s at 30 candidates.")] = 200.0,
    rate_100: Annotated[float, typer.Option(min=1, help="Requests/s at 100 candidates.")] = 100.0,
    rate_500: Annotated[float, typer.Option(min=1, help="Requests/s at 500 candidates.")] = 20.0,
    rank_rate: Annotated[float, typer.Option(min=1, help=":rank requests/s at 30.")] = 200.0,
    feast: Annotated[bool, typer.Option(help="Measure Feast's feature server too.")] = True,
    feast_venv: Annotated[
        Path | None, typer.Option(help="Feast's own virtualenv (default var/bench/feast-venv).")
    ] = None,
    feast_step_duration: Annotated[
        float, typer.Option(min=1, help="Seconds of each step of Feast's rate ladder.")
    ] = 8.0,
    seed: Annotated[int, typer.Option(help="Seed of the data and the requests.")] = 42,
) -> None:
    """Model matrices and :rank under open-loop load, vs raw MGETs and Feast's feature server."""
    from benchmarks.common import write_result
    from benchmarks.matrix import run_matrix_bench
    from benchmarks.matrix_plan import MatrixParams
    from core.settings import load_settings

    try:
        params = MatrixParams(
            rates=(rate_30, rate_100, rate_500),
            rank_rate=rank_rate,
            duration_s=duration,
            feast_step_s=feast_step_duration,
            seed=seed,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    venv = None
    if feast:
        venv = feast_venv or load_settings().stack.var_dir / "bench" / "feast-venv"
    status = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False)
    if not out.is_terminal:
        out.width = max(out.width, 140)
    result = run_matrix_bench(params, status, out, venv)
    status.print(f"wrote {write_result(result)}")
