"""The worker's Prometheus metrics, in a registry of its own (tests make as many as they like)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
HYDRATION_BUCKETS = (
    *(step / 2000 for step in range(1, 101)),  # 0.5 ms steps to 50 ms: p50/p99 to 0.5 ms
    0.06, 0.07, 0.08, 0.09, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 10,
)  # fmt: skip


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.consumed = Counter(
            "interstore_events_consumed", "Messages consumed, by kind.", ["kind"], registry=r
        )
        self.written = Counter(
            "interstore_interactions_written",
            "Interactions written to the cold tier, by kind.",
            ["kind"],
            registry=r,
        )
        self.dead_lettered = Counter(
            "interstore_dead_letters", "Messages sent to the dead-letter topic.", ["reason"],
            registry=r,
        )  # fmt: skip
        self.forgotten_skipped = Counter(
            "interstore_forgotten_events_skipped",
            "Events of forgotten users, older than their tombstone, not stored, by kind.",
            ["kind"],
            registry=r,
        )
        self.batch_size = Histogram(
            "interstore_batch_size", "Messages per consumed batch.", buckets=BATCH_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.cold_write_seconds = Histogram(
            "interstore_cold_write_seconds",
            "Time to write one batch to the cold tier (successful attempts).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cold_write_retries = Counter(
            "interstore_cold_write_retries",
            "Failed cold-tier batch writes that were retried.",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "interstore_consumer_lag",
            "High watermark minus the next offset the agent is handed (records the consumer"
            " prefetched count as behind), by topic partition.",
            ["topic", "partition"],
            registry=r,
        )

        self.live_sessions = Gauge(
            "interstore_live_sessions", "Live sessions in the hot tier, of owned partitions.",
            registry=r,
        )  # fmt: skip
        self.hydrations = Counter(
            "interstore_hydrations", "App-opens that hydrated a user into the hot tier.",
            registry=r,
        )  # fmt: skip
        self.hydration_seconds = Histogram(
            "interstore_hydration_seconds",
            "From the worker consuming the app_open (Faust's message in) to the hot view being"
            " complete, per hydration.",
            buckets=HYDRATION_BUCKETS,
            registry=r,
        )
        self.hydration_work_seconds = Histogram(
            "interstore_hydration_work_seconds",
            "From the hydration's cold read to the hot view being complete.",
            buckets=HYDRATION_BUCKETS,
            registry=r,
        )
        self.stage_seconds = Histogram(
            "interstore_stage_seconds",
            "Where a message's time goes in the worker, by stage: fetch (produced, by its Kafka"
            " timestamp, to the agent's stream taking it: the broker, the consumer's fetch and"
            " Faust's stream buffer, whose 'message in' time is stamped as the stream takes the"
            " message), queue (that stamp to the early-hydration processor), batch_wait (the"
            " batch's first message taken to the batch starting), lock_wait (the batch or an"
            " early hydration waiting for the worker lock), decode (decode and validate a"
            " batch), cold_write (a batch's direct cold writes), early_read (one early"
            " hydration's cold read, outside the lock), hydration_read (a round of hydrations'"
            " cold reads not done early), hydration_redis_write (their hot-tier write), round"
            " (an early hydration round holding the worker lock), hot_append (a batch's"
            " appends to live sessions), ack (acking a batch's offsets).",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.app_open_live_seconds = Histogram(
            "interstore_app_open_live_seconds",
            "The user-facing figure: from an app_open's produce time (its Kafka timestamp) to its"
            " user being live in the hot tier (hydrated), per hydrating app_open.",
            buckets=HYDRATION_BUCKETS,
            registry=r,
        )
        self.early_hydrations = Counter(
            "interstore_early_hydrations",
            "App-opens handled as consumed, ahead of their batch, by outcome (hydrated; live:"
            " already live; failed: left to the batch); behind counts those that were consumed"
            " with a backlog ahead of their batch, ahead those the look-ahead found past the"
            " stream's position (both hydrated ahead of their batch, and counted by outcome"
            " too).",
            ["outcome"],
            registry=r,
        )
        self.flushes = Counter(
            "interstore_session_flushes", "Sessions flushed to the cold tier, by cause.",
            ["cause"], registry=r,
        )  # fmt: skip
        self.flush_size = Histogram(
            "interstore_session_flush_size", "Dirty interactions written per session flush.",
            buckets=BATCH_BUCKETS, registry=r,
        )  # fmt: skip
        self.flush_seconds = Histogram(
            "interstore_session_flush_seconds", "Time to flush and evict one session.",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.absorbed = Counter(
            "interstore_interactions_absorbed",
            "Interactions that went to a live session instead of a cold write of their own.",
            registry=r,
        )
        self.flushed = Counter(
            "interstore_interactions_flushed",
            "Interactions written to the cold tier by session flushes.",
            registry=r,
        )
        self.cold_write_statements = Counter(
            "interstore_cold_write_statements",
            "Statements sent to the cold tier (one row, or an UNLOGGED batch of a partition's "
            "rows), by path: batch writes of users not live (direct), session flushes (flush).",
            ["path"],
            registry=r,
        )
        self.write_through = Counter(
            "interstore_hot_full_write_through",
            "Interactions of live users written to the cold tier because Redis was out of memory.",
            registry=r,
        )
        self.replay_truncated = Counter(
            "interstore_hot_replay_truncated",
            "Hot-tier recoveries whose watermark was older than the log start: records gone.",
            registry=r,
        )
        self.recoveries = Counter(
            "interstore_hot_recoveries",
            "Partitions replayed into the cold tier after the hot tier lost its data.",
            registry=r,
        )

    def exposition(self, names: Sequence[str] = ()) -> bytes:
        """Every metric, or only the samples ``names`` (Prometheus' ``/metrics?name[]=...``):
        a poller of two counters need not pay for every histogram (a full exposition costs
        the worker ~20-30 ms of CPU; polled ten times a second it took a fifth of its CPU)."""
        registry = self.registry.restricted_registry(names) if names else self.registry
        return generate_latest(registry)
