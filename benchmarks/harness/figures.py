"""Arithmetic of figures, the targets an issue sets, and how they are shown (tables, progress)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

Json = dict[str, Any]


def ratio(value: float, baseline: float) -> float:
    """``value / baseline``; a baseline that measured nothing is an error, not infinity."""
    if not baseline > 0:
        raise ValueError(f"the baseline must be positive to compare against, got {baseline}")
    if value < 0:
        raise ValueError(f"a measured figure cannot be negative, got {value}")
    return value / baseline


def per_second(count: int, seconds: float) -> float:
    """Events per second; 0 for a run that took no time (nothing to divide by)."""
    return count / seconds if seconds > 0 else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of the samples, linearly interpolated between closest ranks."""
    if not values:
        raise ValueError("no samples to take a percentile of")
    if not 0 <= q <= 1:
        raise ValueError(f"q must be between 0 and 1, got {q}")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def show(value: float, unit: str = "") -> str:
    """A figure as the tables and the targets print it: ratios as %, big numbers grouped."""
    if unit == "ratio":
        return f"{value:.0%}"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {unit}".rstrip()


@dataclass(frozen=True, slots=True)
class Target:
    """A figure the issue asks for: met when ``value >= threshold``."""

    name: str
    value: float
    threshold: float
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.value >= self.threshold

    def describe(self) -> str:
        verdict = "met" if self.met else "NOT met"
        value, threshold = show(self.value, self.unit), show(self.threshold, self.unit)
        return f"{self.name}: {value} vs {threshold} needed: {verdict}"

    def to_json(self) -> Json:
        return {
            "name": self.name,
            "value": self.value,
            "threshold": self.threshold,
            "unit": self.unit,
            "met": self.met,
        }


@dataclass(frozen=True, slots=True)
class Ceiling(Target):
    """A figure the issue caps (a latency, a cost): met when ``value <= threshold``."""

    @property
    def met(self) -> bool:
        return self.value <= self.threshold

    def describe(self) -> str:
        verdict = "met" if self.met else "NOT met"
        return (
            f"{self.name}: {show(self.value, self.unit)} vs at most "
            f"{show(self.threshold, self.unit)}: {verdict}"
        )


def all_met(targets: Iterable[Target]) -> bool:
    return all(target.met for target in targets)


def figures_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    table = Table(title=title)
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def print_targets(console: Console, targets: Iterable[Target]) -> None:
    for target in targets:
        style = "green" if target.met else "bold red"
        console.print(f"[{style}]target[/] {target.describe()}", highlight=False)


def progress(console: Console, width: int = 28, *, rate: bool = False) -> Progress:
    """A progress bar per task (``rate``: a ``rate`` field shown beside the count)."""
    columns: list[Any] = [TextColumn(f"{{task.description:<{width}}}"), BarColumn()]
    columns.append(MofNCompleteColumn())
    if rate:
        columns.append(TextColumn("{task.fields[rate]}"))
    columns.append(TimeElapsedColumn())
    return Progress(*columns, console=console, transient=False)
