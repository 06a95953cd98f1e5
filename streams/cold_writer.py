"""Writes interactions to the cold tier until they are written: the worker's one cold writer.

Used by batches (users not in a session), hydration fall-backs, session flushes and hot-tier
recoveries alike, so they share one retry policy and one set of metrics.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence

from store.cold import ColdStore
from store.errors import ColdStoreUnavailable
from store.interactions import Interaction
from streams.metrics import WorkerMetrics
from streams.retry import RetryPolicy

log = logging.getLogger(__name__)


class ColdWriter:
    def __init__(self, cold: ColdStore, metrics: WorkerMetrics, retry: RetryPolicy) -> None:
        self.cold = cold
        self.metrics = metrics
        self.retry = retry

    async def write_until_done(self, interactions: Sequence[Interaction]) -> None:
        """Write to cold, retrying with the retry policy while it is unavailable. ColdWriteError
        (a refusal that retrying cannot fix) is raised."""
        started = 0.0

        async def attempt() -> None:
            nonlocal started
            started = time.perf_counter()
            await self.cold.write_many(interactions)

        def retrying(exc: Exception, delay: float) -> None:
            self.metrics.cold_write_retries.inc()
            log.warning(
                "cold tier unavailable, retrying %d interactions in %.1fs: %s",
                len(interactions), delay, exc,
            )  # fmt: skip

        await self.retry.until_done(attempt, retry_on=(ColdStoreUnavailable,), on_retry=retrying)
        self.metrics.cold_write_seconds.observe(time.perf_counter() - started)
        for kind, count in Counter(i.kind for i in interactions).items():
            self.metrics.written.labels(kind).inc(count)

    def statements_sent(self) -> int:
        """Statements the cold store has sent so far (``ColdStore.statements_written``)."""
        return self.cold.statements_written
