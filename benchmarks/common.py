"""What every benchmark shares: the result file, targets, the host description, tables.

A result file is ``{"name", "params", "figures", "baseline", "ratio", "host"}`` (DESIGN 10):
``baseline`` is the raw-client floor measured in the same run and ``ratio`` the headline figure
over the baseline's.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RESULT_KEYS = ("name", "params", "figures", "baseline", "ratio", "host")

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
        return (
            f"{self.name}: {_figure(self.value, self.unit)} vs "
            f"{_figure(self.threshold, self.unit)} needed: {verdict}"
        )

    def to_json(self) -> Json:
        return {
            "name": self.name,
            "value": self.value,
            "threshold": self.threshold,
            "unit": self.unit,
            "met": self.met,
        }


def _figure(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value:.0%}"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {unit}".rstrip()


def all_met(targets: Iterable[Target]) -> bool:
    return all(target.met for target in targets)


@dataclass(frozen=True, slots=True)
class BenchResult:
    name: str
    params: Mapping[str, Any]
    figures: Mapping[str, Any]
    baseline: Mapping[str, Any]
    ratio: float
    host: Mapping[str, Any]

    def to_json(self) -> Json:
        """The result file's content, keys in the documented order."""
        return {
            "name": self.name,
            "params": dict(self.params),
            "figures": dict(self.figures),
            "baseline": dict(self.baseline),
            "ratio": self.ratio,
            "host": dict(self.host),
        }


def result_path(name: str, directory: Path = RESULTS_DIR) -> Path:
    if not name.isidentifier():
        raise ValueError(f"benchmark name {name!r} is not a plain identifier")
    return directory / f"{name}.json"


def write_result(result: BenchResult, directory: Path = RESULTS_DIR) -> Path:
    """Write ``directory/NAME.json`` (replacing the previous run's) and return its path."""
    path = result_path(result.name, directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    tmp.replace(path)
    return path


def read_result(path: Path) -> Json:
    """A result file, checked for the documented top-level keys."""
    data: Json = json.loads(path.read_text())
    missing = [key for key in RESULT_KEYS if key not in data]
    if missing:
        raise ValueError(f"{path} lacks {missing}")
    return data


def metric_sum(exposition: str, name: str) -> float:
    """The sum of every sample of ``name`` (all label sets) in Prometheus text exposition."""
    total = 0.0
    for line in exposition.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        rest = line[len(name) :]
        if rest[:1] not in ("{", " "):
            continue  # another metric whose name starts with this one
        total += float(line.rsplit(" ", 1)[1])
    return total


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float]:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return []


def host_info(**extra: Any) -> Json:
    """CPU, memory, Python and the load average now; ``extra`` adds service versions etc."""
    import psutil

    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_mib": psutil.virtual_memory().total // 2**20,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average": load_average(),
        **extra,
    }


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


@dataclass(frozen=True, slots=True)
class Ceiling(Target):
    """A figure the issue caps (a latency, a cost): met when ``value <= threshold``."""

    @property
    def met(self) -> bool:
        return self.value <= self.threshold

    def describe(self) -> str:
        verdict = "met" if self.met else "NOT met"
        return (
            f"{self.name}: {_figure(self.value, self.unit)} vs at most "
            f"{_figure(self.threshold, self.unit)}: {verdict}"
        )


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


def metric_samples(exposition: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of exactly ``name`` in Prometheus text exposition, with its labels."""
    samples: list[tuple[dict[str, str], float]] = []
    for line in exposition.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        rest = line[len(name) :]
        if rest[:1] not in ("{", " "):
            continue
        labels: dict[str, str] = {}
        if rest.startswith("{"):
            inside, _, rest = rest[1:].partition("} ")
            for pair in inside.split(","):  # label values here hold no commas or quotes
                key, _, value = pair.partition("=")
                if key:
                    labels[key.strip()] = value.strip().strip('"')
        samples.append((labels, float(rest.split()[0])))
    return samples


def metric_value(exposition: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
    return sum(
        value
        for found, value in metric_samples(exposition, name)
        if all(found.get(key) == wanted for key, wanted in labels.items())
    )


def histogram_buckets(exposition: str, name: str) -> list[tuple[float, float]]:
    """A histogram's cumulative ``(upper bound, count)`` buckets, ``+Inf`` last."""
    buckets = [
        (float(labels["le"]), value)
        for labels, value in metric_samples(exposition, f"{name}_bucket")
        if "le" in labels
    ]
    return sorted(buckets)


def bucket_delta(
    after: Sequence[tuple[float, float]], before: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """What a histogram counted between two scrapes (``before`` empty: since the start)."""
    earlier = dict(before)
    return [(bound, count - earlier.get(bound, 0.0)) for bound, count in after]


def histogram_quantile(buckets: Sequence[tuple[float, float]], q: float) -> float:
    """The ``q`` quantile from cumulative buckets, as Prometheus computes it: linear within the
    bucket the rank falls in (from 0 for the first); in the ``+Inf`` bucket, the largest finite
    bound (a lower bound of the truth)."""
    if not 0 <= q <= 1:
        raise ValueError(f"q must be between 0 and 1, got {q}")
    ordered = sorted(buckets)
    total = ordered[-1][1] if ordered else 0.0
    if total <= 0:
        raise ValueError("the histogram counted nothing")
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank and count > lower_count:
            if bound == float("inf"):
                return lower_bound
            share = (rank - lower_count) / (count - lower_count)
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound
