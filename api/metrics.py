"""The API's Prometheus metrics, on a registry of its own (one per app)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05,
    0.075, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
CANDIDATE_BUCKETS = (1, 5, 10, 20, 30, 50, 100, 200, 300, 500, 750, 1000)
RATIO_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class Series:
    """A metric's labelled series, each looked up once: ``labels()`` checks, builds a tuple
    and takes a lock per call, most of a request's metric cost. ``series(metric, *labels)``
    is ``metric.labels(*labels)``, remembered; a series appears when first used, as before."""

    def __init__(self) -> None:
        self._found: dict[tuple[int, tuple[str, ...]], Any] = {}

    def __call__(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (id(metric), labels)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = metric.labels(*labels)
        return found


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.series = Series()
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
        self.shed = Counter(
            "interstore_api_shed",
            "Requests answered 503 + Retry-After at once to shed load, per reason (in_progress, "
            "loop_lag, connections).",
            ["reason"],
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
        self.models = ModelMetrics(self.registry)


class ModelMetrics:
    """Per model (issue 12): matrix and rank requests, their shape, and config reloads."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.series = Series()
        self.seconds = Histogram(
            "interstore_model_request_seconds",
            "Time to build a model's matrix (and score it), per model and route (matrix, rank).",
            ["model", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.candidates = Histogram(
            "interstore_model_candidates",
            "Candidates per request, per model.",
            ["model"],
            buckets=CANDIDATE_BUCKETS,
            registry=registry,
        )
        self.micro_batches = Counter(
            "interstore_model_micro_batches",
            "Micro-batches resolved, per model.",
            ["model"],
            registry=registry,
        )
        self.timed_out_batches = Counter(
            "interstore_model_timed_out_micro_batches",
            "Micro-batches (or context reads) that missed the deadline: defaults served.",
            ["model"],
            registry=registry,
        )
        self.partial = Counter(
            "interstore_model_partial_answers",
            "Answers with partial: true, per model.",
            ["model"],
            registry=registry,
        )
        self.keys_requested = Counter(
            "interstore_model_keys_requested",
            "Entity ids the rows needed (per row, before de-duplication), per model.",
            ["model"],
            registry=registry,
        )
        self.keys_read = Counter(
            "interstore_model_keys_read",
            "Distinct entity ids read, per model (keys read / keys requested: de-dup ratio).",
            ["model"],
            registry=registry,
        )
        self.dedup_ratio = Histogram(
            "interstore_model_dedup_ratio",
            "Per request: keys read / keys requested.",
            ["model"],
            buckets=RATIO_BUCKETS,
            registry=registry,
        )
        self.reloads = Counter(
            "interstore_model_reloads",
            "Model file versions accepted or rejected (the previous version keeps serving).",
            ["model", "result"],
            registry=registry,
        )
        self.loaded = Gauge("interstore_models_loaded", "Models serving now.", registry=registry)
