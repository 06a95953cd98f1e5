"""`bench ingest --workers 1,2,3`: the session path with each count of worker processes in one
consumer group, as events/s, CPU per event (the sum over the group's processes) and the
partitions each process held."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmarks.harness.figures import figures_table, ratio
from benchmarks.ingest.plan import Measurement


def _over(value: float, first: float) -> float:
    """``value / first``, 0 when the first measured nothing (a unit test's CPU, say)."""
    return ratio(value, first) if first > 0 else 0.0


def scaling_figures(measured: Mapping[int, Measurement]) -> dict[str, Any]:
    """``{"workers_N": {...}}`` per count, in the order measured; ``vs_first`` compares each
    with the first count (events/s and CPU per event)."""
    first = next(iter(measured.values()))
    figures: dict[str, Any] = {}
    for count, m in measured.items():
        cores = m.consumer_cpu_s / m.total_s if m.total_s else 0.0
        figures[f"workers_{count}"] = {
            "workers": count,
            "events_per_s": round(m.events_per_s, 1),
            "cpu_us_per_event": round(m.cpu_us_per_event, 1),
            "worker_cores": round(cores, 3),
            "host_cpu_busy": round(m.host_cpu_busy, 3),
            "seconds": round(m.total_s, 3),
            "verified": m.verified,
            "stored": m.stored.to_json() if m.stored else {},
            "events_per_s_vs_first": round(_over(m.events_per_s, first.events_per_s), 3),
            "cpu_per_event_vs_first": round(_over(m.cpu_us_per_event, first.cpu_us_per_event), 3),
            "cpu_seconds_per_process": m.details.get("cpu_seconds_per_process", []),
            "assignment": m.details.get("assignment", {}),
        }
    return figures


def scaling_table(scaling: Mapping[str, Any]) -> Any:
    columns = (
        "workers", "events/s", "vs first", "CPU us/event", "vs first", "worker cores",
        "host busy", "partitions per process",
    )  # fmt: skip
    rows = [
        [
            str(f["workers"]),
            f"{f['events_per_s']:,.0f}",
            f"{f['events_per_s_vs_first']:.2f}",
            f"{f['cpu_us_per_event']:,.0f}",
            f"{f['cpu_per_event_vs_first']:.2f}",
            f"{f['worker_cores']:.2f}",
            f"{f['host_cpu_busy']:.0%}",
            "; ".join(f"{name}: {held or '-'}" for name, held in f["assignment"].items()),
        ]
        for f in scaling.values()
    ]
    return figures_table("ingest, session path: worker processes in one group", columns, rows)
