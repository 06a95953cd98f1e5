"""The worker's object graph, built by one factory (``build_worker``) that the Faust app and the
unit tests both use: the same wiring runs in production and under test.

The graph, from the stores up: a ``ColdWriter`` (the one retrying cold writer) and the
partitions' ``PartitionWatermarks``; the ``HotRecovery`` (with a Kafka ``PartitionReplayer``);
the ``SessionRouter`` and the ``IngestPipeline`` it routes for; the ``InactivityTracker``;
``EarlyHydration`` with its ``EarlyReads``; and the services the Faust app drives: the
``BatchRunner`` (each batch), the ``RebalanceHandOver`` (partitions assigned or revoked) and
``tick`` (the tracker's timer).
All of them share one lock, so none of these ever interleave.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from core.clock import wall_clock_ms
from core.retry import RetryPolicy
from core.settings import Settings
from schemas.codec import Codec, default_codec
from store.cold import ColdStore
from store.errors import ColdStoreUnavailable
from store.hot import HotStore, HotStoreUnavailable
from store.tombstones import TombstoneCache
from store.watermarks import WatermarkStore
from streams.batch_runner import BatchRunner
from streams.cold_writer import ColdWriter
from streams.dead_letters import DeadLetterSink
from streams.dirty_bound import DirtyBound
from streams.early_hydration import EarlyHydration
from streams.early_reads import EarlyReads
from streams.hot_recovery import HotRecovery, PartitionReplayer, Replayer
from streams.ingest import IngestPipeline
from streams.messages import RawMessage
from streams.metrics import WorkerMetrics
from streams.rebalance import RebalanceHandOver
from streams.sessions import HYDRATION_CONCURRENCY, PartitionWatermarks, SessionRouter
from streams.tracker import InactivityTracker

log = logging.getLogger(__name__)
Behind = Callable[[RawMessage], bool]


@dataclass(frozen=True, slots=True)
class WorkerStores:
    cold: ColdStore
    hot: HotStore
    watermarks: WatermarkStore
    tombstones: TombstoneCache = field(default_factory=lambda: TombstoneCache(None, refresh_s=1.0))
    """Forgotten users (``store.tombstones``); the default knows none."""


@dataclass(frozen=True, slots=True)
class WorkerServices:
    stores: WorkerStores
    metrics: WorkerMetrics
    lock: asyncio.Lock
    writer: ColdWriter
    watermarks: PartitionWatermarks
    recovery: HotRecovery
    router: SessionRouter
    pipeline: IngestPipeline
    tracker: InactivityTracker
    early: EarlyHydration
    batches: BatchRunner
    rebalance: RebalanceHandOver

    async def tick(self, partitions: Iterable[int]) -> None:
        """One inactivity-tracker tick over the owned partitions, under the worker lock. A store
        that is unavailable skips the tick (the next one retries)."""
        try:
            async with self.lock:
                await self.tracker.tick(partitions)
        except (HotStoreUnavailable, ColdStoreUnavailable) as exc:
            log.warning("inactivity tracker skipped a tick: %s", exc)


def build_worker(
    settings: Settings,
    stores: WorkerStores,
    metrics: WorkerMetrics,
    *,
    dead_letters: DeadLetterSink,
    codec: Codec | None = None,
    replayer: Replayer | None = None,
    behind: Behind | None = None,
    clock_ms: Callable[[], int] = wall_clock_ms,
) -> WorkerServices:
    """The worker's services over these stores. ``replayer`` defaults to reading the events
    topic from Kafka; ``behind`` (whether a partition's backlog fills the next batch at once)
    defaults to never."""
    codec = codec or default_codec()
    retry = RetryPolicy(settings.worker.retry_initial_s, settings.worker.retry_max_s)
    lock = asyncio.Lock()
    writer = ColdWriter(
        stores.cold,
        metrics,
        retry,
        replica_failure_attempts=settings.worker.replica_failure_attempts,
    )
    topic = settings.topics.events
    watermarks = PartitionWatermarks(settings.worker.app_id, topic, stores.watermarks)
    if replayer is None:
        replayer = PartitionReplayer(
            settings.kafka, topic, codec, writer.write_until_done, clock_ms=clock_ms,
            metrics=metrics, tombstones=stores.tombstones,
        )  # fmt: skip
    recovery = HotRecovery(stores.hot, watermarks, replayer, metrics)
    tracker = InactivityTracker(
        stores.hot,
        writer,
        watermarks,
        recovery,
        metrics,
        idle_ms=int(settings.session.idle_s * 1000),
        max_session_ms=int(settings.session.max_session_s * 1000),
        clock_ms=clock_ms,
    )
    reads = EarlyReads(
        partial(stores.cold.hydration_members, limit=settings.session.last_n_per_kind),
        writer.written_since,
        metrics,
        concurrency=HYDRATION_CONCURRENCY,
    )
    router = SessionRouter(
        stores.hot,
        writer,
        watermarks,
        metrics,
        clock_ms=clock_ms,
        reads=reads,
        dirty_bound=DirtyBound(settings.session.max_dirty_items, settings.session.max_dirty_bytes),
        flush_early=partial(tracker.flush, cause="dirty_bound", evict=False),
    )
    pipeline = IngestPipeline(
        codec, writer, router, dead_letters, metrics, clock_ms=clock_ms,
        tombstones=stores.tombstones,
    )  # fmt: skip
    early = EarlyHydration(
        pipeline, router, recovery.ensure_intact, lock, behind=behind or (lambda _: False)
    )
    return WorkerServices(
        stores=stores,
        metrics=metrics,
        lock=lock,
        writer=writer,
        watermarks=watermarks,
        recovery=recovery,
        router=router,
        pipeline=pipeline,
        tracker=tracker,
        early=early,
        batches=BatchRunner(lock, recovery, pipeline, early, retry),
        rebalance=RebalanceHandOver(lock, watermarks, early, tracker),
    )
