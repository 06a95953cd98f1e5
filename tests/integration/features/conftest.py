"""Features worker fixtures: worker processes of their own on the test's topics, keyspace and
key prefix, and readers of what they wrote to Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from core.settings import Settings
from deploy.app_processes import FeaturesWorkerChild
from features.catalogue import load_catalogue
from features.serving import decode_serving
from features.state import EntityState
from features.tiles import DAY_MS
from interstore.demo_events import generate_events
from store.feature_store import serving_key
from streams.producer import EventProducer
from tests.integration.worker.conftest import Pipeline, pipeline, pipeline_redis

__all__ = ["pipeline", "pipeline_redis"]  # the worker tests fixtures, used here too

DEFINITIONS = Path(__file__).with_name("definitions.yaml")
NOW = int(time.time() * 1000)
Record = dict[str, Any]


class FeaturesWorker(FeaturesWorkerChild):
    """The test's features worker (``deploy.app_processes.FeaturesWorkerChild``), started."""

    def __init__(self, env: dict[str, str], tmp: Path, name: str) -> None:
        super().__init__(env, tmp / f"{name}.log", cwd=tmp)
        self.start()

    def assert_running(self) -> None:
        assert self.running, f"features worker exited:\n{self.log_tail()}"

    def metric(self, name: str, label: str = "") -> float:
        """Sum of a metric's samples whose line starts with ``name`` and contains ``label``."""
        try:
            text = httpx.get(self.metrics_url, timeout=5).text
        except httpx.HTTPError:
            return 0.0
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and label in line
        )


def redis_of(env: dict[str, str]) -> redis.Redis | redis.RedisCluster:
    """A client of the Redis ``env`` points at: a cluster client (its SCAN covers every primary)
    when ``INTERSTORE_REDIS_CLUSTER`` is true."""
    url = env["INTERSTORE_REDIS_URL"]
    if env.get("INTERSTORE_REDIS_CLUSTER") == "true":
        return redis.RedisCluster.from_url(url)
    return redis.Redis.from_url(url)


