"""What the features worker does with a consumed batch, whichever consumer hands it over (the
batch host, ``streams.features.batch_host``, or the Faust app, ``streams.features.app``).

- ``user_batch`` (the events topic): user and user x category state are applied here; the
  events of other entities (product, category) go to the repartition topic through an
  ``Outbox``, each record carrying its source partition and offset. The batch is done once its
  states and serving values are in Redis and the broker took its repartition records.
- ``entity_batch`` (the repartition topic): product and category state.

A batch's side holds its lock (``locks["u"]``, ``locks["e"]``: the refresher takes the same
ones). While a store is unreachable, a batch waits and runs again (every step is idempotent:
fences and versioned writes). Acknowledging is the host's: ``streams.features.held_acks``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from core.clock import Clock, wall_clock_ms
from core.retry import RetryPolicy
from features.generation_gate import GatedUpdater
from features.updater import EntityBatch, UpdateReport
from schemas.codec import default_codec
from store.feature_state import FeatureStateUnavailable
from streams.features.metrics import FeatureMetrics, observe_all
from streams.features.records import decode_repartitioned, route
from streams.messages import RawMessage

log = logging.getLogger(__name__)
RETRY = RetryPolicy(initial_s=0.5, max_s=10.0)
"""While the feature state is unreachable, a batch waits 0.5 s, then twice as long, at most 10 s."""
Delivered = Callable[[], Awaitable[None]]
"""Returns once the broker took every record sent; raises if it did not."""


class Outbox(Protocol):
    """The repartition topic's producer."""

    async def send(self, records: Sequence[tuple[int, bytes, bytes]]) -> Delivered:
        """Send (partition, key, value) records; the delivery check of them all."""
        ...


class FeatureHandling:
    def __init__(
        self,
        updater: GatedUpdater,
        metrics: FeatureMetrics,
        partitions: int,
        clock: Clock = wall_clock_ms,
    ) -> None:
        """``partitions``: the repartition topic's."""
        self.updater = updater
        self.metrics = metrics
        self.partitions = partitions
        self.clock = clock
        self.codec = default_codec()
        self.locks = {"u": asyncio.Lock(), "e": asyncio.Lock()}
        """Per shard kind (its first letter), the lock its batches hold."""
        self._freshness: dict[str, Any] = {}  # group -> its freshness histogram

    async def user_batch(self, messages: Sequence[RawMessage], outbox: Outbox) -> None:
        """An events topic batch: local state applied, the other entities' events sent on."""
        routed = route(self.codec, self.updater.plans, messages, self.clock(), self.partitions)
        self.metrics.events.labels("bad").inc(routed.bad)
        self.metrics.events.labels("ignored").inc(routed.ignored)
        delivered = await outbox.send(routed.outgoing)
        await self._until_done(self.locks["u"], routed.local)
        await delivered()  # raises if the broker did not take them
        self.metrics.repartitioned.inc(len(routed.outgoing))
        self.metrics.consumed.labels("events").inc(len(messages))

    async def entity_batch(self, messages: Sequence[RawMessage]) -> None:
        """A repartition topic batch: product and category state applied."""
        await self._until_done(self.locks["e"], decode_repartitioned(messages))
        self.metrics.consumed.labels("entities").inc(len(messages))

    async def _until_done(self, lock: asyncio.Lock, batches: list[EntityBatch]) -> None:
        async def attempt() -> None:
            async with lock:
                self._record(await self.updater.apply(batches, self._visible))

        await RETRY.until_done(attempt, retry_on=(FeatureStateUnavailable,), on_retry=_log_retry)

    def _record(self, report: UpdateReport) -> None:
        events = self.metrics.events
        events.labels("applied").inc(report.applied)
        events.labels("duplicate").inc(report.duplicates)
        events.labels("late").inc(report.late)
        events.labels("forgotten").inc(report.forgotten)
        self.metrics.conflicts.inc(report.conflicts)
        self.metrics.reloaded.inc(report.reloaded)

    def _visible(self, report: UpdateReport) -> None:
        """Freshness: the values are in Redis now (the durable copy is written after). One
        observation per event and group, made per group for the whole batch (``observe_all``;
        each group's histogram looked up once: ``labels`` takes a lock and validates)."""
        now_ms = wall_clock_ms()
        times_of: dict[str, list[int]] = {}
        for group, times in report.visible:
            found = times_of.get(group)
            if found is None:
                times_of[group] = list(times)
            else:
                found += times
        histograms = self._freshness
        for group, times in times_of.items():
            histogram = histograms.get(group)
            if histogram is None:
                histogram = histograms[group] = self.metrics.freshness.labels(group)
            observe_all(histogram, [max(0.0, (now_ms - ts) / 1000) for ts in times])


async def check_definitions(updater: GatedUpdater, metrics: FeatureMetrics) -> None:
    """Warn (and set ``interstore_feature_groups_changed``) when the loaded definitions differ
    from the ones the current generation was built with: the worker will wait (its gate's
    ``GenerationMismatch``) until restarted with them, or until a rebuild switches to these."""
    try:
        generation, changed = await updater.changed_groups()
    except FeatureStateUnavailable as exc:
        log.warning("cannot compare the definitions with the current generation's: %s", exc)
        return
    metrics.changed_groups.set(len(changed or []))
    if changed:
        log.warning(
            "feature groups %s differ from the definitions generation %d was built with: this "
            "worker waits until restarted with that definitions file, or until `interstore "
            "features rebuild` (--groups with at least these) switches to these definitions",
            ", ".join(changed), generation,
        )  # fmt: skip


def _log_retry(exc: Exception, delay: float) -> None:
    log.warning("feature state unavailable, retrying in %.1fs: %s", delay, exc)
