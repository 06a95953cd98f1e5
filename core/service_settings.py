"""Settings of the serving and operating components: the feature store and its worker, the API,
model files and the operator tools. ``core.settings.Settings`` gathers them with the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from core.settings_base import PROJECT_ROOT, STOP_GRACE_DESCRIPTION
from core.settings_base import settings_config as _config


class FeatureSettings(BaseSettings):
    """Feature definitions, their serving values in Redis, and the bounds of a feature read."""

    model_config = _config("INTERSTORE_FEATURES_")

    definitions_path: Path = Field(
        PROJECT_ROOT / "features" / "definitions.yaml",
        description="The feature definition file (YAML); the shipped default if unset.",
    )
    key_prefix: str = Field(
        "isf", min_length=1, description="Every serving-value key starts with it."
    )
    max_ids: int = Field(500, ge=1, description="Entity ids per feature read.")
    max_features: int = Field(100, ge=1, description="Feature names per feature read.")
    mget_per_slot: bool = Field(
        False,
        description="One MGET per Redis Cluster hash slot (pipelined) instead of one MGET for "
        "every key: needed on Redis Cluster, slower on one node.",
    )
    read_timeout_s: float = Field(1.0, gt=0, description="A feature read slower than this fails.")
    coalesce_reads: bool = Field(
        True,
        description="Feature reads issued in one turn of the event loop (a matrix's concurrent "
        "micro-batches) go out as one read (store.coalesced_reads).",
    )
    generation_cache_s: float = Field(
        1.0, gt=0, description="Readers re-read the current feature store generation this often."
    )


class FeatureWorkerSettings(BaseSettings):
    """The features worker (``interstore features worker``): its consumers, batching, event-time
    lateness and the refresher of slid windows."""

    model_config = _config("INTERSTORE_FEATURES_WORKER_")

    consumer: Literal["batch", "faust"] = Field(
        "batch",
        description="What takes the events and repartition topics: 'batch', two confluent-kafka"
        " consumers handing whole batches (streams.features.batch_host), or 'faust', the Faust"
        " app's agents (streams.features.app). Both apply the same handling and hold acks the"
        " same way; a consumer group must not mix the two (their assignors differ): switch with"
        " every features worker of the group stopped (the committed offsets carry over).",
    )
    app_id: str = Field("interstore-features", description="The consumer group (and Faust app) id.")
    data_dir: Path = PROJECT_ROOT / "var" / "features-worker"
    repartition_suffix: str = Field(
        ".features-by-entity",
        description="The repartition topic is the events topic's name plus this.",
    )
    batch_max: int = Field(
        5000,
        ge=1,
        description="Events per batch at most: one state write per entity per batch (a backlog "
        "drains in batches this big: fewer state writes per event).",
    )
    batch_within_s: float = Field(
        0.25,
        gt=0,
        description="How long a batch of the events topic (the user side) waits to fill: adds "
        "to the freshness of every value.",
    )
    entity_batch_within_s: float = Field(
        0.05,
        gt=0,
        description="How long a batch of the repartition topic (product, category) waits to "
        "fill: its records come in bursts, one per user-side batch, so a short wait takes a "
        "whole burst without adding a second user-side window to those values' freshness.",
    )
    fetch_wait_max_ms: int = Field(
        50,
        ge=1,
        description="Longest a fetch of either side waits for ``kafka.fetch_min_bytes``: adds "
        "at most this to freshness.",
    )
    lateness_s: int = Field(
        3600, ge=0, description="Events this much older than their partition's newest are dropped."
    )
    refresh_interval_s: float = Field(1.0, gt=0, description="How often slid windows refresh.")
    state_cache_entries: int = Field(
        30_000,
        ge=0,
        description="States the worker wrote last, kept decoded: their batches skip the read.",
    )
    durable_interval_s: float = Field(
        5.0,
        gt=0,
        description="The durable copy (Cassandra) is written this often, one row per entity "
        "changed since; events are acknowledged once it covers them.",
    )
    durable_max_held: int = Field(
        20_000,
        ge=1,
        description="Events held unacknowledged at most: more and the batch waits for a write "
        "of the durable copy.",
    )
    commit_interval_s: float = Field(1.0, gt=0)
    stop_grace_s: float = Field(30.0, gt=0, description=STOP_GRACE_DESCRIPTION)
    web_bind: str = "127.0.0.1"
    web_port: int = Field(6067, ge=1, description="Its web server: /metrics and /healthz.")
    log_level: str = "info"


API_SCOPES = ("read:interactions", "read:features", "admin")
"""What an API key may be allowed to do."""
MIN_API_KEY_CHARS = 16


class ApiSettings(BaseSettings):
    """The read API (``interstore api``): where it listens, who may call it, its bounds.

    ``INTERSTORE_API_KEYS`` is JSON: ``{"<key>": ["read:interactions", ...]}``. Without keys the
    API refuses to start unless ``INTERSTORE_API_DEV_MODE=true`` (local development: every
    request is allowed, and the API says so at start-up).
    """

    # An empty variable counts as unset (docker-compose passes ${INTERSTORE_API_KEYS:-} through).
    model_config = {**_config("INTERSTORE_API_"), "env_ignore_empty": True}

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    keys: dict[SecretStr, tuple[str, ...]] = Field(default_factory=dict, repr=False)
    dev_mode: bool = Field(False, description="Serve without API keys (local development only).")
    read_timeout_s: float = Field(
        1.0, gt=0, description="A read not answered by then is a 503 (for that user, in a batch)."
    )
    ready_timeout_s: float = Field(1.0, gt=0, description="Each dependency check of /readyz.")
    ready_cache_s: float = Field(
        1.0, ge=0, description="How long one round of /readyz checks answers every probe."
    )
    max_body_bytes: int = Field(1 << 20, ge=1024)
    cold_concurrency: int = Field(64, ge=1, description="Cold-tier reads in flight per process.")
    user_reads_in_flight: int = Field(
        2,
        ge=1,
        description="One user's interaction reads (GET /v1/users/{id}/interactions) out at once "
        "per query and process; requests meanwhile go out together as the next read "
        "(api.user_reads).",
    )
    max_concurrency: int = Field(
        32,
        ge=1,
        description="Requests in progress per process (from parse to answer: queued in the "
        "event loop too); more get a 503 + Retry-After at once.",
    )
    max_loop_lag_ms: float = Field(
        100.0,
        gt=0,
        description="While the event loop runs this late, and for as long after (requests "
        "queued meanwhile), new requests get a 503 + Retry-After at once.",
    )
    listen_backlog: int = Field(
        2048, ge=1, description="The listening socket's accept queue (uvicorn's backlog)."
    )
    connection_limit: int = Field(
        1024,
        ge=1,
        description="uvicorn's limit_concurrency: over this many connections or requests, "
        "a request gets the JSON 503 + Retry-After (api.shedding_protocol; uvicorn's own "
        "plain-text 503 when shed_at_parse is off).",
    )
    shed_at_parse: bool = Field(
        True,
        description="Ask the load gate as uvicorn parses a request (api.shedding_protocol): a "
        "shed request costs no task; false: only the ConcurrencyLimit middleware sheds.",
    )
    log_level: str = "info"

    @field_validator("keys")
    @classmethod
    def _keys_are_secrets_with_known_scopes(
        cls, keys: dict[SecretStr, tuple[str, ...]]
    ) -> dict[SecretStr, tuple[str, ...]]:
        for key, scopes in keys.items():
            if len(key.get_secret_value()) < MIN_API_KEY_CHARS:
                raise ValueError(f"every API key needs at least {MIN_API_KEY_CHARS} characters")
            if unknown := sorted(set(scopes) - set(API_SCOPES)):
                raise ValueError(f"unknown API key scopes {unknown}; known: {list(API_SCOPES)}")
        return keys


class ModelSettings(BaseSettings):
    """Model files (one YAML per model, issue 12): where they are and how often the API looks
    for changes (0: only on SIGHUP or ``interstore models reload``)."""

    model_config = _config("INTERSTORE_MODELS_")

    path: Path = Field(PROJECT_ROOT / "models" / "configs", description="The models folder.")
    poll_s: float = Field(2.0, ge=0, description="Seconds between checks for changed files.")
    fast_routes: bool = Field(
        True, description="Answer /matrix and :rank in pure ASGI (api.fast_models), not FastAPI."
    )
    derived_key_cache: int = Field(
        100_000,
        ge=0,
        description="Derived keys remembered per API process (a product's category), so a"
        " matrix reads every level in one round trip, checked against the values read (0: off).",
    )


class OpsSettings(BaseSettings):
    """Operator tools: replay, inspect, forget (and the tombstones the consumers check)."""

    model_config = _config("INTERSTORE_OPS_")

    replay_group_prefix: str = Field(
        "interstore-replay", min_length=1, description="A replay's consumer group starts so."
    )
    replay_batch_max: int = Field(5000, ge=1, description="Messages per consumed batch.")
    replay_write_concurrency: int = Field(512, ge=1, description="Cold writes in flight.")
    replay_progress_s: float = Field(5.0, gt=0, description="Off a terminal: a line this often.")
    tombstone_refresh_s: float = Field(
        2.0, gt=0, description="Consumers reload the forgotten users at most this long after."
    )
    rebuild_pause_ttl_s: float = Field(
        30.0,
        gt=0,
        description="A rebuild's pause of the features worker expires after this "
        "unless renewed (a crashed rebuild never stalls the worker for longer).",
    )
    rebuild_lag_to_pause: int = Field(
        2000,
        ge=0,
        description="A rebuild catches up unpaused until at most this many events "
        "are left, then pauses the features worker for the last ones and switches.",
    )
