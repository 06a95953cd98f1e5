"""`interstore bench matrix`: its options, and the figures its summary shows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from benchmarks.harness.command import Repetitions, run_benchmark
from benchmarks.harness.options import Runs, Seed, WarmUp
from benchmarks.harness.repeat import Headline

HEADLINES = (
    *(
        Headline(f"matrix {size} candidates p99", f"figures.matrix.{size}.p99_ms", "ms",
                 f"baseline.raw_mget_floor.{size}.p99_ms")
        for size in (30, 100, 500)
    ),
    *(
        Headline(f"matrix {size} API CPU per request",
                 f"figures.matrix.{size}.api_cpu_ms_per_request", "ms")
        for size in (30, 100, 500)
    ),
    Headline(":rank 30 predictions/s", "figures.rank_30.predictions_per_s"),
    Headline(":rank 30 p99", "figures.rank_30.p99_ms", "ms"),
    Headline("Feast p99 / interstore p99 at 100, same rate", "ratio", "x"),
)  # fmt: skip


def command(
    duration: Annotated[float, typer.Option(min=1, help="Seconds of each measured phase.")] = 15.0,
    rate_30: Annotated[float, typer.Option(min=1, help="Requests/s at 30 candidates.")] = 100.0,
    rate_100: Annotated[float, typer.Option(min=1, help="Requests/s at 100 candidates.")] = 50.0,
    rate_500: Annotated[float, typer.Option(min=1, help="Requests/s at 500 candidates.")] = 20.0,
    rank_rate: Annotated[
        float, typer.Option(min=1, help=":rank requests/s at 30 (167: 5,000 predictions/s).")
    ] = 170.0,
    feast: Annotated[bool, typer.Option(help="Measure Feast's feature server too.")] = True,
    feast_venv: Annotated[
        Path | None, typer.Option(help="Feast's own virtualenv (default var/bench/feast-venv).")
    ] = None,
    feast_step_duration: Annotated[
        float, typer.Option(min=1, help="Seconds of each step of Feast's rate ladder.")
    ] = 8.0,
    seed: Seed = 42,
    runs: Runs = 3,
    warm_up: WarmUp = False,
) -> None:
    """Model matrices and :rank under open-loop load, vs raw MGETs and Feast's feature server."""
    from benchmarks.matrix.plan import MatrixParams
    from benchmarks.matrix.run import run_matrix_bench
    from core.settings import load_settings

    venv = None
    if feast:
        venv = str(feast_venv or load_settings().stack.var_dir / "bench" / "feast-venv")
    try:
        params = MatrixParams(
            rates=(rate_30, rate_100, rate_500), rank_rate=rank_rate, duration_s=duration,
            feast_step_s=feast_step_duration, seed=seed, feast_venv=venv,
        )  # fmt: skip
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    run_benchmark(params, run_matrix_bench, Repetitions(runs, warm_up), HEADLINES, width=140)
