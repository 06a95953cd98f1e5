"""``interstore bench report``: the README's benchmark table, made from the result files.

One row per headline figure of each registered benchmark that has a result file: the median of
its runs with the spread (min-max), the baseline's median in the same runs, the ratio, and the
share of the host's CPU the hypervisor took during the runs (``host.cpu.steal``, median and
spread; "-" for a result file measured before it was recorded); above the table, on what
machine and at which commits (``host.commit``) the results were measured. The README's table is
this output, pasted whole and replaced whole when the benchmarks are run again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from benchmarks.harness.cpu import steal_text
from benchmarks.harness.repeat import Headline, spread_of
from benchmarks.harness.results import RESULTS_DIR, Json, read_result, result_path


def _number(value: float, unit: str = "") -> str:
    if unit == "ratio":
        return f"{value:.0%}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def machine(host: Mapping[str, Any]) -> str:
    """The machine kind: CPU model, cores, memory."""
    memory = host.get("memory_mib")
    gib = f", {memory / 1024:.0f} GiB" if isinstance(memory, int | float) else ""
    return f"{host.get('cpu_model', '?')}, {host.get('cpu_count', '?')} cores{gib}"


def rows(result: Json, headlines: Sequence[Headline]) -> list[str]:
    """The table's rows of one result file."""
    runs = len(result.get("runs", [])) or 1
    out = []
    for headline in headlines:
        found = spread_of(result, headline.path)
        if found is None:
            continue  # a figure an older result file (or a one-count run) does not have
        unit = headline.unit
        median = _number(found["median"], unit)
        if runs > 1:
            median += f" ({_number(found['min'], unit)}-{_number(found['max'], unit)})"
        if unit != "ratio":
            median = f"{median} {unit}".rstrip()
        base = over = ""
        if headline.baseline_path is not None:
            base_found = spread_of(result, headline.baseline_path)
            base_median = base_found["median"] if base_found else 0
            base = _number(base_median) if base_found else ""
            over = f"{found['median'] / base_median:.2f}" if base_median else ""
        measured = str(result["host"].get("measured_at", "not recorded")).partition("T")[0]
        out.append(
            f"| {result['name']} | {headline.label} | {median} | {base} | "
            f"{over} | {runs} | {stolen(result)} | {measured} |"
        )
    return out


def stolen(result: Json) -> str:
    """The CPU the hypervisor took during the runs: median (min-max), or "-" if not recorded."""
    found = spread_of(result, "host.cpu.steal")
    return "-" if found is None else steal_text(found)


def report_markdown(
    directory: Path = RESULTS_DIR, benchmarks: Mapping[str, str] | None = None
) -> str:
    """The Markdown table of every registered benchmark's result file in ``directory``."""
    if benchmarks is None:
        from benchmarks.registry import BENCHMARKS

        benchmarks = BENCHMARKS
    lines: list[str] = []
    machines: set[str] = set()
    commits: set[str] = set()
    for name, module in benchmarks.items():
        path = result_path(name.replace("-", "_"), directory)  # bench features-read: features_read
        if not path.exists():
            continue
        result = read_result(path)
        machines.add(machine(result["host"]))
        commits.add(str(result["host"].get("commit") or "a commit not recorded"))
        lines += rows(result, import_module(module).HEADLINES)
    at = f", code at {', '.join(sorted(commits))}" if commits else ""
    header = [
        f"Measured on {'; '.join(sorted(machines)) or 'no results yet'}{at}. Each figure is the "
        "median of its runs, with the spread (min-max) when there were several.",
        "",
        "| benchmark | figure | median (min-max) | baseline, median | vs baseline | runs "
        "| CPU steal | date |",
        "|---|---|---|---|---|---|---|---|",
    ]
    return "\n".join(header + lines)
