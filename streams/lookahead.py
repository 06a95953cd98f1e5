"""The look-ahead: app_opens deep in a backlog hydrated before the backlog drains.

Early hydration (``streams.early_hydration``) sees a message when the agent's stream hands it
over, about one batch ahead of the batch being processed. When a partition is further behind
than that, an app_open produced now would wait for every batch before it: seconds of latency
for each app-open of an overloaded worker. The look-ahead reads such a partition with a
consumer of its own (no group, nothing committed), from the offset after the last one the stream
handed over (``EarlyHydration.seen_upto``) onwards, keeping what it read by key
(``AheadBuffer``). A partition the stream has not reached is read from where it is consumed
(``EarlyHydration.starts``, at the assignment): librdkafka hands a backlog over partition after
partition, and an app_open in the partition served last would otherwise wait for nearly all of
it. When it reads a valid app_open, it hands it to ``EarlyHydration.ahead`` with
the user's messages read before it: with the messages the stream handed over and no batch has
handled yet, those are all of the user's messages in no tier, so the hydration's view is
complete as of the app_open (the same proof as early hydration's; the batches before it are
handled under the same lock, which the hydration round holds). The app_open's own batch later
finds the user live; the user's messages it put in the view are appended again, the same
members, now dirty and covered by the partition's watermark. Nothing is acked or committed by
the look-ahead: durability is the batches' alone (DESIGN §4).

Bounded: a partition is read ahead only while it is ``min_lag`` messages behind, and at most
``max_held`` messages per partition are kept (past that the partition is paused until the
stream catches up and they are dropped). A rebalance that takes a partition away resets what
the stream saw of it; the look-ahead then drops the partition and starts over once the stream
hands over a message of it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from streams.early_hydration import EarlyHydration
from streams.messages import RawMessage

log = logging.getLogger(__name__)
FETCH_TIMEOUT_S = 0.1
IDLE_S = 0.25
"""How often the look-ahead reconsiders its partitions while none is behind."""


class AheadReader(Protocol):
    """Reads partitions of the events topic from given offsets (no group, nothing committed)."""

    async def assign(self, starts: Mapping[int, int]) -> None:
        """Read exactly these partitions, each from its offset."""

    def pause(self, partitions: Iterable[int]) -> None: ...
    def resume(self, partitions: Iterable[int]) -> None: ...
    async def fetch(self, timeout_s: float) -> list[RawMessage]:
        """What was read since, each stamped with when (``consumed_s``)."""

    def highwater(self, partition: int) -> int | None:
        """The partition's end as this reader last fetched it (None: not read)."""

    async def close(self) -> None: ...


class AheadBuffer:
    """What the look-ahead read of one partition, from ``start`` on, by key, in offset order."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.next = start
        """The offset after the last one read: where reading resumes after a reassignment."""
        self._order: deque[RawMessage] = deque()
        self._by_key: dict[bytes | None, deque[RawMessage]] = {}

    def __len__(self) -> int:
        return len(self._order)

    def add(self, message: RawMessage) -> None:
        self._order.append(message)
        self._by_key.setdefault(message.key, deque()).append(message)
        self.next = message.offset + 1

    def before(self, message: RawMessage) -> list[RawMessage]:
        """The messages of ``message``'s key held, read before it."""
        return [m for m in self._by_key.get(message.key, ()) if m.offset < message.offset]

    def drop_through(self, offset: int) -> None:
        """Forget messages at or before ``offset`` (the stream has handed them over)."""
        order, by_key = self._order, self._by_key
        while order and order[0].offset <= offset:
            first = order.popleft()
            same = by_key[first.key]
            same.popleft()  # a key's messages are in offset order: the oldest is this one
            if not same:
                del by_key[first.key]


class LookAhead:
    """A service (``start``/``stop``) over an ``AheadReader``; ``owned`` gives the events
    topic's partitions the worker holds now, ``highwater`` a partition's end as the worker's
    consumer knows it."""

    def __init__(
        self,
        early: EarlyHydration,
        reader: AheadReader,
        owned: Callable[[], set[int]],
        highwater: Callable[[int], int | None],
        *,
        min_lag: int,
        max_held: int,
    ) -> None:
        self.early = early
        self.reader = reader
        self.owned = owned
        self.highwater = highwater
        self.min_lag = min_lag
        self.max_held = max_held
        self.buffers: dict[int, AheadBuffer] = {}
        self._paused: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self.found = 0
        """App_opens handed to early hydration."""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="look-ahead")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.reader.close()

    async def _run(self) -> None:
        while True:
            try:
                await self.replan()
                if not self.buffers:
                    await asyncio.sleep(IDLE_S)
                    continue
                self.take(await self.reader.fetch(FETCH_TIMEOUT_S))
            except asyncio.CancelledError:
                raise
            except Exception:  # the look-ahead only ever helps: its failure costs latency
                log.exception("look-ahead failed; retrying in 1 s")
                self.buffers.clear()
                await asyncio.sleep(1.0)

    def wanted(self) -> dict[int, int]:
        """The partitions to read ahead now, each from where its buffer starts (or resumes)."""
        wanted: dict[int, int] = {}
        for partition in self.owned():
            upto = self.early.seen_upto(partition)
            buffer = self.buffers.get(partition)
            if upto is None or (buffer is not None and buffer.start > upto + 1):
                continue  # nothing handed over yet, or the stream went back: start over
            # The worker's consumer may have paused the partition (its own buffer is full): its
            # end is then as old as its last fetch, while this reader's own fetches are fresh.
            known = [h for h in (self.highwater(partition), self.reader.highwater(partition)) if h]
            if not known:
                continue
            highwater = max(known)
            if buffer is not None and highwater - upto > self.min_lag // 2:
                wanted[partition] = buffer.next  # still behind (half the lag: no flapping)
            elif buffer is None and highwater - upto > self.min_lag:
                wanted[partition] = upto + 1
        return wanted

    async def replan(self) -> None:
        """Drop what the stream has handed over; (de)activate partitions; pause full ones."""
        for partition, buffer in self.buffers.items():
            upto = self.early.seen_upto(partition)
            if upto is not None:
                buffer.drop_through(upto)
        wanted = self.wanted()
        if wanted.keys() != self.buffers.keys():
            kept = {p: b for p, b in self.buffers.items() if p in wanted}
            self.buffers = kept | {
                p: AheadBuffer(start) for p, start in wanted.items() if p not in kept
            }
            self._paused &= set(wanted)
            await self.reader.assign(wanted)
            self.reader.pause(self._paused)
        self.early.reading_ahead = bool(self.buffers)
        full = {p for p, b in self.buffers.items() if len(b) >= self.max_held}
        if full - self._paused:
            self.reader.pause(full - self._paused)
        if self._paused - full:
            self.reader.resume(self._paused - full)
        self._paused = full

    def take(self, messages: Iterable[RawMessage]) -> None:
        """Keep what was read; hand each app_open over with its key's messages before it."""
        kind_of = self.early.pipeline.codec.kind_of
        for message in messages:
            buffer = self.buffers.get(message.partition)
            if buffer is None or message.offset < buffer.next:
                continue  # a partition given up meanwhile, or read twice
            buffer.add(message)
            is_app_open = bool(message.value) and kind_of(message.value) == "app_open"
            if is_app_open and self.early.ahead(message, buffer.before(message)):
                self.found += 1
