"""`bench ingest`: the write-through workload, a result with both paths, the worker scaling."""

from __future__ import annotations

import pytest
import typer

from benchmarks.harness.options import parse_counts
from benchmarks.ingest.plan import IngestParams, Measurement, build_workload
from benchmarks.ingest.report import build_result
from benchmarks.ingest.scaling import scaling_figures, scaling_table
from benchmarks.ingest.verify import Verification

NOW_MS = 1_790_000_000_000


def all_stored(rows: int) -> Verification:
    """A check that found every one of ``rows`` interactions once, in cold, and nothing else."""
    return Verification(rows, rows, 0, 0, 0, in_both_tiers=0, cold_rows=rows, hot_dirty=0)


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
        return Measurement(name, events, rows, total_s=seconds, stored=all_stored(rows))

    baseline = measured("baseline", 1_000, 0.1)  # 10,000 events/s
    worker = measured("worker", 1_000, 0.25)  # 4,000 events/s
    write_through = measured("write-through", len(through.events), len(through.events) / 6_000)
    scaling = scaling_figures({1: worker})
    result, targets = build_result(
        IngestParams(), workload, 50_000.0, (baseline, worker, write_through), scaling, {}
    )
    assert result.ratio == 0.4
    assert result.figures["write_through_over_baseline"] == 0.6
    assert result.figures["write_through_events_per_s"] == 6_000
    assert result.figures["worker_events_per_s"] == 4_000
    assert result.baseline["events_per_s"] == 10_000
    assert result.figures["scaling"]["workers_1"]["events_per_s"] == 4_000
    assert [(t.name, t.met) for t in targets] == [
        ("worker / raw limit >= 60%", False),
        ("worker >= 5,000 events/s", False),
        ("write-through >= 5,000 events/s", True),
    ]


def test_scaling_compares_each_worker_count_with_the_first() -> None:
    def run(events_per_s: float, cpu_s: float, assignment: dict[str, str]) -> Measurement:
        seconds = 10_000 / events_per_s
        m = Measurement("worker", 10_000, 8_000, total_s=seconds, stored=all_stored(8_000))
        m.consumer_cpu_s = cpu_s
        m.details.update(assignment=assignment, cpu_seconds_per_process=[cpu_s])
        return m

    figures = scaling_figures({
        1: run(1_000, 6.0, {"worker-0": "0,1,2,3"}),
        2: run(1_250, 7.5, {"worker-0": "0,1", "worker-1": "2,3"}),
    })  # fmt: skip
    two = figures["workers_2"]
    assert (two["events_per_s"], two["cpu_us_per_event"]) == (1_250, 750)
    assert (two["events_per_s_vs_first"], two["cpu_per_event_vs_first"]) == (1.25, 1.25)
    assert two["worker_cores"] == 0.938  # 7.5 CPU-s over 8 s
    assert two["assignment"] == {"worker-0": "0,1", "worker-1": "2,3"}
    assert scaling_table(figures).row_count == 2


def test_worker_counts_parse_from_a_list() -> None:
    assert parse_counts("1,2,3", "--workers") == (1, 2, 3)
    assert IngestParams(workers=(1, 2)).to_json()["workers"] == [1, 2]
    for bad in ("", "0,1", "1,1", "a"):
        with pytest.raises(typer.BadParameter):
            parse_counts(bad, "--workers")
