"""Builds the session machinery of one worker: router, recovery and tracker share state."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from core.settings import Settings
from schemas.codec import Codec
from store.hot import HotStore
from store.watermarks import WatermarkStore
from streams.dirty_bound import DirtyBound
from streams.hot_recovery import HotRecovery, PartitionReplayer
from streams.ingest import IngestPipeline
from streams.sessions import PartitionWatermarks, SessionRouter
from streams.tracker import InactivityTracker


@dataclass(frozen=True, slots=True)
class Sessions:
    router: SessionRouter
    recovery: HotRecovery
    tracker: InactivityTracker
    watermarks: PartitionWatermarks


def build_sessions(
    settings: Settings,
    codec: Codec,
    hot: HotStore,
    watermark_store: WatermarkStore,
    pipeline: IngestPipeline,
) -> Sessions:
    """Wire the hot tier into ``pipeline`` (which then routes live users' interactions)."""
    session = settings.session
    watermarks = PartitionWatermarks(
        settings.worker.app_id, settings.topics.events, watermark_store
    )
    replayer = PartitionReplayer(
        settings.kafka,
        settings.topics.events,
        codec,
        pipeline.write_until_done,
        clock_ms=pipeline.clock_ms,
        limits=pipeline.limits,
        metrics=pipeline.metrics,
    )
    recovery = HotRecovery(hot, watermarks, replayer, pipeline.metrics)
    tracker = InactivityTracker(
        hot,
        pipeline.write_until_done,
        watermarks,
        recovery,
        pipeline.metrics,
        idle_ms=int(session.idle_s * 1000),
        max_session_ms=int(session.max_session_s * 1000),
        clock_ms=pipeline.clock_ms,
    )
    router = SessionRouter(
        hot,
        pipeline.cold,
        watermarks,
        pipeline.metrics,
        last_n=session.last_n_per_kind,
        clock_ms=pipeline.clock_ms,
        write_cold=pipeline.write_until_done,
        dirty_bound=DirtyBound(session.max_dirty_items, session.max_dirty_bytes),
        flush_early=partial(tracker.flush, cause="dirty_bound", evict=False),
    )
    pipeline.sessions = router
    return Sessions(router, recovery, tracker, watermarks)
