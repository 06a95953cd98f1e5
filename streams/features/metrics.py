"""The features worker's Prometheus metrics, in a registry of its own."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

FRESHNESS_BUCKETS = (
    0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3, 4, 5,
    7.5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600,
)  # fmt: skip


class FeatureMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.freshness = Histogram(
            "interstore_feature_freshness_seconds",
            "From an event's time to its group's serving value being visible in Redis.",
            ["group"],
            buckets=FRESHNESS_BUCKETS,
            registry=r,
        )
        self.events = Counter(
            "interstore_feature_events",
            "Records handled, by outcome: applied; duplicate (at or below a fence); late (older "
            "than the lateness: dropped); bad (undecodable or invalid: skipped, the ingest worker "
            "dead-letters them); ignored (a kind no feature reads).",
            ["outcome"],
            registry=r,
        )
        self.consumed = Counter(
            "interstore_feature_records_consumed",
            "Records consumed, by side: events (the events topic), entities (repartition topic).",
            ["side"],
            registry=r,
        )
        self.repartitioned = Counter(
            "interstore_feature_repartitioned", "Records sent to the repartition topic.",
            registry=r,
        )  # fmt: skip
        self.conflicts = Counter(
            "interstore_feature_state_conflicts",
            "Entity states another writer changed between read and write (then re-applied).",
            registry=r,
        )
        self.reloaded = Counter(
            "interstore_feature_states_reloaded",
            "Entity states reloaded from the durable copy after Redis lost them.",
            registry=r,
        )
        self.durable_rows = Counter(
            "interstore_feature_durable_rows",
            "Entity states written to the durable copy (one per entity changed since the last "
            "write, however many batches changed it).",
            registry=r,
        )
        self.changed_groups = Gauge(
            "interstore_feature_groups_changed",
            "Feature groups whose loaded definition differs from the one the current generation "
            "was built with, or are new to it (checked at start; 0 when it recorded none).",
            registry=r,
        )
        self.refreshed = Counter(
            "interstore_feature_values_refreshed",
            "Entities whose serving values were recomputed because their windows slid.",
            registry=r,
        )

    def exposition(self, names: Sequence[str] = ()) -> bytes:
        """Every metric, or only the samples ``names`` (``/metrics?name[]=...``): a poller of
        two counters need not pay for the histograms (~4 ms of the worker's CPU each time)."""
        registry = self.registry.restricted_registry(names) if names else self.registry
        return generate_latest(registry)


def observe_all(histogram: Histogram, amounts: Sequence[float]) -> None:
    """``histogram.observe`` of every amount (of a labelled child or a histogram without
    labels), as one increment per bucket touched and one of the sum: ``observe`` takes two locks
    and walks the buckets per amount, and a batch makes thousands of freshness observations.
    Relies on ``prometheus_client``'s ``_upper_bounds``, ``_buckets`` and ``_sum`` (the unit
    test compares it with ``observe``); without them, observes one by one."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:
        for amount in amounts:
            histogram.observe(amount)
        return
    if not amounts:
        return
    for at, count in Tally([bisect_left(bounds, amount) for amount in amounts]).items():
        buckets[at].inc(count)  # the first bucket whose bound is >= the amount, as observe
    total.inc(sum(amounts))
