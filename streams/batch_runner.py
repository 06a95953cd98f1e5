"""The batch protocol: what the worker does with each batch the agent takes, in this order.

1. take the worker lock (batches, tracker ticks, rebalance hand-overs and early hydrations never
   interleave: a flush cannot race with an append for the same user);
2. make sure the hot tier holds the batch's partitions intact (``HotRecovery.ensure_intact``:
   a partition whose data was lost is replayed into the cold tier first);
3. process the batch (``IngestPipeline.process``: cold writes, hydrations, hot appends, dead
   letters);
4. mark its messages handled (``EarlyHydration.handled``: no longer in flight);
5. release the lock and ack the batch's offsets.

While a store is unavailable (HotStoreUnavailable, ColdStoreUnavailable) the whole attempt,
steps 1-4, waits (the worker's ``RetryPolicy``) and runs again: every step is idempotent, and
the batch stays unacked meanwhile. Any other error is raised before step 4 and 5: nothing is
acked, and the worker stops (see ``streams.app``) so the next start resumes from the last
committed offset.
"""

from __future__ import annotations

import asyncio
import logging
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
    ) -> None:
        self.lock = lock
        self.recovery = recovery
        self.pipeline = pipeline
        self.early = early
        self.retry = retry

    async def run(self, messages: Sequence[RawMessage], ack: Ack) -> None:
        """Steps 1-5 of the protocol, retrying 1-4 while a store is unavailable."""
        await self.retry.until_done(
            lambda: self._attempt(messages), retry_on=TRANSIENT, on_retry=_log_retry
        )
        await ack()

    async def _attempt(self, messages: Sequence[RawMessage]) -> None:
        async with self.lock:
            await self.recovery.ensure_intact({m.partition for m in messages})
            await self.pipeline.process(messages)
            self.early.handled(messages)


def _log_retry(exc: Exception, delay: float) -> None:
    log.warning("store unavailable, retrying the batch in %.1fs: %s", delay, exc)
