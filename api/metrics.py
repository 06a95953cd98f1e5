"""The API's Prometheus metrics, on a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05,
    0.075, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "interstore_api_request_seconds",
            "Time from a request's arrival to its response's last byte, per route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "interstore_api_requests",
            "Responses sent, per route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.user_reads = Counter(
            "interstore_api_user_reads",
            "Users answered, per tier that answered (hot: a live session in Redis; cold).",
            ["source"],
            registry=self.registry,
        )
        self.read_errors = Counter(
            "interstore_api_read_errors",
            "Users whose read failed, per reason (unavailable, timeout, refused).",
            ["reason"],
            registry=self.registry,
        )
        self.features_read = Counter(
            "interstore_api_features_read",
            "Feature values answered, per status (present, missing, stale).",
            ["status"],
            registry=self.registry,
        )
