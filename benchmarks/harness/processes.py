"""The processes a benchmark runs: ``interstore worker`` children (``deploy.app_processes``'
``WorkerChild``, the starter the tests use too), ``interstore api`` daemons on free ports, and
the waits until they are ready (``/metrics`` answers; the consumer group owns every partition).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import urllib.error
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import httpx
from confluent_kafka import ConsumerGroupState, KafkaException
from rich.console import Console

from benchmarks.harness.errors import BenchError
from benchmarks.harness.scratch import Scratch
from core.settings import Settings
from deploy.app_processes import WorkerChild, api_process, api_url, start_api
from deploy.process import ManagedProcess, free_port
from deploy.scrape import scrape
from streams.topics import admin_client

READY_TIMEOUT_S = 180.0
METRIC_TIMEOUT_S = 120.0


class BenchWorker(WorkerChild):
    """One ``interstore worker`` of a benchmark: data dir and log under ``workdir``."""

    def __init__(self, env: Mapping[str, str], workdir: Path, index: int = 0) -> None:
        data_dir = workdir / "data" / str(index)
        data_dir.parent.mkdir(parents=True, exist_ok=True)  # Faust makes only the last part
        env = {**env, "INTERSTORE_WORKER_DATA_DIR": str(data_dir)}
        super().__init__(env, workdir / f"worker-{index}.log", cwd=workdir)

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    def alive(self) -> None:
        if not self.running:
            raise BenchError(f"a worker exited; its log: {self.log_path}")

    def metrics(self, names: Sequence[str] = ()) -> str:
        """The worker's /metrics: all of it, or only the samples ``names`` (cheap to poll)."""
        query = urllib.parse.urlencode([("name[]", name) for name in names])
        return scrape(f"{self.metrics_url}?{query}" if query else self.metrics_url)

    def held_partitions(self) -> list[int]:
        """The partitions its consumer holds now (its ``/readyz``; empty while unassigned)."""
        url = self.metrics_url.removesuffix("/metrics") + "/readyz"
        return [int(p) for p in httpx.get(url, timeout=5).json().get("partitions", [])]


def wait_metrics(workers: list[BenchWorker]) -> None:
    """Until every worker's /metrics answers (or one dies, or the time runs out)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        for worker in workers:
            worker.alive()
        try:
            for worker in workers:
                worker.metrics()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise BenchError(f"the workers' /metrics did not answer in {READY_TIMEOUT_S:.0f}s")


def wait_assigned(
    settings: Settings, group: str, topic: str, partitions: int, alive: Callable[[], None]
) -> None:
    """Until the consumer group is stable and its members own every partition of ``topic``."""
    admin = admin_client(settings.kafka)
    deadline = time.monotonic() + READY_TIMEOUT_S
    owned: set[int] = set()
    while time.monotonic() < deadline:
        alive()
        try:
            futures = admin.describe_consumer_groups([group], request_timeout=10)
            description = futures[group].result()
        except KafkaException:
            description = None  # not known to the coordinator yet
        if description is not None:
            owned = {
                tp.partition
                for member in description.members
                for tp in member.assignment.topic_partitions
                if tp.topic == topic
            }
            if description.state == ConsumerGroupState.STABLE and len(owned) == partitions:
                return
        time.sleep(0.2)
    raise BenchError(f"group {group} owns {len(owned)} of {partitions} partitions of {topic}")


def wait_metric(worker: BenchWorker, done: Callable[[str], bool], what: str) -> str:
    """Scrape the worker until ``done(text)``; that text."""
    deadline = time.monotonic() + METRIC_TIMEOUT_S
    while True:
        worker.alive()
        text = worker.metrics()
        if done(text):
            return text
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(0.2)


def workdir_of(settings: Settings, scratch: Scratch) -> Path:
    """Where a measurement's logs go (and stay): ``var/bench/PREFIX``."""
    workdir = settings.stack.var_dir / "bench" / scratch.prefix
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


@contextlib.contextmanager
def running_worker(
    settings: Settings, scratch: Scratch, env: Mapping[str, str], console: Console
) -> Iterator[BenchWorker]:
    """A worker whose /metrics answers and whose group owns every partition."""
    workdir = workdir_of(settings, scratch)
    worker = BenchWorker(env, workdir)
    console.print(f"starting a worker ({scratch.prefix}), log {worker.log_path}")
    worker.start()
    try:
        wait_metrics([worker])
        wait_assigned(
            settings, scratch.group, scratch.events_topic, scratch.partitions, worker.alive
        )
        yield worker
    except BenchError:
        console.print(worker.log_tail(3000), markup=False)
        raise
    finally:
        worker.stop()
        shutil.rmtree(workdir / "data", ignore_errors=True)


@contextlib.contextmanager
def running_apis(
    scoped: Settings, scratch: Scratch, workdir: Path, count: int, key: str
) -> Iterator[list[tuple[ManagedProcess, str]]]:
    """``count`` ``interstore api`` daemons on this run's names, each on a free port, with the
    read key ``key``; each as (process, base URL)."""
    started: list[tuple[ManagedProcess, str]] = []
    try:
        for index in range(count):
            port = free_port()
            settings = scoped.model_copy(
                update={
                    "api": scoped.api.model_copy(update={"host": "127.0.0.1", "port": port}),
                    "stack": scoped.stack.model_copy(update={"var_dir": workdir / f"api-{index}"}),
                }
            )
            env = {
                **scratch.worker_env(),
                "INTERSTORE_API_KEYS": json.dumps({key: ["read:interactions"]}),
                "INTERSTORE_API_DEV_MODE": "false",
                "INTERSTORE_API_HOST": "127.0.0.1",
                "INTERSTORE_API_PORT": str(port),
            }
            started.append((api_process(settings), api_url(settings, "")))
            start_api(settings, env)
        yield started
    finally:
        for process, _ in started:
            process.stop()
