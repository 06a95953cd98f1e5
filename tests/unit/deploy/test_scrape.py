"""The one Prometheus text parser (``deploy.scrape``) reads the worker's real page as
prometheus_client's own parser does."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from deploy.scrape import all_samples, metric_sum, metric_value
from streams.metrics import WorkerMetrics


def page() -> str:
    metrics = WorkerMetrics()
    metrics.consumed.labels(kind="click").inc(7)
    metrics.consumed.labels(kind="order").inc(2)
    metrics.hydration_seconds.observe(0.004)
    return metrics.exposition().decode()


def test_every_sample_and_its_type_as_prometheus_client_reads_them() -> None:
    text = page()
    expected = sorted(
        (sample.name, family.type, tuple(sorted(sample.labels.items())), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    )
    found = sorted(
        (name, kind, tuple(sorted(labels.items())), value)
        for name, kind, labels, value in all_samples(text)
    )
    assert [row[:3] for row in found] == [row[:3] for row in expected]
    assert [row[3] for row in found] == [row[3] for row in expected]


def test_sums_and_label_selection() -> None:
    text = page()
    assert metric_sum(text, "interstore_events_consumed_total") == 9
    assert metric_value(text, "interstore_events_consumed_total", kind="order") == 2
    assert metric_sum(text, "interstore_events") == 0  # a prefix of a name is not the name
