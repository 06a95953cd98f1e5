"""What every ``interstore bench NAME`` command does around its benchmark: a warm-up run, the
repetitions, the combined result file, the summary table and the exit code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from benchmarks.harness.repeat import DEFAULT_RUNS, Headline, combine, repeat, summary_table
from benchmarks.harness.results import RESULTS_DIR, BenchResult, write_result

RunOnce = Callable[[Any, Console, Console], tuple[BenchResult, bool]]
"""One run of a benchmark: (params, status console, table console) -> (result, verified)."""


@dataclass(frozen=True, slots=True)
class Repetitions:
    runs: int = DEFAULT_RUNS
    warm_up: bool = True


def consoles(width: int = 120) -> tuple[Console, Console]:
    """(status on stderr, tables on stdout); off a terminal the tables stay ``width`` wide."""
    status = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False)
    if not out.is_terminal:
        out.width = max(out.width, width)
    return status, out


def run_benchmark(
    params: Any,
    run_once: RunOnce,
    repetitions: Repetitions,
    headlines: Sequence[Headline],
    *,
    warm_up_params: Any = None,
    width: int = 120,
    directory: Path = RESULTS_DIR,
) -> BenchResult:
    """Warm up (with ``warm_up_params``, or ``params``), run ``repetitions.runs`` times, write
    the combined result and print its summary; exit 1 if a run did not verify what it measured.

    ``params.to_json()`` goes into the result with ``runs`` and ``warm_up`` added.
    """
    status, out = consoles(width)
    warm = warm_up_params if warm_up_params is not None else params

    def warm_up() -> None:
        run_once(warm, status, Console(quiet=True))

    results, verified = repeat(
        lambda _: run_once(params, status, out),
        repetitions.runs,
        status,
        warm_up if repetitions.warm_up else None,
    )
    described = {**params.to_json(), "runs": repetitions.runs, "warm_up": repetitions.warm_up}
    result = combine(results, described)
    path = write_result(result, directory)
    out.print(summary_table(result.to_json(), headlines))
    status.print(f"wrote {path}")
    if not verified:
        status.print("[bold red]a run did not verify what it measured (see above)[/]")
        raise typer.Exit(1)
    return result
