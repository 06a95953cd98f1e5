"""Worker test fixtures: a worker process of its own per test, on its own topics and keyspace.
A test that fails shows what each of its workers still running was doing (``dump_stacks``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cassandra.cluster import NoHostAvailable, Session
from confluent_kafka import Consumer, Message

from core.settings import RedisSettings, Settings
from deploy.app_processes import WorkerChild
from deploy.stack import LocalStack


@dataclass
class Pipeline:
    """The names one test's worker uses, and how to reach its data."""

    env: dict[str, str]
    events_topic: str
    dead_letter_topic: str
    keyspace: str
    tmp: Path
    redis: RedisSettings
    """The Redis the worker uses (the stack's, unless a module overrides ``pipeline_redis``)."""

    def cli(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "interstore.cli", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            timeout=300,
            check=False,
        )


class WorkerProcess(WorkerChild):
    """The test's worker (``deploy.app_processes.WorkerChild``), started at once."""

    def __init__(self, pipeline: Pipeline, name: str) -> None:
        super().__init__(pipeline.env, pipeline.tmp / f"{name}.log", cwd=pipeline.tmp)
        self.pipeline = pipeline
        self.start()

    def assert_running(self) -> None:
        assert self.running, f"worker exited:\n{self.log_tail()}"


@pytest.fixture
def pipeline_redis(settings: Settings) -> RedisSettings:
    """The worker's Redis; a module that overrides this with ``hot_redis`` runs its tests on
    both a single node and a private Redis Cluster."""
    return settings.redis


@pytest.fixture
def pipeline(
    stack: LocalStack,
    keyspace: str,
    unique_name: str,
    tmp_path: Path,
    pipeline_redis: RedisSettings,
) -> Pipeline:
    events = f"{unique_name}.events"
    dead = f"{unique_name}.dlq"
    env = {
        **os.environ,
        "INTERSTORE_TOPICS_EVENTS": events,
        "INTERSTORE_TOPICS_DEAD_LETTERS": dead,
        "INTERSTORE_TOPICS_PARTITIONS": "4",
        "INTERSTORE_CASSANDRA_KEYSPACE": keyspace,
        "INTERSTORE_WORKER_APP_ID": f"{unique_name}-worker",
        "INTERSTORE_WORKER_DATA_DIR": str(tmp_path / "worker-data"),
        "INTERSTORE_WORKER_BATCH_WITHIN_S": "0.1",
        "INTERSTORE_WORKER_RETRY_MAX_S": "2",
        "INTERSTORE_WORKER_LOG_LEVEL": "info",  # rebalances are logged at info
        # Sessions end quickly here, so every interaction reaches the cold tier within seconds.
        "INTERSTORE_REDIS_KEY_PREFIX": unique_name,
        "INTERSTORE_REDIS_URL": pipeline_redis.url,
        "INTERSTORE_REDIS_CLUSTER": str(pipeline_redis.cluster).lower(),
        "INTERSTORE_SESSION_IDLE_S": "2",
        "INTERSTORE_SESSION_TICK_S": "0.5",
    }
    result = subprocess.run(
        [sys.executable, "-m", "interstore.cli", "topics", "create"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return Pipeline(env, events, dead, keyspace, tmp_path, pipeline_redis)


STARTED = pytest.StashKey[list[WorkerProcess]]()
"""The workers a test started (``start_worker``)."""
LOG_BEFORE_DUMP_CHARS = 3000


@pytest.fixture
def start_worker(
    pipeline: Pipeline, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], WorkerProcess]]:
    workers = request.node.stash.setdefault(STARTED, [])

    def start(name: str = "worker") -> WorkerProcess:
        worker = WorkerProcess(pipeline, name)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test's report gains a section per worker it started: the end of its log and,
    if it still runs, what its threads and asyncio tasks are doing (before the teardown stops
    it)."""
    report = yield
    if report.when == "call" and report.failed:
        for worker in item.stash.get(STARTED, []):
            before = worker.log_tail(LOG_BEFORE_DUMP_CHARS)
            dump = worker.dump_stacks()
            report.sections.append((f"worker {worker.log_path.stem}", f"{before}\n{dump}"))
    return report


def stored_event_ids(session: Session, keyspace: str) -> list[str]:
    """Every event id in the interactions table (duplicates included, if there were any)."""
    rows = session.execute(f"SELECT event_id FROM {keyspace}.interactions", timeout=60)
    return [row.event_id for row in rows]


def wait_for(
    condition: Callable[[], bool], timeout_s: float, what: str, check: Callable[[], None]
) -> None:
    """Poll ``condition`` (a database still reconnecting counts as "not yet")."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        check()
        try:
            if condition():
                return
        except NoHostAvailable:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def consume_all(bootstrap: str, topic: str, expected: int, timeout_s: float = 60) -> list[Message]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"check-{topic}-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    messages: list[Message] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=500, timeout=1.0):
                if message.error() is None:
                    messages.append(message)
    finally:
        consumer.close()
    return messages
