"""`interstore bench`: the commands of the registered benchmarks, ``all`` and ``report``.

``interstore/cli.py`` imports this module only when a ``bench`` command runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import Annotated

import typer
from rich.console import Console

from benchmarks.harness.report import report_markdown
from benchmarks.registry import BENCHMARKS
from core.errors import InterstoreError

bench_app = typer.Typer(
    help="Benchmarks against the local stack; results go to benchmarks/results/NAME.json.",
    no_args_is_help=True,
)

soak_app = typer.Typer(add_completion=False)
soak_app.command("soak")(import_module("benchmarks.soak.command").command)
"""`interstore soak` (one command: the app runs it directly)."""

for _name, _module in BENCHMARKS.items():
    bench_app.command(_name)(import_module(_module).command)


@bench_app.command("report")
def report() -> None:
    """The README's benchmark table (Markdown) from the result files: median and spread."""
    Console(highlight=False, soft_wrap=True).print(report_markdown(), markup=False)


@bench_app.command("all")
def run_all(
    runs: Annotated[int, typer.Option(min=1, help="Measured runs of each benchmark.")] = 3,
) -> None:
    """Every registered benchmark, one after the other, with its default options (make bench);
    one that fails does not stop the others, and the command then exits 1."""
    failed = []
    for name, module in BENCHMARKS.items():
        try:
            import_module(module).command(runs=runs)
        except typer.Exit as exc:
            if exc.exit_code:
                failed.append(name)
        except InterstoreError as exc:
            Console(stderr=True).print(f"[bold red]bench {name} failed:[/] {exc}")
            failed.append(name)
    if failed:
        Console(stderr=True).print(f"[bold red]failed or did not verify: {', '.join(failed)}[/]")
        raise typer.Exit(1)
