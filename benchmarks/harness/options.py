"""The options several ``interstore bench`` commands share, defined once (typer reads the
``Annotated`` metadata of each parameter), and the parsing of a list of process counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

RUNS_HELP = "Measured runs (each on fresh scratch resources); the result holds median and spread."
WARMUP_HELP = "First a short run on the same stack whose figures are dropped."

P = TypeVar("P")

Runs = Annotated[int, typer.Option(min=1, help=RUNS_HELP)]
WarmUp = Annotated[bool, typer.Option(help=WARMUP_HELP)]
Seed = Annotated[int, typer.Option(help="Seed of the generated data and traffic.")]
Partitions = Annotated[int, typer.Option(min=1, help="Partitions of each topic.")]
IngestRate = Annotated[
    float, typer.Option(min=1, help="Events/s of other users' traffic meanwhile.")
]


def parse_counts(text: str, what: str) -> tuple[int, ...]:
    """``"1,2,3"`` -> ``(1, 2, 3)``: distinct positive counts, in the order given."""
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter(f"{what}: comma-separated whole numbers, such as 1,2,3") from None
    if not counts or min(counts) < 1:
        raise typer.BadParameter(f"{what}: at least one count, each 1 or more")
    if len(set(counts)) != len(counts):
        raise typer.BadParameter(f"{what}: each count once")
    return counts


def checked(make: Callable[..., P], **values: Any) -> P:
    """``make(**values)``, a ``ValueError`` (a params class refusing values) as a bad option."""
    try:
        return make(**values)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
