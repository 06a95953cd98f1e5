"""One settings object per component, each overridable from the environment.

Built once at an entry point (CLI, worker, API, test session) and passed down; nothing else reads
``os.environ``. Every connection address comes from here, so the same code runs against the local
stack, the docker-compose services or a real cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings

from core.clock import wall_clock_ms
from core.service_settings import (
    API_SCOPES as API_SCOPES,
)
from core.service_settings import (
    MIN_API_KEY_CHARS as MIN_API_KEY_CHARS,
)
from core.service_settings import (
    ApiSettings as ApiSettings,
)
from core.service_settings import (
    FeatureSettings as FeatureSettings,
)
from core.service_settings import (
    FeatureWorkerSettings as FeatureWorkerSettings,
)
from core.service_settings import (
    ModelSettings as ModelSettings,
)
from core.service_settings import (
    OpsSettings as OpsSettings,
)
from core.settings_base import PROJECT_ROOT as PROJECT_ROOT
from core.settings_base import STOP_GRACE_DESCRIPTION
from core.settings_base import settings_config as _config


class KafkaSettings(BaseSettings):
    """How to reach Kafka."""

    model_config = _config("INTERSTORE_KAFKA_")

    bootstrap_servers: str = "127.0.0.1:9092"
    fetch_min_bytes: int = Field(
        65536,
        ge=1,
        description="The broker answers a worker's fetch once it has this many bytes for it, or "
        "after the worker's ``fetch_wait_max_ms``: fewer, fuller fetches than one per message "
        "(librdkafka's default, 1 byte), for the broker's CPU and the worker's.",
    )


class CassandraSettings(BaseSettings):
    """How to reach the cold tier (Cassandra or Scylla, same driver, CQL protocol v4)."""

    model_config = _config("INTERSTORE_CASSANDRA_")

    contact_points: str = Field("127.0.0.1", description="Comma-separated hosts.")
    port: int = 9042
    keyspace: str = "interstore"
    replication_factor: int = 1
    local_dc: str = "datacenter1"
    # Scylla speaks v4 at most: pinned so code tested on Cassandra runs on Scylla.
    protocol_version: int = 4
    connect_timeout_s: float = 10.0
    request_timeout_s: float = 10.0
    reconnect_max_s: float = Field(5.0, gt=0, description="Longest wait between reconnects.")
    recent_views_complete: bool = Field(
        True,
        description="Every interaction of the keyspace was written with its recent-view delta"
        " (a keyspace this version created): a user's view packs are the truth even before a"
        " hydration wrote a base. False for a keyspace holding older history: each user's first"
        " hydration reads the individual rows and writes the base.",
    )
    consistency: Literal["LOCAL_QUORUM", "QUORUM", "EACH_QUORUM", "ALL"] = Field(
        "LOCAL_QUORUM",
        description="Of every read and write (interactions and hot-tier watermarks alike): a "
        "quorum, so that a read sees every acknowledged write.",
    )

    @property
    def hosts(self) -> list[str]:
        return [host.strip() for host in self.contact_points.split(",") if host.strip()]


MAX_READ_BUCKETS = 100
"""Buckets one cold read may name in its ``IN`` list (Scylla's default limit on IN values)."""
RETENTION_BUCKET_SPAN_DAYS = {"click": 7, "wishlist": 28, "order": 28}
"""store.buckets.SPAN_DAYS, repeated here (core imports nothing of ours); a unit test keeps the
two equal."""
TTL_LIMIT_MS = 2_147_483_647_000
"""2038-01-19T03:14:07Z: Cassandra (before 5.0's storage format) refuses an expiry past it."""
_DAY_MS = 86_400_000


def retention_limit_days(span_days: int, now_ms: int) -> tuple[int, str]:
    """The longest retention of a kind with buckets of ``span_days`` at ``now_ms``, and why."""
    by_buckets = (MAX_READ_BUCKETS - 2) * span_days  # + the bucket of now and of a day ahead
    by_ttl = (TTL_LIMIT_MS - now_ms) // _DAY_MS - 1
    if by_buckets <= by_ttl:
        why = f"a read would name more than {MAX_READ_BUCKETS} buckets of {span_days} days"
        return by_buckets, why + ", and Scylla refuses such IN lists"
    return by_ttl, "a longer TTL expires after 2038-01-19, which Cassandra refuses"


class RetentionSettings(BaseSettings):
    """How long the cold tier keeps each kind of interaction (a TTL from the event's own ts)."""

    model_config = _config("INTERSTORE_RETENTION_")

    click_days: int = Field(90, ge=1)
    wishlist_days: int = Field(180, ge=1)
    order_days: int = Field(365, ge=1)

    @model_validator(mode="after")
    def _within_what_the_cold_tier_can_read_and_expire(self) -> RetentionSettings:
        now_ms = wall_clock_ms()
        for kind, span in RETENTION_BUCKET_SPAN_DAYS.items():
            most, why = retention_limit_days(span, now_ms)
            if self.days(kind) > most:
                raise ValueError(f"{kind}_days={self.days(kind)}: at most {most} days ({why})")
        return self

    def days(self, kind: str) -> int:
        return int(getattr(self, f"{kind}_days"))


class RedisSettings(BaseSettings):
    """How to reach the hot tier (Redis or Dragonfly)."""

    model_config = _config("INTERSTORE_REDIS_")

    url: str = "redis://127.0.0.1:6390/0"
    max_connections: int = Field(64, ge=1, description="Pool size; callers wait for a connection.")
    pool_timeout_s: float = Field(5.0, gt=0, description="Longest wait for a free connection.")
    socket_timeout_s: float = Field(5.0, gt=0)
    connect_timeout_s: float = Field(2.0, gt=0)
    retries: int = Field(2, ge=0, description="Retries of a command after a connection error.")
    key_prefix: str = Field("is", min_length=1, description="Every hot-tier key starts with it.")
    cluster: bool = Field(
        False,
        description="The URL names one node of a Redis Cluster: use the cluster client (slots "
        "discovered from it; pipelines split per node and sent concurrently).",
    )


class SessionSettings(BaseSettings):
    """Hot sessions: when the tracker flushes them, how much of a user's history they hold."""

    model_config = _config("INTERSTORE_SESSION_")

    idle_s: int = Field(1800, ge=1, description="Flush a session idle this long.")
    max_session_s: int = Field(14400, ge=1, description="Flush a session this old.")
    last_n_per_kind: int = Field(500, ge=1, description="Interactions per kind kept hot.")
    tick_s: float = Field(5.0, gt=0, description="How often the inactivity tracker runs.")
    key_ttl_s: int = Field(
        21600, ge=1, description="TTL of every hot key, refreshed on activity: a leak guard."
    )
    max_dirty_items: int = Field(
        5000, ge=1, description="A session with this many unflushed interactions flushes early."
    )
    max_dirty_bytes: int = Field(
        2 << 20,
        ge=1024,
        description="A session with about this many unflushed bytes flushes early.",
    )

    @model_validator(mode="after")
    def _ttl_outlives_sessions(self) -> SessionSettings:
        if self.key_ttl_s <= max(self.idle_s, self.max_session_s):
            raise ValueError(
                f"key_ttl_s ({self.key_ttl_s}) must exceed idle_s and max_session_s "
                f"({self.idle_s}, {self.max_session_s}): keys must outlive every session"
            )
        return self


class TopicSettings(BaseSettings):
    """The event topics. One topic for every kind of a user's events (keyed by user id) gives a
    total order per user: an app_open and the clicks after it are consumed in that order."""

    model_config = _config("INTERSTORE_TOPICS_")

    events: str = "interstore.events"
    dead_letters: str = "interstore.events.dlq"
    partitions: int = Field(12, ge=1)
    replication_factor: int = Field(1, ge=1)
    retention_ms: int = Field(7 * 24 * 3600 * 1000, ge=-1)
    dead_letter_retention_ms: int = Field(30 * 24 * 3600 * 1000, ge=-1)


class WorkerSettings(BaseSettings):
    """The ingest worker: its consumer, batching, cold-tier concurrency and retries, metrics."""

    model_config = _config("INTERSTORE_WORKER_")

    consumer: Literal["batch", "faust"] = Field(
        "batch",
        description="What takes the events topic: 'batch', confluent-kafka's consumer handing"
        " the worker whole batches (streams.batch_consumer), or 'faust', a Faust agent (one"
        " record at a time through Faust's stream: about twice the CPU per event). Both drive"
        " the same services; a consumer group must not mix the two (their assignors differ):"
        " switch with every worker of the group stopped.",
    )
    app_id: str = Field("interstore-worker", description="The consumer group (and Faust app) id.")
    data_dir: Path = PROJECT_ROOT / "var" / "worker"
    batch_max: int = Field(1000, ge=1)
    batch_within_s: float = Field(0.2, gt=0)
    fetch_wait_max_ms: int = Field(
        10,
        ge=1,
        description="Longest a fetch of the events topic waits for ``kafka.fetch_min_bytes``: "
        "adds at most this to an app_open's latency.",
    )
    lookahead: bool = Field(
        True, description="Read partitions that are behind ahead of the stream for app_opens."
    )
    lookahead_min_lag: int = Field(
        200, ge=1, description="A partition this many messages behind is read ahead."
    )
    lookahead_max_held: int = Field(
        20_000, ge=1, description="Messages read ahead and kept, per partition, at most."
    )
    write_concurrency: int = Field(128, ge=1)
    retry_initial_s: float = Field(0.5, gt=0)
    retry_max_s: float = Field(10.0, gt=0)
    replica_failure_attempts: int = Field(
        5, ge=1, description="Attempts of a write replicas fail before it is dead-lettered."
    )
    commit_interval_s: float = Field(1.0, gt=0, description="How often acked offsets commit.")
    stop_grace_s: float = Field(30.0, gt=0, description=STOP_GRACE_DESCRIPTION)
    web_bind: str = "127.0.0.1"
    web_port: int = Field(6066, ge=1, description="The worker's /metrics, /healthz and /readyz.")
    log_level: str = "info"


class StackSettings(BaseSettings):
    """The local stack: versions, ports, heaps and the folders it keeps things in."""

    model_config = _config("INTERSTORE_STACK_")

    cache_dir: Path = PROJECT_ROOT / ".cache"
    var_dir: Path = PROJECT_ROOT / "var"
    java_home: Path | None = Field(None, description="A Java 17 home; found if unset.")
    ready_timeout_s: float = 180.0

    kafka_version: str = "4.1.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_heap_mb: int = 512

    cassandra_version: str = "5.0.6"
    cassandra_port: int = 9042
    cassandra_storage_port: int = 7000
    cassandra_heap_mb: int = 1024

    redis_port: int = 6390
    redis_maxmemory_mb: int = 512
    redis_cluster: bool = Field(
        False, description="Also start a local Redis Cluster (`stack up --redis-cluster`)."
    )
    redis_cluster_port: int = Field(
        7101, description="The cluster's first node; the others follow (bus ports: +10000)."
    )
    redis_cluster_nodes: int = Field(3, ge=1, le=16, description="Primaries, no replicas.")
    redis_cluster_maxmemory_mb: int = Field(256, ge=16, description="Per node.")


class Settings(BaseSettings):
    """Everything, built once at an entry point."""

    model_config = _config("INTERSTORE_")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    cassandra: CassandraSettings = Field(default_factory=CassandraSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    session: SessionSettings = Field(default_factory=SessionSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    features_worker: FeatureWorkerSettings = Field(default_factory=FeatureWorkerSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    stack: StackSettings = Field(default_factory=StackSettings)


def load_settings() -> Settings:
    """Read the environment once; call at an entry point and pass the result down."""
    return Settings()
