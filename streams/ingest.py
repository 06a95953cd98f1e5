"""One batch of consumed messages: decode, validate, dead-letter the bad, write the good to cold.

The batch is done (and its offsets may be committed) only when this returns: every good
interaction is in the cold tier and every bad message is in the dead-letter topic. A cold tier
that is down is retried with backoff, holding the batch, for as long as it takes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from schemas.codec import Codec
from schemas.errors import SchemaError
from schemas.validation import DEFAULT_LIMITS, ValidationLimits, check_payload_size, validate
from store.cold import ColdStore
from store.errors import ColdStoreUnavailable, ColdWriteError
from store.interactions import Interaction
from streams.dead_letters import DeadLetter, DeadLetterSink
from streams.messages import RawMessage
from streams.metrics import WorkerMetrics

log = logging.getLogger(__name__)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial_s: float = 0.5
    max_s: float = 10.0


@dataclass(slots=True)
class Sorted:
    """A batch split by what happens to each message."""

    interactions: list[Interaction] = field(default_factory=list)
    sources: list[RawMessage] = field(default_factory=list)  # the message of each interaction
    sessions: list[tuple[RawMessage, dict[str, object]]] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


class IngestPipeline:
    def __init__(
        self,
        codec: Codec,
        cold: ColdStore,
        dead_letters: DeadLetterSink,
        metrics: WorkerMetrics,
        *,
        limits: ValidationLimits = DEFAULT_LIMITS,
        retry: RetryPolicy = RetryPolicy(),
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.codec = codec
        self.cold = cold
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.limits = limits
        self.retry = retry
        self.clock_ms = clock_ms

    def sort(self, messages: Sequence[RawMessage]) -> Sorted:
        """Decode and validate each message; never raises for a bad one."""
        now_ms = self.clock_ms()
        out = Sorted()
        kinds: Counter[str] = Counter()
        for message in messages:
            try:
                check_payload_size(message.value, self.limits)
                event = self.codec.decode(message.value)
                validate(event.kind, event.record, now_ms=now_ms, limits=self.limits)
            except SchemaError as exc:
                log.warning("dead letter %s key=%r: %s", message.where, message.key, exc)
                out.dead.append(DeadLetter(message, exc.reason or "invalid", str(exc)))
                continue
            kinds[event.kind] += 1
            if event.kind == "app_open":
                out.sessions.append((message, event.record))
            else:
                out.interactions.append(Interaction.from_record(event.kind, event.record))
                out.sources.append(message)
        for kind, count in kinds.items():
            self.metrics.consumed.labels(kind).inc(count)
        return out

    async def process(self, messages: Sequence[RawMessage]) -> Sorted:
        """Handle one batch completely; afterwards its offsets are safe to commit."""
        self.metrics.batch_size.observe(len(messages))
        batch = self.sort(messages)
        if batch.interactions:
            try:
                await self.write_until_done(batch.interactions)
            except ColdWriteError:
                batch.dead.extend(await self.write_one_by_one(batch))
        if batch.dead:
            await self.dead_letters.send_many(batch.dead)
            for letter in batch.dead:
                self.metrics.dead_lettered.labels(letter.reason).inc()
        return batch

    async def write_one_by_one(self, batch: Sorted) -> list[DeadLetter]:
        """After the cold tier refused a batch for good: find the rows it refuses, dead-letter
        those, and write the rest (each one still retried while the tier is unavailable)."""
        refused: list[DeadLetter] = []
        for interaction, message in zip(batch.interactions, batch.sources, strict=True):
            try:
                await self.write_until_done([interaction])
            except ColdWriteError as exc:
                log.error("cold tier refused %s key=%r: %s", message.where, message.key, exc)
                refused.append(DeadLetter(message, "cold_write_refused", str(exc)))
        return refused

    async def write_until_done(self, interactions: Sequence[Interaction]) -> None:
        """Write to cold, retrying with capped exponential backoff while it is unavailable."""
        delay = self.retry.initial_s
        while True:
            started = time.perf_counter()
            try:
                await self.cold.write_many(interactions)
            except ColdStoreUnavailable as exc:
                self.metrics.cold_write_retries.inc()
                log.warning(
                    "cold tier unavailable, retrying %d interactions in %.1fs: %s",
                    len(interactions), delay, exc,
                )  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry.max_s)
                continue
            self.metrics.cold_write_seconds.observe(time.perf_counter() - started)
            for kind, count in Counter(i.kind for i in interactions).items():
                self.metrics.written.labels(kind).inc(count)
            return
