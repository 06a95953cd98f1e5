"""The result of one `bench ingest` run, and its table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmarks.harness.figures import Target, figures_table, ratio
from benchmarks.harness.results import BenchResult
from benchmarks.ingest.plan import IngestParams, Measurement, Workload, ingest_targets


def build_result(
    params: IngestParams,
    workload: Workload,
    producer_events_per_s: float,
    measured: tuple[Measurement, Measurement, Measurement],
    scaling: Mapping[str, Any],
    host: Mapping[str, Any],
) -> tuple[BenchResult, list[Target]]:
    """The session path is the headline (``ratio``: its events/s over the baseline's); the
    write-through path sits beside it, against the same baseline. ``measured`` is (baseline,
    session path, write-through path); ``scaling`` the session path per worker count."""
    baseline, worker, through = measured
    headline = ratio(worker.events_per_s, baseline.events_per_s)
    through_ratio = ratio(through.events_per_s, baseline.events_per_s)
    targets = ingest_targets(worker.events_per_s, headline, through.events_per_s)
    figures = {
        "events": len(workload.events),
        "interactions": workload.interactions,
        "kinds": dict(workload.kinds),
        "producer_events_per_s": round(producer_events_per_s, 1),
        **{f"worker_{key}": value for key, value in worker.to_json().items()},
        "write_through_over_baseline": round(through_ratio, 4),
        **{f"write_through_{key}": value for key, value in through.to_json().items()},
        "scaling": dict(scaling),
        "targets": [target.to_json() for target in targets],
    }
    result = BenchResult("ingest", params.to_json(), figures, baseline.to_json(), headline, host)
    return result, targets


def render(
    result: BenchResult,
    baseline: Measurement,
    worker: Measurement,
    through: Measurement,
    producer_rate: float,
) -> Any:
    def row(m: Measurement, label: str) -> list[str]:
        return [
            label,
            f"{m.events_per_s:,.0f}",
            f"{ratio(m.events_per_s, baseline.events_per_s):.0%}",
            f"{m.total_s:.1f}",
            f"{m.rows_verified:,} / {m.expected_rows:,}" + ("" if m.verified else " !"),
            f"{m.produce_events_per_s:,.0f}",
            f"{m.cpu_us_per_event:,.0f}",
            f"{m.host_cpu_busy:.0%}",
        ]

    columns = (
        "measurement", "events/s", "vs baseline", "seconds", "rows verified", "produce/s",
        "consumer CPU us/event", "host CPU busy",
    )  # fmt: skip
    rows = [
        row(baseline, "baseline"),
        row(worker, "worker: sessions"),
        row(through, "worker: write-through"),
        ["producer only", f"{producer_rate:,.0f}", "", "", "", f"{producer_rate:,.0f}", "", ""],
    ]
    params = result.params
    title = (
        f"ingest: {params['events']:,} events, {params['users']:,} users, "
        f"{params['partitions']} partitions, {params['workers'][0]} worker process(es)"
    )
    return figures_table(title, columns, rows)
