"""What `bench hydrate` reads from the worker's /metrics between two scrapes: its hydration
histograms, how its early hydrations ended, what it consumed and how it batched."""

from __future__ import annotations

from typing import Any

from deploy.scrape import (
    bucket_delta,
    histogram_buckets,
    histogram_quantile,
    metric_sum,
    metric_value,
)

HYDRATION = "interstore_hydration_seconds"
HYDRATION_WORK = "interstore_hydration_work_seconds"
EARLY = "interstore_early_hydrations_total"
BATCH = "interstore_batch_size"


def grew(before: str, after: str, name: str) -> float:
    """How much a metric (summed over its labels) grew between two scrapes."""
    return metric_sum(after, name) - metric_sum(before, name)


def worker_load(before: str, after: str, seconds: float) -> dict[str, float]:
    """What the worker consumed meanwhile (app_opens included), and how it batched."""
    batches = max(grew(before, after, f"{BATCH}_count"), 1.0)
    return {
        "events_consumed_per_s": round(
            grew(before, after, "interstore_events_consumed_total") / seconds, 1
        ),
        "mean_batch_size": round(grew(before, after, f"{BATCH}_sum") / batches, 1),
        "hydrations_per_batch": round(
            grew(before, after, "interstore_hydrations_total") / batches, 2
        ),
    }


def worker_figures(before: str, after: str, metric: str = HYDRATION) -> dict[str, Any]:
    """The hydrations the worker timed between two scrapes, in one of its histograms."""
    buckets = bucket_delta(histogram_buckets(after, metric), histogram_buckets(before, metric))
    count = buckets[-1][1]
    total_s = grew(before, after, f"{metric}_sum")
    return {
        "count": int(count),
        "p50_ms": round(1000 * histogram_quantile(buckets, 0.5), 2),
        "p99_ms": round(1000 * histogram_quantile(buckets, 0.99), 2),
        "mean_ms": round(1000 * total_s / count, 2),
        "method": f"{metric} bucket counts between two scrapes, interpolated (0.5 ms buckets)",
    }


def early_outcomes(before: str, after: str) -> dict[str, int]:
    """How the worker's early hydrations (as the app_open is consumed) ended meanwhile."""
    return {
        outcome: int(metric_value(after, EARLY, outcome=outcome))
        - int(metric_value(before, EARLY, outcome=outcome))
        for outcome in ("hydrated", "live", "failed", "behind")
    }
