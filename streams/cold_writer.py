"""Writes interactions to the cold tier until they are written: the worker's one cold writer.

Used by batches (users not in a session), hydration fall-backs, session flushes and hot-tier
recoveries alike, so they share one retry policy and one set of metrics, and every cold write
of the worker is seen by its ``WrittenSince`` (early hydrations read outside the worker lock).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence

from core.retry import RetryPolicy
from store.cold import ColdStore
from store.errors import ColdReplicaFailure, ColdStoreUnavailable, ColdWriteError
from store.interactions import Interaction
from streams.metrics import WorkerMetrics

log = logging.getLogger(__name__)


class WrittenSince:
    """Users whose cold reads run outside the worker lock (early hydrations' reads), each with
    whether a cold write of that user finished since its read was started: the read may have
    missed that write, so it is read again under the lock."""

    def __init__(self) -> None:
        self._users: dict[str, bool] = {}

    def watch(self, user: str) -> None:
        """Before ``user``'s read is sent."""
        self._users[user] = False

    def noted(self, interactions: Sequence[Interaction]) -> None:
        """A write of these interactions finished (or failed part-way)."""
        if self._users:
            for item in interactions:
                if item.user_id in self._users:
                    self._users[item.user_id] = True

    def release(self, user: str) -> bool:
        """Stop watching ``user``: True if a write of theirs finished since ``watch``."""
        return self._users.pop(user, False)


class ColdWriter:
    def __init__(
        self,
        cold: ColdStore,
        metrics: WorkerMetrics,
        retry: RetryPolicy,
        *,
        replica_failure_attempts: int = 5,
    ) -> None:
        self.written_since = WrittenSince()
        self.cold = cold
        self.metrics = metrics
        self.retry = retry
        self.replica_failure_attempts = replica_failure_attempts
        """Attempts of a write that replicas answer with a failure before it is refused."""

    async def write_until_done(self, interactions: Sequence[Interaction]) -> int:
        """Write to cold, retrying with the retry policy while it is unavailable; return the
        statements its successful attempt sent (its own count, whatever other writes run
        meanwhile). ColdWriteError (a refusal that retrying cannot fix) is raised, and so is a
        write replicas failed (``ColdReplicaFailure``) ``replica_failure_attempts`` times: it
        may pass on a retry, but retrying it for ever would hold the batch for ever."""
        started = 0.0
        failures = 0

        async def attempt() -> int:
            nonlocal started, failures
            started = time.perf_counter()
            try:
                return await self.cold.write_many(interactions)
            except ColdReplicaFailure as exc:
                failures += 1
                if failures >= self.replica_failure_attempts:
                    raise ColdWriteError(f"refused after {failures} attempts: {exc}") from exc
                raise

        def retrying(exc: Exception, delay: float) -> None:
            self.metrics.cold_write_retries.inc()
            log.warning(
                "cold tier unavailable or failing, retrying %d interactions in %.1fs: %s",
                len(interactions), delay, exc,
            )  # fmt: skip

        retry_on = (ColdStoreUnavailable, ColdReplicaFailure)
        try:
            statements = await self.retry.until_done(attempt, retry_on=retry_on, on_retry=retrying)
        finally:  # a write refused part-way may have stored some rows too
            self.written_since.noted(interactions)
        self.metrics.cold_write_seconds.observe(time.perf_counter() - started)
        for kind, count in Counter(i.kind for i in interactions).items():
            self.metrics.written.labels(kind).inc(count)
        return statements
