"""The worker's /metrics can be asked for some samples only (Prometheus' ``name[]`` filter)."""

from __future__ import annotations

from deploy.scrape import metric_sum
from streams.metrics import WorkerMetrics


def test_only_the_named_samples_and_the_same_values() -> None:
    metrics = WorkerMetrics()
    metrics.consumed.labels("click").inc(3)
    metrics.consumed.labels("order").inc(2)
    metrics.written.labels("click").inc(4)
    metrics.batch_size.observe(10)
    full = metrics.exposition().decode()
    names = ["interstore_events_consumed_total", "interstore_interactions_written_total"]
    some = metrics.exposition(names).decode()
    for name in names:
        assert metric_sum(some, name) == metric_sum(full, name) > 0
    assert "interstore_batch_size" not in some
    assert "interstore_batch_size_count" in full
    assert len(some) < len(full) / 10
