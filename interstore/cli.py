"""The `interstore` command: one entry point, subcommands per concern."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from core.errors import InterstoreError
from core.settings import load_settings
from deploy.cli import stack_app
from interstore.models_cli import models_app
from interstore.producer_cli import produce, topics_app
from ops.cli import features_rebuild, forget_app, inspect_app, replay

app = typer.Typer(
    help="interstore: interaction store and feature pipeline for real-time ranking.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(stack_app, name="stack")
schema_app = typer.Typer(help="The CQL schema of the cold tier (files in schemas/cql).")
app.add_typer(schema_app, name="schema")
app.add_typer(topics_app, name="topics")
app.command("produce")(produce)
app.add_typer(models_app, name="models")
app.command("replay")(replay)
app.add_typer(inspect_app, name="inspect")
app.add_typer(forget_app, name="forget")
features_app = typer.Typer(
    help="The feature pipeline: its worker, rebuilding its store.", no_args_is_help=True
)
app.add_typer(features_app, name="features")
features_app.command("rebuild")(features_rebuild)


@app.command(
    "bench",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def bench(ctx: typer.Context) -> None:
    """Benchmarks against the local stack (`interstore bench --help`); results go to
    benchmarks/results/NAME.json. Needs a clone of the repository: the wheel has no benchmarks."""
    _benchmarks_app(ctx, "bench_app", "bench")


@app.command(
    "soak",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def soak(ctx: typer.Context) -> None:
    """Ingest and reads while faults are injected in turn, then every event checked
    (`interstore soak --help`; `--duration 10m`); result in benchmarks/results/soak.json."""
    _benchmarks_app(ctx, "soak_app", "soak")


def _benchmarks_app(ctx: typer.Context, name: str, command: str) -> None:
    from interstore.bench_loader import load_bench_app

    app_of_benchmarks = load_bench_app(name)
    if app_of_benchmarks is None:
        Console(stderr=True).print(
            "[bold red]the benchmarks are not installed[/]: they live in the repository's "
            f"benchmarks/ folder and are left out of the wheel; run `interstore {command}` from "
            "an editable install of a clone (`pip install -e .`, as `make install` does)."
        )
        raise typer.Exit(2)
    app_of_benchmarks(args=ctx.args, prog_name=f"interstore {command}")


@app.command()
def worker() -> None:
    """Run the Faust worker: consume events, write the cold tier, dead-letter bad input."""
    from streams.worker import run_worker

    run_worker(load_settings())


@features_app.command("worker")
def features_worker() -> None:
    """Run the features worker: aggregate events into feature state and serving values."""
    from streams.features.worker import run_features_worker

    run_features_worker(load_settings())


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Bind address (INTERSTORE_API_HOST).")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (INTERSTORE_API_PORT).")
    ] = None,
) -> None:
    """Serve the read API (FastAPI under uvicorn); docs at /docs."""
    from api.server import run_api

    settings = load_settings()
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if overrides:
        settings = settings.model_copy(update={"api": settings.api.model_copy(update=overrides)})
    run_api(settings)


@app.command()
def demo(
    duration: Annotated[
        float, typer.Option(min=1, help="Seconds of traffic, sent in real time.")
    ] = 60.0,
    rate: Annotated[float, typer.Option(min=1, help="Events per second, about.")] = 500.0,
    users: Annotated[int, typer.Option(min=1, help="How many users may open the app.")] = 5_000,
    idle: Annotated[
        int,
        typer.Option(
            min=1, help="Idle timeout of sessions for the worker the demo starts (seconds)."
        ),
    ] = 15,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the traffic (same seed, same event ids).")
    ] = None,
) -> None:
    """The whole system at work: start the worker and the API if needed, send app traffic in
    real time under a live view of the worker, then make a sample ranker request."""
    from interstore.demo import DemoOptions, run_demo

    run_demo(load_settings(), DemoOptions(duration, rate, users, idle, seed))


@schema_app.command("apply")
def schema_apply() -> None:
    """Create the keyspace and tables (idempotent)."""
    from store.cassandra_session import open_session
    from store.cql_schema import apply_schema

    settings = load_settings().cassandra
    session = open_session(settings)
    try:
        count = apply_schema(session, settings.keyspace, settings.replication_factor)
    finally:
        session.cluster.shutdown()
    Console(stderr=True).print(f"applied {count} CQL statements to keyspace {settings.keyspace}")


def main() -> None:
    """Run the CLI; errors of ours print as one clear line and exit 1, without a traceback."""
    try:
        app()
    except InterstoreError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
