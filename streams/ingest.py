"""One batch of consumed messages: decode, validate, dead-letter the bad, write the good to cold.

The batch is done (and its offsets may be committed) only when this returns: every good
interaction is in the cold tier and every bad message is in the dead-letter topic. A cold tier
that is down is retried with backoff (``ColdWriter``), holding the batch, for as long as it
takes. Which interactions go to the hot tier instead is the session router's call (``sessions``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.clock import wall_clock_ms
from schemas.codec import Codec
from schemas.errors import SchemaError
from schemas.intake import check_message
from schemas.validation import DEFAULT_LIMITS, ValidationLimits
from store.errors import ColdWriteError
from store.interactions import Interaction
from store.tombstones import TombstoneCache
from streams.cold_writer import ColdWriter
from streams.dead_letters import DeadLetter, DeadLetterSink
from streams.messages import RawMessage
from streams.metrics import WorkerMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid event, where it came from, and (for interactions) what the stores keep of it."""

    message: RawMessage
    kind: str
    user_id: str
    interaction: Interaction | None  # None for an app_open
    ts_ms: int


@dataclass(slots=True)
class Sorted:
    """A batch split into valid events (in consumption order) and dead letters."""

    accepted: list[Accepted] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Routed:
    """A batch after ``IngestPipeline.route``: what goes to cold, and the hot tier's plan."""

    batch: Sorted
    to_cold: list[Accepted]
    plan: Any


Known = Callable[[RawMessage], Accepted | None]
"""A message's checked form if it was checked already (``EarlyHydration.checked``), else None."""


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
        writer: ColdWriter,
        sessions: SessionRouting,
        dead_letters: DeadLetterSink,
        metrics: WorkerMetrics,
        *,
        limits: ValidationLimits = DEFAULT_LIMITS,
        clock_ms: Callable[[], int] = wall_clock_ms,
        tombstones: TombstoneCache | None = None,
    ) -> None:
        self.tombstones = tombstones or TombstoneCache(None, refresh_s=1.0)
        self.codec = codec
        self.writer = writer
        self.sessions = sessions
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.limits = limits
        self.clock_ms = clock_ms

    def sort(self, messages: Sequence[RawMessage], known: Known = lambda _: None) -> Sorted:
        """Decode and validate each message (unless ``known`` has it checked already); never
        raises for a bad one."""
        now_ms = self.clock_ms()
        out = Sorted()
        kinds: Counter[str] = Counter()
        for message in messages:
            try:
                accepted = known(message) or self.check(message, now_ms)
            except SchemaError as exc:
                log.warning("dead letter %s key=%r: %s", message.where, message.key, exc)
                out.dead.append(DeadLetter(message, exc.reason or "invalid", str(exc)))
                continue
            if self.forgotten(accepted):
                continue
            kinds[accepted.kind] += 1
            out.accepted.append(accepted)
        for kind, count in kinds.items():
            self.metrics.consumed.labels(kind).inc(count)
        return out

    def check(self, message: RawMessage, now_ms: int) -> Accepted:
        """Decode and validate one message (``schemas.intake.check_message``); SchemaError (with
        its reason) if it is bad."""
        event = check_message(
            self.codec, message.value, key=message.key, now_ms=now_ms, limits=self.limits
        )
        record = event.record
        interaction = (
            None if event.kind == "app_open" else Interaction.from_record(event.kind, record)
        )
        return Accepted(message, event.kind, record["user_id"], interaction, int(record["ts"]))

    def forgotten_quietly(self, accepted: Accepted) -> bool:
        """An event of a forgotten user, older than its tombstone (not counted)."""
        return self.tombstones.is_forgotten(accepted.user_id, accepted.ts_ms)

    def forgotten(self, accepted: Accepted) -> bool:
        """An event of a forgotten user, older than its tombstone: skipped and counted."""
        if not self.forgotten_quietly(accepted):
            return False
        self.metrics.forgotten_skipped.labels(accepted.kind).inc()
        return True

    async def process(self, messages: Sequence[RawMessage]) -> Sorted:
        """Handle one batch completely; afterwards its offsets are safe to commit. The three
        phases in a row (``BatchRunner`` releases the worker lock during ``write``)."""
        routed = await self.route(messages)
        await self.write(routed)
        await self.finish(routed)
        return routed.batch

    async def route(self, messages: Sequence[RawMessage], known: Known = lambda _: None) -> Routed:
        """Phase 1: decode and validate (``sort``), and split the good between the cold tier and
        the live sessions (one live check)."""
        self.metrics.batch_size.observe(len(messages))
        await self.tombstones.refresh_if_due()
        stage = self.metrics.stage_seconds
        started = time.monotonic()
        batch = self.sort(messages, known)
        stage.labels("decode").observe(time.monotonic() - started)
        to_cold, plan = await self.sessions.split(batch.accepted)
        return Routed(batch, to_cold, plan)

    async def write(self, routed: Routed) -> None:
        """Phase 2: the interactions of users not live, to the cold tier (their dead letters
        kept for ``finish``)."""
        started = time.monotonic()
        dead, statements = await self.write_cold(routed.to_cold)
        routed.batch.dead.extend(dead)
        self.metrics.cold_write_statements.labels("direct").inc(statements)
        self.metrics.stage_seconds.labels("cold_write").observe(time.monotonic() - started)

    async def finish(self, routed: Routed) -> None:
        """Phase 3: the hot tier's part (hydrations, appends to live sessions), then the dead
        letters."""
        await self.sessions.apply(routed.plan)
        batch = routed.batch
        if batch.dead:
            await self.dead_letters.send_many(batch.dead)
            for letter in batch.dead:
                self.metrics.dead_lettered.labels(letter.reason).inc()

    async def write_cold(self, accepted: Sequence[Accepted]) -> tuple[list[DeadLetter], int]:
        """Write these interactions to cold; return dead letters for rows it refuses for good,
        and the statements sent."""
        if not accepted:
            return [], 0
        try:
            rows = [a.interaction for a in accepted if a.interaction]
            return [], await self.writer.write_until_done(rows)
        except ColdWriteError:
            return await self.write_one_by_one(accepted)

    async def write_one_by_one(self, accepted: Sequence[Accepted]) -> tuple[list[DeadLetter], int]:
        """After the cold tier refused a batch for good: find the rows it refuses, dead-letter
        those, and write the rest (each one still retried while the tier is unavailable); the
        dead letters and the statements sent."""
        refused: list[DeadLetter] = []
        statements = 0
        for item in accepted:
            if item.interaction is None:
                continue
            try:
                statements += await self.writer.write_until_done([item.interaction])
            except ColdWriteError as exc:
                where, key = item.message.where, item.message.key
                log.error("cold tier refused %s key=%r: %s", where, key, exc)
                refused.append(DeadLetter(item.message, "cold_write_refused", str(exc)))
        return refused, statements
