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
from typing import Any, Protocol

from core.clock import wall_clock_ms
from schemas.codec import Codec
from schemas.errors import InvalidEvent, SchemaError
from schemas.validation import DEFAULT_LIMITS, ValidationLimits, check_payload_size, validate
from store.cold import ColdStore
from store.errors import ColdReplicaFailure, ColdStoreUnavailable, ColdWriteError
from store.interactions import Interaction
from streams.dead_letters import DeadLetter, DeadLetterSink
from streams.messages import RawMessage
from streams.metrics import WorkerMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial_s: float = 0.5
    max_s: float = 10.0
    replica_failure_attempts: int = 5
    """Attempts of a write that replicas answer with a failure before its rows are refused."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid event, where it came from, and (for interactions) what the stores keep of it."""

    message: RawMessage
    kind: str
    user_id: str
    interaction: Interaction | None  # None for an app_open


@dataclass(slots=True)
class Sorted:
    """A batch split into valid events (in consumption order) and dead letters."""

    accepted: list[Accepted] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


class SessionRouting(Protocol):
    """What the hot tier does with a batch (streams.sessions implements it)."""

    async def split(self, accepted: Sequence[Accepted]) -> tuple[list[Accepted], Any]:
        """Which interactions go straight to cold, and a plan for the rest."""

    async def apply(self, plan: Any) -> None:
        """After the cold part is written: hydrate, append to live sessions, refresh."""


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
        sessions: SessionRouting | None = None,
    ) -> None:
        self.sessions = sessions
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
                accepted = self.check(message, now_ms)
            except SchemaError as exc:
                log.warning("dead letter %s key=%r: %s", message.where, message.key, exc)
                out.dead.append(DeadLetter(message, exc.reason or "invalid", str(exc)))
                continue
            kinds[accepted.kind] += 1
            out.accepted.append(accepted)
        for kind, count in kinds.items():
            self.metrics.consumed.labels(kind).inc(count)
        return out

    def check(self, message: RawMessage, now_ms: int) -> Accepted:
        """Decode and validate one message; SchemaError (with its reason) if it is bad: a
        tombstone or empty value (``empty_value``) and a record without a key (``missing_key``:
        the topic's per-user order rests on the key) have their own reasons."""
        if not message.value:
            raise InvalidEvent("empty_value", "the record has no value (a tombstone or empty)")
        if message.key is None:
            raise InvalidEvent("missing_key", "the record has no key (the user id is the key)")
        check_payload_size(message.value, self.limits)
        event = self.codec.decode(message.value)
        validate(event.kind, event.record, now_ms=now_ms, limits=self.limits)
        interaction = (
            None if event.kind == "app_open" else Interaction.from_record(event.kind, event.record)
        )
        return Accepted(message, event.kind, event.record["user_id"], interaction)

    async def process(self, messages: Sequence[RawMessage]) -> Sorted:
        """Handle one batch completely; afterwards its offsets are safe to commit."""
        self.metrics.batch_size.observe(len(messages))
        batch = self.sort(messages)
        if self.sessions is None:
            to_cold, plan = [a for a in batch.accepted if a.interaction is not None], None
        else:
            to_cold, plan = await self.sessions.split(batch.accepted)
        batch.dead.extend(await self.write_cold(to_cold))
        if self.sessions is not None:
            await self.sessions.apply(plan)
        if batch.dead:
            await self.dead_letters.send_many(batch.dead)
            for letter in batch.dead:
                self.metrics.dead_lettered.labels(letter.reason).inc()
        return batch

    async def write_cold(self, accepted: Sequence[Accepted]) -> list[DeadLetter]:
        """Write these interactions to cold; return dead letters for rows it refuses for good."""
        if not accepted:
            return []
        try:
            await self.write_until_done([a.interaction for a in accepted if a.interaction])
        except ColdWriteError:
            return await self.write_one_by_one(accepted)
        return []

    async def write_one_by_one(self, accepted: Sequence[Accepted]) -> list[DeadLetter]:
        """After the cold tier refused a batch for good: find the rows it refuses, dead-letter
        those, and write the rest (each one still retried while the tier is unavailable)."""
        refused: list[DeadLetter] = []
        for item in accepted:
            if item.interaction is None:
                continue
            try:
                await self.write_until_done([item.interaction])
            except ColdWriteError as exc:
                where, key = item.message.where, item.message.key
                log.error("cold tier refused %s key=%r: %s", where, key, exc)
                refused.append(DeadLetter(item.message, "cold_write_refused", str(exc)))
        return refused

    async def write_until_done(self, interactions: Sequence[Interaction]) -> None:
        """Write to cold, retrying with capped exponential backoff while it is unavailable; a
        replica failure is retried ``replica_failure_attempts`` times, then ColdWriteError."""
        delay = self.retry.initial_s
        failures = 0
        while True:
            started = time.perf_counter()
            try:
                await self.cold.write_many(interactions)
            except ColdReplicaFailure as exc:
                failures += 1
                if failures >= self.retry.replica_failure_attempts:
                    raise ColdWriteError(f"refused after {failures} attempts: {exc}") from exc
                self.metrics.cold_write_retries.inc()
                log.warning("cold tier replicas failed a write (attempt %d): %s", failures, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry.max_s)
                continue
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
