"""The batch protocol: what the worker does with each batch the agent takes, in this order.

1. take the worker lock (batches, tracker ticks, rebalance hand-overs and early hydrations never
   interleave: a flush cannot race with an append for the same user);
2. make sure the hot tier holds the batch's partitions intact (``HotRecovery.ensure_intact``:
   a partition whose data was lost is replayed into the cold tier first);
3. process the batch (``IngestPipeline.process``: cold writes, hydrations, hot appends, dead
   letters);
4. mark its messages handled (``EarlyHydration.handled``: no longer in flight);
5. release the lock and ack the batch's offsets.

Steps 1-4 run per slice of the batch: the whole batch at once, except while early hydration
has app_opens waiting for the lock. Then a slice is at most ``slice_max`` messages and the lock
is released between slices (first come, first served: a waiting hydration round goes next), so
a hydration waits behind at most one slice, or behind the rest of a batch that was started
before the app_open was queued. Slices cost throughput (each slice's cold writes are a round
trip of their own): a batch is not sliced merely because the look-ahead reads a partition that
is behind, as the worker's backlog is exactly when the throughput is needed. The batch is acked
once, after its last slice.

While a store is unavailable (HotStoreUnavailable, ColdStoreUnavailable) the slice's attempt,
steps 1-4, waits (the worker's ``RetryPolicy``) and runs again: every step is idempotent, and
the batch stays unacked meanwhile. Any other error is raised before step 4 and 5: nothing is
acked, and the worker stops (see ``streams.app``) so the next start resumes from the last
committed offset.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from store.errors import ColdStoreUnavailable
from store.hot import HotStoreUnavailable
from streams.early_hydration import EarlyHydration
from streams.hot_recovery import HotRecovery
from streams.ingest import IngestPipeline
from streams.messages import RawMessage
from streams.retry import RetryPolicy

log = logging.getLogger(__name__)
Ack = Callable[[], Awaitable[None]]
"""Acks a batch's events (in offset order)."""
TRANSIENT = (HotStoreUnavailable, ColdStoreUnavailable)


class BatchRunner:
    def __init__(
        self,
        lock: asyncio.Lock,
        recovery: HotRecovery,
        pipeline: IngestPipeline,
        early: EarlyHydration,
        retry: RetryPolicy,
        *,
        slice_max: int = 250,
    ) -> None:
        self.slice_max = slice_max
        self.lock = lock
        self.recovery = recovery
        self.pipeline = pipeline
        self.early = early
        self.retry = retry

    async def run(self, messages: Sequence[RawMessage], ack: Ack) -> None:
        """Steps 1-5 of the protocol, retrying 1-4 while a store is unavailable."""
        stage = self.pipeline.metrics.stage_seconds
        consumed = [m.consumed_s for m in messages if m.consumed_s is not None]
        if consumed:
            stage.labels("batch_wait").observe(max(0.0, time.monotonic() - min(consumed)))
        rest = list(messages)
        while rest:
            size = self.slice_max if self.early.queued else len(rest)
            piece, rest = rest[:size], rest[size:]
            await self.retry.until_done(
                lambda piece=piece: self._attempt(piece),  # type: ignore[misc]
                retry_on=TRANSIENT,
                on_retry=_log_retry,
            )
        acking = time.monotonic()
        await ack()
        stage.labels("ack").observe(time.monotonic() - acking)

    async def _attempt(self, messages: Sequence[RawMessage]) -> None:
        waiting = time.monotonic()
        async with self.lock:
            self.pipeline.metrics.stage_seconds.labels("lock_wait").observe(
                time.monotonic() - waiting
            )
            await self.recovery.ensure_intact({m.partition for m in messages})
            await self.pipeline.process(messages)
            self.early.handled(messages)


def _log_retry(exc: Exception, delay: float) -> None:
    log.warning("store unavailable, retrying the batch in %.1fs: %s", delay, exc)
