"""``interstore replay``: read a range of the events topic into the cold tier, fast and safely.

Its own consumer group (never the live worker's), confluent-kafka batch consumption, the
worker's intake rules (``schemas.intake``), idempotent writes through the cold store at high
concurrency, tombstones honoured, retention respected (``ops.replay_batch``). Batches are
pipelined: while one batch is written, the next is consumed and judged; with ``--rate`` (small
batches, a tenth of a second's events) up to ``RATED_IN_FLIGHT`` batches' rows are written at
once, so the cold tier's latency per batch does not bound the rate. A batch's features, dead
letters and checkpoint (its offsets committed to the group) come only after its rows are
confirmed and after the batch before it was checkpointed, in order, so a rerun after a crash
resumes at a batch boundary and rewrites at most the in-flight batches' rows, which are
idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from core.clock import Clock, wall_clock_ms
from core.errors import InterstoreError
from core.retry import RetryPolicy
from core.settings import Settings
from ops.features_sink import FeatureSink
from ops.rate import TokenBucket
from ops.replay_batch import COUNTS, BatchJudge, Judged
from ops.replay_plan import PartitionRange
from ops.replay_progress import ReplayProgress
from store.cold import ColdStore
from store.errors import ColdStoreUnavailable, ColdWriteError
from store.tombstones import TombstoneCache

log = logging.getLogger("interstore.replay")
RETRY = RetryPolicy()
"""While the cold tier is unavailable: the workers' backoff (0.5 s doubling to 10 s, for ever)."""
IDLE_POLL_S = 0.2
RATED_IN_FLIGHT = 4


class ReplayError(InterstoreError):
    """The replay could not go on (Kafka refused a commit or a dead letter)."""


@dataclass
class ReplaySummary:
    group: str
    counts: dict[str, Counter[str]] = field(default_factory=lambda: {c: Counter() for c in COUNTS})
    offsets: int = 0
    elapsed_s: float = 0.0
    features: dict[str, int] | None = None
    """With the features target: events applied, duplicates, late, forgotten."""

    def add(self, batch: Judged) -> None:
        for name, counter in batch.counts.items():
            self.counts[name].update(counter)
        self.offsets += sum(batch.advanced.values())

    @property
    def events_per_s(self) -> float:
        return self.offsets / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def per_kind(self) -> dict[str, dict[str, int]]:
        kinds = sorted({k for counter in self.counts.values() for k in counter})
        return {kind: {name: self.counts[name][kind] for name in COUNTS} for kind in kinds}

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group, "offsets": self.offsets, "elapsed_s": round(self.elapsed_s, 3),
            "events_per_s": round(self.events_per_s, 1), "kinds": self.per_kind(),
            "features": self.features,
        }  # fmt: skip


