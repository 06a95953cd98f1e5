"""`bench ingest`: the write-through workload and a result with both paths."""

from __future__ import annotations

from benchmarks.ingest.plan import IngestParams, Measurement, build_workload
from benchmarks.ingest.report import build_result

NOW_MS = 1_790_000_000_000


def test_write_through_is_the_same_interactions_without_app_opens() -> None:
    workload = build_workload(IngestParams(events=2_000, users=200), NOW_MS)
    through = workload.write_through()
    assert workload.kinds["app_open"] > 0
    assert "app_open" not in through.kinds
    assert [e.kind for e in through.events] == [
        e.kind for e in workload.events if e.kind != "app_open"
    ]
    assert len(through.events) == through.interactions == workload.interactions


def test_the_result_puts_both_paths_against_the_same_baseline() -> None:
    workload = build_workload(IngestParams(events=1_000, users=100), NOW_MS)
    through = workload.write_through()

    def measured(name: str, events: int, seconds: float) -> Measurement:
        rows = workload.interactions
        return Measurement(name, events, rows, total_s=seconds, rows_verified=rows)

    baseline = measured("baseline", 1_000, 0.1)  # 10,000 events/s
    worker = measured("worker", 1_000, 0.25)  # 4,000 events/s
    write_through = measured("write-through", len(through.events), len(through.events) / 6_000)
    result, targets = build_result(
        IngestParams(), workload, 50_000.0, baseline, worker, write_through, {"cpu_count": 2}
    )
    assert result.ratio == 0.4
    assert result.figures["write_through_over_baseline"] == 0.6
    assert result.figures["write_through_events_per_s"] == 6_000
    assert result.figures["worker_events_per_s"] == 4_000
    assert result.baseline["events_per_s"] == 10_000
    assert [(t.name, t.met) for t in targets] == [
        ("worker / raw limit >= 60%", False),
        ("worker >= 5,000 events/s", False),
        ("write-through >= 5,000 events/s", True),
    ]
