"""`interstore soak`: its options, the per-phase table and the result file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from benchmarks.harness.results import RESULTS_DIR

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``10m``, ``1h``: seconds."""
    text = text.strip().lower()
    unit = DURATION_UNITS.get(text[-1:]) if text else None
    number = text[:-1] if unit else text
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a duration like 90s, 10m or 1h") from None
    if seconds < 35:
        raise typer.BadParameter("a soak needs at least 35 s (seven phases of 5 s)")
    return seconds


def table(result: dict[str, Any]) -> Table:
    out = Table(title="API during each phase (5xx or no answer = failed)")
    for column in ("phase", "requests", "error rate", "p50 ms", "p99 ms"):
        out.add_column(column, justify="left" if column == "phase" else "right")
    for phase, figures in result["figures"].items():
        out.add_row(
            phase,
            str(figures["requests"]),
            f"{figures['error_rate']:.1%}",
            f"{figures['p50_ms']:.1f}",
            f"{figures['p99_ms']:.1f}",
        )
    return out


def command(
    duration: Annotated[
        str, typer.Option(help="How long to run: 90s, 2m, 10m (seven phases share it).")
    ] = "10m",
    rate: Annotated[float, typer.Option(min=1, help="Events/s produced.")] = 150.0,
    users: Annotated[int, typer.Option(min=20, help="Users (half with sessions).")] = 300,
    reads_per_s: Annotated[float, typer.Option(min=1, help="API requests/s.")] = 20.0,
    output: Annotated[Path, typer.Option(help="The result file.")] = RESULTS_DIR / "soak.json",
) -> None:
    """Steady ingest and API reads while a Redis OOM, a Redis restart, a Cassandra pause, a worker
    SIGKILL and a burst of poison records happen in turn; then every produced event is checked:
    stored exactly once, or dead-lettered. Exits 1 if a check fails."""
    from benchmarks.soak.plan import SoakParams
    from benchmarks.soak.run import run_soak
    from core.settings import load_settings

    params = SoakParams(
        duration_s=parse_duration(duration), rate=rate, users=users, reads_per_s=reads_per_s
    )
    console = Console(highlight=False)
    result = run_soak(params, load_settings(), console)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    console.print(table(result))
    checks = result["checks"]
    console.print_json(json.dumps({k: v for k, v in checks.items() if k != "samples"}))
    console.print(f"result: {output}")
    if not checks["ok"]:
        console.print(f"[bold red]the soak's checks failed[/]: {checks['samples']}")
        raise typer.Exit(1)
