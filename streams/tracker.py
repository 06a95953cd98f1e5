"""The inactivity tracker: flushes sessions that went idle or ran too long back to the cold tier.

Runs on every worker for the partitions it owns, under the same lock as batch processing, so a
flush never races with an append for the same user. A flush writes the session's dirty
interactions to the cold tier (retried until done), then evicts the user from the hot tier, then
advances the partition's watermark.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence

from store.hot import HotDataLost, HotStore
from streams.cold_writer import ColdWriter
from streams.hot_recovery import HotRecovery
from streams.metrics import WorkerMetrics
from streams.sessions import PartitionWatermarks

log = logging.getLogger(__name__)
FLUSH_BATCH = 500


class InactivityTracker:
    def __init__(
        self,
        hot: HotStore,
        writer: ColdWriter,
        watermarks: PartitionWatermarks,
        recovery: HotRecovery,
        metrics: WorkerMetrics,
        *,
        idle_ms: int,
        max_session_ms: int,
        clock_ms: Callable[[], int],
    ) -> None:
        self.hot = hot
        self.writer = writer
        self.watermarks = watermarks
        self.recovery = recovery
        self.metrics = metrics
        self.idle_ms = idle_ms
        self.max_session_ms = max_session_ms
        self.clock_ms = clock_ms

    async def tick(self, partitions: Iterable[int]) -> int:
        """Recover lost partitions, flush idle and over-long sessions; return sessions flushed."""
        owned = sorted(set(partitions))
        await self.recovery.ensure_intact(owned)
        now_ms = self.clock_ms()
        flushed = 0
        for partition in owned:
            while True:
                users = await self.hot.sessions_to_flush(
                    partition,
                    idle_before_ms=now_ms - self.idle_ms,
                    started_before_ms=now_ms - self.max_session_ms,
                    limit=FLUSH_BATCH,
                )
                if users:
                    flushed += await self.flush(partition, users, cause="inactive")
                if len(users) < FLUSH_BATCH:
                    break
        await self.advance_watermarks(owned)
        sessions = await self.hot.sessions_of(owned)
        self.metrics.live_sessions.set(sum(len(users) for users in sessions.values()))
        return flushed

    async def flush(
        self, partition: int, users: Sequence[str], *, cause: str, evict: bool = True
    ) -> int:
        """Write these sessions' dirty interactions to cold, then evict them (or, for a
        hand-over, only mark what was written clean). Returns how many sessions ended."""
        started = time.perf_counter()
        dirty = await self.hot.dirty(users)
        written = [item for session in dirty.values() for item in session.interactions]
        if written:
            sent = await self.writer.write_until_done(written)
            self.metrics.cold_write_statements.labels("flush").inc(sent)
        ended = await self.hot.release_flushed(partition, dirty, evict=evict)
        self.metrics.flushes.labels(cause).inc(len(users))
        for session in dirty.values():
            self.metrics.flush_size.observe(len(session.interactions))
        self.metrics.flushed.inc(len(written))
        self.metrics.flush_seconds.observe(time.perf_counter() - started)
        return len(ended) if evict else 0

    async def hand_over(self, partitions: Iterable[int]) -> None:
        """Before partitions are let go in a rebalance: everything dirty of their sessions goes
        to the cold tier and their watermarks advance, so whichever worker gets them next
        inherits live sessions with nothing at risk (the sessions stay live for it)."""
        owned = sorted(set(partitions))
        await self.recovery.ensure_intact(owned)
        for partition, users in (await self.hot.sessions_of(owned)).items():
            for start in range(0, len(users), FLUSH_BATCH):
                chunk = users[start : start + FLUSH_BATCH]
                await self.flush(partition, chunk, cause="rebalance", evict=False)
        await self.advance_watermarks(owned)

    async def advance_watermarks(self, partitions: Sequence[int]) -> None:
        try:
            lowest = await self.hot.min_dirty_offsets(partitions)
        except HotDataLost as lost:  # found between two checks: recover, then read again
            await self.recovery.ensure_intact(lost.partitions)
            lowest = await self.hot.min_dirty_offsets(partitions)
        for partition in partitions:
            await self.watermarks.advance(partition, lowest.get(partition))
