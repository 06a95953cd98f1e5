"""`interstore bench features-read`: its options, and the figures its summary shows."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from benchmarks.features_read.plan import FeaturesReadParams
from benchmarks.harness.command import Repetitions, run_benchmark
from benchmarks.harness.options import Runs, WarmUp
from benchmarks.harness.repeat import Headline

HEADLINES = tuple(
    Headline(f"features:get {size} ids x 20, p{q}", f"figures.ids_{size}.api.p{q}_ms", "ms",
             f"baseline.ids_{size}.p{q}_ms")
    for size in (1, 30, 500)
    for q in (50, 99)
)  # fmt: skip


def command(
    products: Annotated[int, typer.Option(min=500, help="Products with serving values.")] = 2_000,
    requests: Annotated[int, typer.Option(min=10, help="Requests per size and path.")] = 300,
    runs: Runs = 3,
    warm_up: WarmUp = True,
) -> None:
    """POST /v1/features:get latency (1, 30, 500 ids x 20 features) vs the raw MGET floor."""
    from benchmarks.features_read.run import run_features_read

    params = FeaturesReadParams(products=products, requests=requests)
    warm = dataclasses.replace(params, requests=20)
    run_benchmark(params, run_features_read, Repetitions(runs, warm_up), HEADLINES,
                  warm_up_params=warm)  # fmt: skip
