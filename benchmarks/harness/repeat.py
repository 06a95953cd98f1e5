"""Repetitions: every benchmark runs ``--runs N`` times (default 3) after a warm-up run, and its
result holds, per figure, the median of the runs and their spread.

``repeat`` runs the warm-up (a short run whose result is dropped: the stack's JVMs, caches and
connections are warm before the first measured run), then the runs, and ``combine`` folds them
into one ``BenchResult``:

- ``figures`` and ``baseline``: each run's, with every number replaced by the median over the
  runs (lists of equal length element by element; a list whose length differs between runs, such
  as a rate ladder's steps, is the median run's); a boolean is true only if it was in every run
  (a target is met, a count verified, in every run); text is the median run's;
- ``ratio``: the median of the runs' ratios; the median run is the run whose ratio that is;
- ``runs``: each run's ``figures``, ``baseline`` and ``ratio``, in order;
- ``spread``: for every number, ``{"median", "min", "max"}`` keyed by its path
  (``figures.worker_events_per_s``, ``baseline.raw_hydration.p99_ms``, ``ratio``);
- ``host.cpu``: the host's CPU over each whole run (``HostCpu``: ``busy``, ``steal``,
  ``seconds``), folded like a figure (``spread["host.cpu.steal"]``), and each run's own in
  ``runs``: a set whose runs differ by the CPU the hypervisor took can be read as such.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from benchmarks.harness.cpu import HostCpu, steal_text
from benchmarks.harness.figures import figures_table
from benchmarks.harness.results import BenchResult, Json

DEFAULT_RUNS = 3


def _median(values: Sequence[float]) -> float:
    middle = statistics.median(values)
    return middle if isinstance(middle, int) else round(float(middle), 4)


def _fold(values: Sequence[Any], chosen: int, path: str, spread: dict[str, Json]) -> Any:
    first = values[0]
    if isinstance(first, bool) and all(isinstance(v, bool) for v in values):
        return all(values)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if numbers:
        spread[path] = {"median": _median(values), "min": min(values), "max": max(values)}
        return spread[path]["median"]
    if isinstance(first, dict) and all(isinstance(v, dict) for v in values):
        keys = [key for key in first if all(key in v for v in values)]
        return {
            key: _fold([v[key] for v in values], chosen, f"{path}.{key}", spread) for key in keys
        }
    if isinstance(first, list) and all(
        isinstance(v, list) and len(v) == len(first) for v in values
    ):
        return [
            _fold([v[i] for v in values], chosen, f"{path}[{i}]", spread) for i in range(len(first))
        ]
    return values[chosen]


def combine(results: Sequence[BenchResult], params: Json | None = None) -> BenchResult:
    """One result of repeated runs (see the module's docstring); ``params`` replace the first
    run's (they say how many runs there were)."""
    if not results:
        raise ValueError("no runs to combine")
    ratios = [result.ratio for result in results]
    ranked = sorted(range(len(results)), key=lambda i: ratios[i])
    chosen = ranked[(len(ranked) - 1) // 2]
    spread: dict[str, Json] = {}
    figures = _fold([dict(r.figures) for r in results], chosen, "figures", spread)
    baseline = _fold([dict(r.baseline) for r in results], chosen, "baseline", spread)
    ratio = _fold(ratios, chosen, "ratio", spread)
    runs = [
        {"figures": dict(r.figures), "baseline": dict(r.baseline), "ratio": r.ratio}
        | ({"host_cpu": r.host["cpu"]} if "cpu" in r.host else {})
        for r in results
    ]
    first = results[0]
    host = {key: value for key, value in first.host.items() if key != "cpu"}
    if all("cpu" in r.host for r in results):
        host["cpu"] = _fold([dict(r.host["cpu"]) for r in results], chosen, "host.cpu", spread)
    return BenchResult(
        name=first.name,
        params=params if params is not None else dict(first.params),
        figures=figures,
        baseline=baseline,
        ratio=float(ratio),
        host=host,
        extra={"runs": runs, "spread": spread},
    )


@dataclass(frozen=True, slots=True)
class Headline:
    """A figure the summary table and the README's table show: ``path`` into the result file
    (``figures.worker_events_per_s``), with the baseline figure it is compared to, if any."""

    label: str
    path: str
    unit: str = ""
    baseline_path: str | None = None


def lookup(data: Json, path: str) -> Any:
    """The value at a dotted ``path`` (``figures.hydration.worker.p99_ms``) of a result file."""
    value: Any = data
    for part in path.split("."):
        value = value[part]
    return value


def spread_of(data: Json, path: str) -> Json | None:
    """``{"median", "min", "max"}`` of a number; a single run's value three times; None when this
    run has no such figure (``--workers 1`` has no ``workers_2`` row)."""
    found: Json | None = data.get("spread", {}).get(path)
    if found is not None:
        return found
    try:
        value = lookup(data, path)
    except (KeyError, TypeError):
        return None
    return {"median": value, "min": value, "max": value}


def summary_table(result: Json, headlines: Sequence[Headline]) -> Any:
    """The headline figures of repeated runs: median, min, max, and the baseline's median."""
    rows = []
    for headline in headlines:
        found = spread_of(result, headline.path)
        if found is None:
            continue
        base = spread_of(result, headline.baseline_path) if headline.baseline_path else None
        rows.append([
            headline.label,
            *(f"{found[key]:,.2f}" for key in ("median", "min", "max")),
            f"{base['median']:,.2f}" if base else "",
            headline.unit,
        ])  # fmt: skip
    runs = len(result.get("runs", [])) or 1
    title = f"{result['name']}: {runs} run(s), median and spread"
    stolen = spread_of(result, "host.cpu.steal")
    if stolen is not None:
        title += f"; CPU steal {steal_text(stolen)}"
    return figures_table(title, ("figure", "median", "min", "max", "baseline", "unit"), rows)


def repeat(
    run_once: Callable[[int], tuple[BenchResult, bool]],
    runs: int,
    console: Console,
    warm_up: Callable[[], object] | None = None,
) -> tuple[list[BenchResult], bool]:
    """``warm_up()`` (its result dropped), then ``run_once(index)`` ``runs`` times; the results,
    each with the host's CPU over its run in ``host["cpu"]``, and whether every run verified
    what it measured."""
    if runs < 1:
        raise ValueError("at least one run")
    if warm_up is not None:
        console.print("[bold]warm-up run[/] (not counted)")
        warm_up()
    results, verified = [], True
    for index in range(runs):
        console.print(f"[bold]run {index + 1} of {runs}[/]")
        cpu = HostCpu()
        cpu.start()
        result, ok = run_once(index)
        host = {**result.host, "cpu": cpu.read()}
        results.append(dataclasses.replace(result, host=host))
        verified = verified and ok
    return results, verified
