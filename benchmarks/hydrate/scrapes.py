"""What `bench hydrate` reads from the worker's /metrics between two scrapes: its hydration
histograms (the user-facing one, app_open produce time -> live, included), where the time went
per stage, how its early hydrations ended, what it consumed, how it batched and its lag."""

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
LIVE = "interstore_app_open_live_seconds"
STAGE = "interstore_stage_seconds"
STAGES = (
    "fetch", "queue", "batch_wait", "lock_wait", "decode", "cold_write", "early_read",
    "hydration_read", "hydration_redis_write", "round", "hot_append", "ack",
)  # fmt: skip
"""The worker's stages (``streams.metrics``: ``interstore_stage_seconds``), in message order."""


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
    count = buckets[-1][1] if buckets else 0.0
    total_s = grew(before, after, f"{metric}_sum")
    return {
        "count": int(count),
        "p50_ms": round(1000 * histogram_quantile(buckets, 0.5), 2) if count else 0.0,
        "p99_ms": round(1000 * histogram_quantile(buckets, 0.99), 2) if count else 0.0,
        "mean_ms": round(1000 * total_s / count, 2) if count else 0.0,
        "method": f"{metric} bucket counts between two scrapes, interpolated",
    }


def stage_figures(before: str, after: str) -> dict[str, dict[str, float]]:
    """Per worker stage: how often it ran between two scrapes, its p50/p99 and mean (ms)."""
    out = {}
    for stage in STAGES:
        buckets = bucket_delta(
            histogram_buckets(after, STAGE, stage=stage),
            histogram_buckets(before, STAGE, stage=stage),
        )
        count = buckets[-1][1] if buckets else 0.0
        total_s = metric_value(after, f"{STAGE}_sum", stage=stage) - metric_value(
            before, f"{STAGE}_sum", stage=stage
        )
        out[stage] = {
            "count": int(count),
            "p50_ms": round(1000 * histogram_quantile(buckets, 0.5), 2) if count else 0.0,
            "p99_ms": round(1000 * histogram_quantile(buckets, 0.99), 2) if count else 0.0,
            "mean_ms": round(1000 * total_s / count, 2) if count else 0.0,
        }
    return out


def consumer_lag(exposition: str) -> int:
    """The worker's consumer lag (messages, over its partitions) at this scrape."""
    return int(metric_sum(exposition, "interstore_consumer_lag"))


def early_outcomes(before: str, after: str) -> dict[str, int]:
    """How the worker's early hydrations (as the app_open is consumed) ended meanwhile."""
    return {
        outcome: int(metric_value(after, EARLY, outcome=outcome))
        - int(metric_value(before, EARLY, outcome=outcome))
        for outcome in ("hydrated", "live", "failed", "behind", "ahead")
    }
