"""Acknowledge the features worker's events only once the durable copy covers them.

The worker's durable copy is written every few seconds (``store.deferred_feature_state``), not
per batch: an applied batch's acknowledgement (a callable from the host: the Faust app's acks
its stream's events, the batch host's is ``BatchConsumer``'s ack of the batch) is held here
until a flush of the durable copy that started after the batch was applied has succeeded. Then
the held batches are acknowledged in the order they were applied, so acks never leave a gap
before a held event (Faust bug #606, ``../shared/FAUST.md``) and the committed offsets only
ever cover durable states: a crash redelivers whatever was not yet durable, and the fences skip
what the working copy already holds.

Bounded: a service task flushes once the oldest held batch is ``interval_s`` old, in the
background (batches go on being applied meanwhile), also while no batch arrives (an idle stream,
and Faust's revocation, which waits for every unacknowledged event, ``stream_wait_empty``); when
``max_events`` are held, the side that added the last batch flushes and waits (backpressure).
Flushes run one at a time; a failed one keeps its events and rows for the next (the stores are
idempotent: versions and fences).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mode import Service

from store.feature_state import DurableStateStore, FeatureStateUnavailable

log = logging.getLogger(__name__)
Ack = Callable[[], Awaitable[Any]]
"""Acknowledges one applied batch."""


class HeldAcks(Service):
    def __init__(
        self,
        durable: DurableStateStore,
        interval_s: float,
        max_events: int,
        on_written: Callable[[int], None] = lambda rows: None,
    ) -> None:
        """``on_written``: called with the rows each flush wrote."""
        super().__init__()
        self.on_written = on_written
        self.durable = durable
        self.interval_s = interval_s
        self.max_events = max_events
        self._held: list[Ack] = []  # one per batch, in applied order
        self._count = 0
        self._since: float | None = None  # when the oldest held batch was added
        self._lock = asyncio.Lock()

    @property
    def count(self) -> int:
        """Events held (applied, not yet acknowledged)."""
        return self._count

    def due(self) -> bool:
        """Whether the task should flush: the oldest held batch is ``interval_s`` old."""
        return self._since is not None and time.monotonic() - self._since >= self.interval_s

    async def add(self, ack: Ack, events: int) -> None:
        """Hold an applied batch's ack (call right after the batch's states were saved;
        ``events``: how many it acknowledges); at ``max_events`` held, flushes and waits."""
        self._held.append(ack)
        self._count += events
        if self._since is None:
            self._since = time.monotonic()
        delay = 0.5
        while self._count >= self.max_events:
            try:
                await self.flush()
                return
            except FeatureStateUnavailable as exc:
                log.warning("durable feature copy unavailable, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def flush(self) -> int:
        """Make the durable copy cover every held event, then acknowledge them; returns how
        many were acknowledged. Raises ``FeatureStateUnavailable`` (the events stay held)."""
        async with self._lock:
            held, count = self._held, self._count
            self._held, self._count, self._since = [], 0, None
            try:
                rows = await self.durable.flush()  # takes the rows saved so far: no await before
            except BaseException:
                self._held[:0] = held
                self._count += count
                self._since = time.monotonic()
                raise
            self.on_written(rows)
            for ack in held:
                await ack()
            return count

    async def on_stop(self) -> None:
        """A last flush, so a clean stop leaves no applied event unacknowledged."""
        if self._held:
            try:
                await self.flush()
            except FeatureStateUnavailable as exc:
                log.warning("held events left unacknowledged at stop: %s", exc)

    @Service.task
    async def _flush_forever(self) -> None:
        while not self.should_stop:
            await self.sleep(min(self.interval_s / 4, 0.5))
            if self._held and self.due():
                try:
                    await self.flush()
                except FeatureStateUnavailable as exc:
                    log.warning("durable feature copy unavailable, retrying: %s", exc)