class Replay:
    """One run over planned ranges (see ``ops.replay_factory`` for how it is built)."""

    def __init__(
        self,
        settings: Settings,
        cold: ColdStore | None,
        judge: BatchJudge,
        tombstones: TombstoneCache,
        *,
        dead_letters: Producer | None,
        rate: float | None = None,
        clock: Clock = wall_clock_ms,
        features: FeatureSink | None = None,
        retry: RetryPolicy = RETRY,
    ) -> None:
        """``cold``, ``features``: the targets (None: not this one); ``retry``: how long to wait
        while the cold tier is unavailable."""
        self.settings = settings
        self.retry = retry
        self.cold = cold
        self.features = features
        self.judge = judge
        self.tombstones = tombstones
        self.dead_letters = dead_letters
        self.batch_max = settings.ops.replay_batch_max
        self.bucket = None
        self.in_flight = 1
        if rate is not None:
            # Batches of a tenth of a second's events keep the pace even; several in flight
            # keep the cold tier's latency per batch from bounding the rate.
            self.in_flight = RATED_IN_FLIGHT
            self.batch_max = max(1, min(self.batch_max, int(rate / 10)))
            # The bucket starts empty at the first batch, so the replay never runs ahead of
            # the rate; half a second of tokens may build up while a batch is written (or the
            # box stalls), so a short stall is caught up and the average holds the rate.
            self.bucket = TokenBucket(rate, burst=max(2 * self.batch_max, rate / 2))
        self.clock = clock

    async def run(
        self, consumer: Consumer, ranges: Sequence[PartitionRange], group: str,
        progress: ReplayProgress,
    ) -> ReplaySummary:  # fmt: skip
        summary = ReplaySummary(group)
        started = time.monotonic()
        first_message_at: float | None = None
        every = {(r.topic, r.partition): r for r in ranges}
        active = {tp: r for tp, r in every.items() if r.remaining > 0}
        ends = {tp: r.end for tp, r in active.items()}
        positions = {tp: r.position for tp, r in active.items()}
        if active:  # pin the ranges in the group before reading (a rerun finds them)
            await self._commit(consumer, [r.checkpoint(r.position) for r in active.values()])
            consumer.assign([TopicPartition(t, p, positions[(t, p)]) for t, p in active])
        pending: deque[asyncio.Task[None]] = deque()  # oldest first
        try:
            while active:
                await self.tombstones.refresh_if_due()
                messages = await asyncio.to_thread(consumer.consume, self.batch_max, IDLE_POLL_S)
                messages = _good(messages)
                if messages and first_message_at is None:
                    first_message_at = time.monotonic()  # the rate counts from the first read
                batch = await self.judge.judge(messages, ends, positions, self.clock())
                if not messages:
                    self._note_gaps(consumer, active, positions, batch)
                if self.bucket is not None and messages:
                    await self.bucket.take(len(messages))
                if len(pending) >= self.in_flight:
                    await pending.popleft()
                before = pending[-1] if pending else None
                pending.append(
                    asyncio.create_task(
                        self._finish(consumer, batch, every, progress, summary, before)
                    )
                )
                for tp in [tp for tp in active if positions[tp] >= ends[tp]]:
                    consumer.pause([TopicPartition(*tp)])
                    del active[tp]
            while pending:
                await pending.popleft()
        finally:
            for task in pending:
                task.cancel()
            if self.features is not None:
                await self.features.close()
        summary.elapsed_s = time.monotonic() - (first_message_at or started)
        if self.features is not None:
            summary.features = asdict(self.features.counts)
        return summary

    def _note_gaps(
        self, consumer: Consumer, active: dict[tuple[str, int], PartitionRange],
        positions: dict[tuple[str, int], int], batch: Judged,
    ) -> None:  # fmt: skip
        """Nothing came: a partition whose consumer position passed its end (its last offsets
        were transaction markers or compacted away) is done."""
        for tp in consumer.position([TopicPartition(*tp) for tp in active]):
            key = (tp.topic, tp.partition)
            if tp.offset >= 0 and tp.offset > positions[key]:
                reached = min(tp.offset, active[key].end)
                batch.advanced[key] += reached - positions[key]
                positions[key] = batch.next_offsets[key] = reached

    async def _finish(
        self, consumer: Consumer, batch: Judged, ranges: dict[tuple[str, int], PartitionRange],
        progress: ReplayProgress, summary: ReplaySummary, before: asyncio.Task[None] | None,
    ) -> None:  # fmt: skip
        """Write one batch's rows, then (once ``before``, the batch before it, is checkpointed)
        its features and dead letters, then checkpoint it."""
        written = await self._write(batch)
        batch.counts["written"].update(written)
        if before is not None:
            await before
        if self.features is not None:
            await self.features.write(batch.feature_events)
        if batch.letters and self.dead_letters is not None:
            await asyncio.to_thread(self._send_letters, batch)
        checkpoints = [ranges[tp].checkpoint(offset) for tp, offset in batch.next_offsets.items()]
        if checkpoints:
            await self._commit(consumer, checkpoints)
        progress.advance(dict(batch.advanced))
        summary.add(batch)

    async def _write(self, batch: Judged) -> Counter[str]:
        """Write the batch's rows, retrying while the cold tier is unavailable; rows it refuses
        for good are counted as dead letters (reason ``cold_write_refused``)."""
        rows = batch.interactions
        if not rows or self.cold is None:
            return Counter()
        try:
            await self._write_until_done(rows)
            return Counter(item.kind for item in rows)
        except ColdWriteError:
            written: Counter[str] = Counter()
            for item in rows:
                try:
                    await self._write_until_done([item])
                    written[item.kind] += 1
                except ColdWriteError as exc:
                    log.error("cold tier refused event %r: %s", item.event_id, exc)
                    batch.counts["dead_lettered"][item.kind] += 1
            return written

    async def _write_until_done(self, rows: Sequence[Any]) -> None:
        assert self.cold is not None
        cold = self.cold

        def retrying(exc: Exception, delay: float) -> None:
            log.warning("cold tier unavailable, retrying in %.1fs: %s", delay, exc)

        await self.retry.until_done(
            lambda: cold.write_many(rows), retry_on=(ColdStoreUnavailable,), on_retry=retrying
        )

    def _send_letters(self, batch: Judged) -> None:
        assert self.dead_letters is not None
        failures: list[KafkaError] = []

        def delivered(error: KafkaError | None, _: Any) -> None:
            if error is not None:
                failures.append(error)

        for letter in batch.letters:
            self.dead_letters.produce(
                letter.topic,
                letter.value,
                letter.key,
                headers=letter.headers,
                on_delivery=delivered,
            )
        if self.dead_letters.flush(60) or failures:
            raise ReplayError(f"dead letters not delivered: {failures[:3] or 'flush timed out'}")

    async def _commit(self, consumer: Consumer, offsets: list[TopicPartition]) -> None:
        try:
            await asyncio.to_thread(consumer.commit, offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            raise ReplayError(f"cannot checkpoint the replay in Kafka: {exc}") from exc


def _good(messages: Sequence[Any]) -> list[Any]:
    """The messages without end-of-partition events; any other error stops the replay."""
    good = []
    for message in messages:
        error = message.error()
        if error is None:
            good.append(message)
        elif error.code() != KafkaError._PARTITION_EOF:
            raise ReplayError(f"consuming failed: {error}")
    return good
