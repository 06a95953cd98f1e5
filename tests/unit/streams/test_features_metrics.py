"""The freshness histogram observed per batch counts as observing each value."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from streams.features.metrics import FeatureMetrics, observe_all

AMOUNTS = [0.0, 0.05, 0.051, 0.2, 0.2, 1.0, 1.3, 2.0, 2.7, 59.9, 600, 5000.0, 0.7, 0.7, 0.7]


def _samples(observe_each: bool) -> dict[tuple[str, str, str], float]:
    metrics = FeatureMetrics(CollectorRegistry())
    for group in ("a", "b"):
        child = metrics.freshness.labels(group)
        if observe_each:
            for amount in AMOUNTS:
                child.observe(amount)
        else:
            observe_all(child, AMOUNTS[:5])
            observe_all(child, [])
            observe_all(child, AMOUNTS[5:])
    (family,) = metrics.freshness.collect()
    return {
        (s.name, s.labels["group"], s.labels.get("le", "")): s.value
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_observe_all_counts_every_bucket_and_the_sum_as_observe_does() -> None:
    batched, each = _samples(observe_each=False), _samples(observe_each=True)
    assert batched.keys() == each.keys()
    for name, value in each.items():
        assert batched[name] == pytest.approx(value), name
    bucket = ("interstore_feature_freshness_seconds_bucket", "a", "0.05")
    assert each[bucket] == 2  # 0.0 and 0.05: a bucket counts what is <= its bound
    assert each[("interstore_feature_freshness_seconds_count", "b", "")] == len(AMOUNTS)