class Features:
    """One test's feature pipeline: its environment, workers, and what they wrote."""

    def __init__(self, settings: Settings, pipeline: Pipeline, prefix: str) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.prefix = prefix
        self.catalogue = load_catalogue(DEFINITIONS)
        self.env = {
            **pipeline.env,
            "INTERSTORE_FEATURES_DEFINITIONS_PATH": str(DEFINITIONS),
            "INTERSTORE_FEATURES_KEY_PREFIX": prefix,
            "INTERSTORE_FEATURES_WORKER_APP_ID": f"{prefix}-features",
            "INTERSTORE_FEATURES_WORKER_DATA_DIR": str(pipeline.tmp / "features-data"),
            "INTERSTORE_FEATURES_WORKER_BATCH_WITHIN_S": "0.1",
            "INTERSTORE_FEATURES_WORKER_LOG_LEVEL": "warning",
        }
        self.workers: list[FeaturesWorker] = []
        self.redis = redis_of(self.env)

    def start(self, name: str = "features", **env: str) -> FeaturesWorker:
        worker = FeaturesWorker({**self.env, **env}, self.pipeline.tmp, name)
        self.workers.append(worker)
        return worker

    def counted(
        self, events: list[tuple[str, Record]], name: str = "features", **env: str
    ) -> tuple[FeaturesWorker, dict[tuple[str, str], list[int]]]:
        """Produce ``events``, start a worker, and wait until every entity's counts equal the
        hand counts (``expected_counts``); the worker, still running, and those counts."""
        expected = expected_counts(events)
        self.produce(events)
        worker = self.start(name, **env)
        wait_counts(self, expected, [worker])
        return worker, expected

    def produce(self, events: list[tuple[str, Record]]) -> None:
        with EventProducer(self.settings.kafka, self.pipeline.events_topic) as producer:
            for kind, record in events:
                producer.send(kind, record)
            producer.flush(60)

    def values(self, entity: str, ids: tuple[str, ...], group: str) -> list[Any] | None:
        key = serving_key(self.prefix, entity, ids, group)
        raw = self.redis.get(key)
        return None if raw is None else list(decode_serving(raw).values)

    def states(self) -> dict[str, EntityState]:
        """Every entity state in Redis, by key without the prefix."""
        out: dict[str, EntityState] = {}
        for key in self.redis.scan_iter(f"{self.prefix}:fv:*:_state", count=1000):
            blob = self.redis.hget(key, "s")
            if blob is not None:
                out[key.decode()[len(self.prefix) :]] = EntityState.decode(blob)
        return out

    def wait_durable(self, worker: FeaturesWorker, timeout_s: float = 60) -> None:
        """Until the worker wrote states to the durable copy (it writes every
        ``INTERSTORE_FEATURES_WORKER_DURABLE_INTERVAL_S``)."""
        deadline = time.monotonic() + timeout_s
        while worker.metric("interstore_feature_durable_rows_total") == 0:
            worker.assert_running()
            assert time.monotonic() < deadline, f"no durable write:\n{worker.log_tail()}"
            time.sleep(0.2)

    def wait_applied(self, worker: FeaturesWorker, records: int, timeout_s: float = 120) -> None:
        """Until the worker handled ``records`` records (applied, duplicate or late)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            worker.assert_running()
            done = sum(
                worker.metric("interstore_feature_events_total", f'outcome="{o}"')
                for o in ("applied", "duplicate", "late")
            )
            if done >= records:
                return
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {records} records:\n{worker.log_tail()}")


@pytest.fixture
def features(settings: Settings, pipeline: Pipeline, unique_name: str) -> Iterator[Features]:
    pipe = Features(settings, pipeline, f"{unique_name}f")
    yield pipe
    for worker in pipe.workers:
        worker.stop()
    for pattern in (f"{pipe.prefix}:*", f"{pipe.prefix}~*"):  # ~: generations, their control
        for key in pipe.redis.scan_iter(pattern, count=1000):
            pipe.redis.delete(key)
    pipe.redis.close()


def traffic(count: int, seed: int) -> list[tuple[str, Record]]:
    """Two days old, over about a minute: no window edge moves during a test."""
    return list(generate_events(users=150, count=count, seed=seed, start_ms=NOW - 2 * DAY_MS))


def expected_counts(events: list[tuple[str, Record]]) -> dict[tuple[str, str], list[int]]:
    """Per (entity, id), hand-counted from the events: users [clicks, orders] (u.clicks_7d,
    u.orders_7d), products [clicks, orders] (p.clicks_30d, p.orders_30d), categories
    [interactions] (c.events_30d). For events within the last 7 days."""
    out: dict[tuple[str, str], list[int]] = {}
    for kind, record in events:
        if kind == "app_open":
            continue
        column = {"click": 0, "order": 1}.get(kind)
        for entity, key in (("user", "user_id"), ("product", "product_id")):
            counts = out.setdefault((entity, record[key]), [0, 0])
            if column is not None:
                counts[column] += 1
        out.setdefault(("category", record["category_id"]), [0])[0] += 1
    return out


COLUMNS = {
    "user": ("u", slice(1, 3)),
    "product": ("p", slice(1, 3)),
    "category": ("c", slice(1, 2)),
}


def counts_now(features: Features, ids: list[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
    out: dict[tuple[str, str], list[int]] = {}
    for entity, entity_id in ids:
        group, columns = COLUMNS[entity]
        values = features.values(entity, (entity_id,), group)
        out[(entity, entity_id)] = [] if values is None else values[columns]
    return out


def wait_counts(
    features: Features,
    expected: dict[tuple[str, str], list[int]],
    workers: list[FeaturesWorker],
    timeout_s: float = 180,
) -> None:
    """Until every entity's counts equal the expected ones (more would fail at once)."""
    deadline = time.monotonic() + timeout_s
    now: dict[tuple[str, str], list[int]] = {}
    while time.monotonic() < deadline:
        for worker in workers:
            worker.assert_running()
        now = counts_now(features, list(expected))
        over = {k: (v, expected[k]) for k, v in now.items() if v and sum(v) > sum(expected[k])}
        assert not over, f"counted twice: {list(over.items())[:5]}"
        if now == expected:
            return
        time.sleep(1)
    wrong = {k: (v, expected[k]) for k, v in now.items() if v != expected[k]}
    raise AssertionError(f"counts differ for {len(wrong)}: {list(wrong.items())[:5]}")
