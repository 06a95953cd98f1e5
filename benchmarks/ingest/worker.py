"""The worker under test in `bench ingest`: ``interstore worker`` subprocesses (``--workers N``:
N in one consumer group) with their own app id, web ports, data dirs, topics, keyspace and Redis
key prefix, exactly as users run them. ``INTERSTORE_WORKER_*`` and ``INTERSTORE_SESSION_*`` from
the environment apply, so settings can be tried from the command line; logs stay in
``var/bench/PREFIX/``. Its counts are the sums of the workers' /metrics."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.harness.processes import BenchWorker, wait_metrics
from benchmarks.harness.scratch import Scratch, delete_hot_keys
from benchmarks.ingest.consumer import Consumer, Counts
from core.settings import Settings
from deploy.scrape import metric_sum, metric_sums_by

ASSIGNMENT_TIMEOUT_S = 30.0

POLLED = (
    "interstore_events_consumed_total",
    "interstore_interactions_written_total",
    "interstore_interactions_flushed_total",
    "interstore_interactions_absorbed_total",
)
"""The samples ``counts`` reads (polled ten times a second: only these are exposed)."""


def stored_interactions(expositions: Sequence[str]) -> float:
    """Interactions in either tier: batch writes to cold (all cold writes minus the session
    flushes among them) plus those absorbed into live hot sessions."""
    written = sum(metric_sum(t, "interstore_interactions_written_total") for t in expositions)
    flushed = sum(metric_sum(t, "interstore_interactions_flushed_total") for t in expositions)
    absorbed = sum(metric_sum(t, "interstore_interactions_absorbed_total") for t in expositions)
    return written - flushed + absorbed


def hot_dirty_ids(settings: Settings, prefix: str, partitions: int) -> list[str]:
    """The event ids of the interactions dirty in live hot sessions (copies included)."""
    from store.redis_hot import RedisHotStore

    async def count() -> list[str]:
        hot = RedisHotStore(settings.redis, settings.session, settings.retention, prefix=prefix)
        try:
            sessions = await hot.sessions_of(range(partitions))
            users = [user for users in sessions.values() for user in users]
            dirty = await hot.dirty(users) if users else {}
            return [item.event_id for session in dirty.values() for item in session.interactions]
        finally:
            await hot.close()

    return asyncio.run(count())


class WorkerConsumer(Consumer):
    """``interstore worker`` subprocesses (one consumer group) on a scratch's names."""

    keeps_sessions = True

    def __init__(self, scratch: Scratch, workdir: Path, count: int = 1) -> None:
        env = scratch.worker_env()
        self.scratch, self.workdir = scratch, workdir
        self.workers = [BenchWorker(env, workdir, index) for index in range(count)]

    def start(self) -> None:
        self.pids = [worker.start() for worker in self.workers]

    def log_tail(self, chars: int = 3000) -> str:
        return "\n".join(f"== {w.log_path}\n{w.log_tail(chars)}" for w in self.workers)

    def alive(self) -> None:
        for worker in self.workers:
            worker.alive()

    def wait_ready(self) -> None:
        wait_metrics(self.workers)

    def assignment(self) -> dict[str, str]:
        """Each worker's partitions, once their ``/readyz`` cover the topic: a worker still
        running its on-assigned hand-over (rebalancing) answers none yet."""
        deadline = time.monotonic() + ASSIGNMENT_TIMEOUT_S
        while True:
            held = [sorted(worker.held_partitions()) for worker in self.workers]
            covered = {p for partitions in held for p in partitions}
            if len(covered) >= self.scratch.partitions or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        return {
            f"worker-{index}": ",".join(map(str, partitions))
            for index, partitions in enumerate(held)
        }

    def _metrics(self, names: Sequence[str] = ()) -> list[str]:
        return [worker.metrics(names) for worker in self.workers]

    def _sum(self, texts: Sequence[str], name: str) -> float:
        return sum(metric_sum(text, name) for text in texts)

    def counts(self) -> Counts:
        """Events consumed, and interactions stored: written to the cold tier by a batch, or
        absorbed into a live session in the hot tier (session flushes, which write absorbed
        interactions to cold later, are not counted twice)."""
        texts = self._metrics(POLLED)
        return Counts(
            int(self._sum(texts, "interstore_events_consumed_total")),
            int(stored_interactions(texts)),
        )

    def batch_stats(self) -> dict[str, Any]:
        texts = self._metrics()
        batches = self._sum(texts, "interstore_batch_size_count")
        writes = self._sum(texts, "interstore_cold_write_seconds_count")
        write_s = self._sum(texts, "interstore_cold_write_seconds_sum")
        mean_batch = self._sum(texts, "interstore_batch_size_sum") / batches if batches else 0.0
        return {
            "processes": len(self.workers),
            "batches": int(batches),
            "mean_batch_size": round(mean_batch, 1),
            "mean_cold_write_ms": round(1000 * write_s / writes, 1) if writes else 0.0,
            "cold_write_retries": int(self._sum(texts, "interstore_cold_write_retries_total")),
            "rows_written_to_cold": int(self._sum(texts, "interstore_interactions_written_total")),
            "absorbed_by_hot_sessions": int(
                self._sum(texts, "interstore_interactions_absorbed_total")
            ),
            "flushed_from_hot": int(self._sum(texts, "interstore_interactions_flushed_total")),
            "hydrations": int(self._sum(texts, "interstore_hydrations_total")),
            "stage_seconds": stage_seconds(texts),
        }

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def clean_up(self, settings: Settings) -> None:
        shutil.rmtree(self.workdir / "data", ignore_errors=True)  # the logs stay, for reading
        delete_hot_keys(settings, self.scratch.hot_prefix)


def stage_seconds(texts: Sequence[str]) -> dict[str, float]:
    """The sums of ``interstore_stage_seconds`` per stage over the run, over the processes:
    where the time went (per message for the stages the metric observes per message, such as
    fetch; per batch, slice or round for the others: see the metric's help)."""
    total = metric_sums_by(texts, "interstore_stage_seconds_sum", "stage")
    return {stage: round(seconds, 2) for stage, seconds in total.items()}
