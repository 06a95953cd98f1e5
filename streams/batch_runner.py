"""The batch protocol: what the worker does with each batch the agent takes, in this order.

1. take the worker lock (batches, tracker ticks, rebalance hand-overs and early hydrations never
   interleave: a flush cannot race with an append for the same user);
2. make sure the hot tier holds the batch's partitions intact (``HotRecovery.ensure_intact``:
   a partition whose data was lost is replayed into the cold tier first);
3. route the batch (``IngestPipeline.route``: decode, validate, the live check that splits it
   between the cold tier and the live sessions), then release the lock; a message early
   hydration checked already is not checked again (``EarlyHydration.checked``);
4. write the interactions of users not live to the cold tier (``IngestPipeline.write``), with
   the lock free: an early hydration round or a tracker tick may run meanwhile;
5. take the lock again; the hot tier's part (``IngestPipeline.finish``: hydrations, appends to
   live sessions, dead letters); mark the batch's messages handled (``EarlyHydration.handled``:
   no longer in flight); release the lock and ack the batch's offsets.

Why step 4 may run without the lock (it is the longest step: tens to hundreds of ms on a busy
box, which every early hydration used to wait behind):
- a round that hydrates a user meanwhile adds the user's messages seen and not handled, these
  included, to the view (``EarlyHydration``): the view is complete whether or not the write
  has finished, and the batch's rows land in the cold tier as well, where a session view
  belongs; a round's cold read that the write overtakes is marked stale and read again
  (``ColdWriter``'s ``WrittenSince``);
- if that user's app_open is in the batch too, step 5 hydrates it again: the hydrate script
  on a live session merges the views and keeps its start and its dirty set (idempotent);
- a tracker tick that flushes or evicts a session the batch routed to the hot tier leaves the
  batch's append to find it gone, and what is not appended is written to the cold tier
  (``SessionRouter.apply``), as for a session that expired;
- the next batch waits for this one (the consumer runs one batch at a time), and a revocation
  waits for the batch in flight.

Steps 1-5 run once per batch, whatever its size: the lock is held for route (decoding what
early hydration has not checked, one live check) and finish (the hydrations left to the batch,
appends, dead letters) and is free for the cold write, so an early hydration round waits behind
one route or finish step and runs during the cold write. Finish is short unless the batch
carries app_opens that no round has hydrated yet: a batch that is behind (800-900 messages)
hydrates ~40 users in one pipeline, up to ~0.3 s of the lock on this box. A batch is not cut
into slices that each take the lock: every slice would be a cold write of its own, one after
the other, and at 50 app-opens/s the worker fell behind on them (docs/DESIGN.md, section 15).

While a store is unavailable (HotStoreUnavailable, ColdStoreUnavailable) the batch's attempt,
steps 1-5 but the ack, waits (the worker's ``RetryPolicy``) and runs again: every step is
idempotent, and the batch stays unacked meanwhile. Any other error is raised before the ack:
nothing is acked, and the worker stops (see ``streams.app``) so the next start resumes from the last
committed offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence

from core.retry import RetryPolicy
from store.errors import ColdStoreUnavailable
from store.hot import HotStoreUnavailable
from streams.batch_handlers import Ack
from streams.early_hydration import EarlyHydration
from streams.hot_recovery import HotRecovery
from streams.ingest import IngestPipeline
from streams.messages import RawMessage

log = logging.getLogger(__name__)
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
        stage = self.pipeline.metrics.stage_seconds
        consumed = [m.consumed_s for m in messages if m.consumed_s is not None]
        if consumed:
            stage.labels("batch_wait").observe(max(0.0, time.monotonic() - min(consumed)))
        await self.retry.until_done(
            lambda: self._attempt(messages), retry_on=TRANSIENT, on_retry=_log_retry
        )
        acking = time.monotonic()
        await ack()
        stage.labels("ack").observe(time.monotonic() - acking)

    async def _attempt(self, messages: Sequence[RawMessage]) -> None:
        async with self._locked():
            await self.recovery.ensure_intact({m.partition for m in messages})
            routed = await self.pipeline.route(messages, self.early.checked)
        await self.pipeline.write(routed)  # the lock is free meanwhile: see the module's doc
        async with self._locked():
            await self.pipeline.finish(routed)
            self.early.handled(messages)

    @contextlib.asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        waiting = time.monotonic()
        async with self.lock:
            self.pipeline.metrics.stage_seconds.labels("lock_wait").observe(
                time.monotonic() - waiting
            )
            yield


def _log_retry(exc: Exception, delay: float) -> None:
    log.warning("store unavailable, retrying the batch in %.1fs: %s", delay, exc)
